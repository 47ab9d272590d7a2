-- The region mapping every regional mart joins through: each municipality of the county maps to
-- itself (level municipality) and to its county (level county). Aggregating over this mapping
-- gives the municipalities and the county from the same code, for any county code.
-- National mode: county_code '00' takes all 290 municipalities and one total row '00 Sverige'
-- (level county), the code Statistics Sweden uses for the whole country.
{%- set national = var("county_code") == "00" %}
with

municipalities as (

    select * from {{ ref('stg_reference__municipalities') }}

),

county_municipalities as (

    select *
    from municipalities
    {%- if not national %}
        where county_code = '{{ var("county_code") }}'
    {%- endif %}

),

municipality_regions as (

    select
        municipality_code,
        municipality_code as region_code,
        municipality_name as region_name,
        'municipality' as region_level
    from county_municipalities

),

county_regions as (

    select
        municipality_code,
        {%- if national %}
            '00' as region_code,
            'Sverige' as region_name,
        {%- else %}
            county_code as region_code,
            county_name as region_name,
        {%- endif %}
        'county' as region_level
    from county_municipalities

),

final as (

    select * from municipality_regions
    union all
    select * from county_regions

)

select * from final

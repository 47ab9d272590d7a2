-- The region mapping every regional mart joins through: each municipality of the county maps to
-- itself (level municipality) and to its county (level county). Aggregating over this mapping
-- gives the municipalities and the county from the same code, for any county code.
-- National mode: county_code '00' takes all 290 municipalities, maps each also to its own county
-- (level county, 21 of them) and to '00 Sverige' (level country, the code Statistics Sweden uses for
-- the whole country). A county's rows of a national build are the rows a county build would give.
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
        county_code as region_code,
        county_name as region_name,
        'county' as region_level
    from county_municipalities

),
{%- if national %}

country_regions as (

    select
        municipality_code,
        '00' as region_code,
        'Sverige' as region_name,
        'country' as region_level
    from county_municipalities

),
{%- endif %}

final as (

    select * from municipality_regions
    union all
    select * from county_regions
    {%- if national %}
        union all
        select * from country_regions
    {%- endif %}

)

select * from final

-- The region mapping every regional mart joins through: each municipality of the county maps to
-- itself (level municipality) and to its county (level county). Aggregating over this mapping
-- gives the municipalities and the county from the same code, for any county code.
-- National mode: county_code '00' takes all 290 municipalities, maps each also to its own county
-- (level county, 21 of them) and to '00 Sverige' (level country, the code Statistics Sweden uses for
-- the whole country). A county's rows of a national build are the rows a county build would give.
-- Small-area pool ("Övriga länet", level pooled, code '<county code>-pooled'): the municipalities of
-- a county whose population on 31 December 2019 (seed population_by_sex_2019_se, fixed reference
-- data) is below var pool_max_population also map to their county's pool, when the county has at
-- least var pool_min_members such municipalities. The membership is decided from that fixed year
-- only, never from the data being published, so it does not reveal which cells were suppressed.
-- National mode pools every county the same way.
{%- set national = county_code() == "00" %}
with

municipalities as (

    select * from {{ ref('stg_reference__municipalities') }}

),

population_2019 as (

    select * from {{ ref('stg_reference__population_2019') }}

),

county_municipalities as (

    select *
    from municipalities
    {%- if not national %}
        where county_code = '{{ county_code() }}'
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

small_municipalities as (

    select
        county_municipalities.municipality_code,
        county_municipalities.county_code,
        count(*) over (partition by county_municipalities.county_code) as members_in_county
    from county_municipalities
    inner join population_2019
        on county_municipalities.municipality_code = population_2019.municipality_code
    where population_2019.population < {{ var('pool_max_population') }}

),

pooled_regions as (

    select
        municipality_code,
        county_code || '-pooled' as region_code,
        'Övriga länet' as region_name,
        'pooled' as region_level
    from small_municipalities
    where members_in_county >= {{ var('pool_min_members') }}

),

country_regions as (

    -- empty unless national: one query shape for every county code
    select
        municipality_code,
        '00' as region_code,
        'Sverige' as region_name,
        'country' as region_level
    from county_municipalities
    where {{ 'true' if national else 'false' }}

),

final as (

    select * from municipality_regions
    union all
    select * from county_regions
    union all
    select * from pooled_regions
    union all
    select * from country_regions

)

select * from final

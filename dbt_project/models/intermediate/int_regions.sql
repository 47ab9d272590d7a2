-- The region mapping every regional mart joins through: each municipality of the county maps to
-- itself (level municipality) and to its county (level county). Aggregating over this mapping
-- gives the municipalities and the county from the same code, for any county code.
with

municipalities as (

    select * from {{ ref('stg_reference__municipalities') }}

),

county_municipalities as (

    select *
    from municipalities
    where county_code = '{{ var("county_code") }}'

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

final as (

    select * from municipality_regions
    union all
    select * from county_regions

)

select * from final

-- One row per region of the county (its municipalities, the county itself and, when there is one,
-- the small-area pool "Övriga länet"). pool_code: for a municipality, the pool it belongs to (null
-- when it is not pooled); for the pool, its own code; null for the county and the country.
with

regions as (

    select * from {{ ref('int_regions') }}

),

pools as (

    select
        municipality_code,
        region_code as pool_code
    from regions
    where region_level = 'pooled'

),

final as (

    select distinct
        regions.region_code,
        regions.region_name,
        regions.region_level,
        case
            when regions.region_level = 'municipality' then pools.pool_code
            when regions.region_level = 'pooled' then regions.region_code
        end as pool_code
    from regions
    left join pools
        on
            regions.municipality_code = pools.municipality_code
            and regions.region_level = 'municipality'

)

select * from final

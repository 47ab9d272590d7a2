-- One row per region of the county (its municipalities and the county itself).
with

regions as (

    select * from {{ ref('int_regions') }}

),

final as (

    select distinct
        region_code,
        region_name,
        region_level
    from regions

)

select * from final

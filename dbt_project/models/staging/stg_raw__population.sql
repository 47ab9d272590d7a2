with

source as (

    select * from {{ source('raw', 'population') }}

),

renamed as (

    select
        cast(region_code as varchar) as region_code,
        cast(region_level as varchar) as region_level,
        cast(year as smallint) as population_year,
        cast(sex as varchar) as sex,
        cast(age_band as varchar) as age_band,
        cast(population as bigint) as population,
        cast(value_status as varchar) as value_status,
        cast(source_table as varchar) as source_table,
        cast(updated as varchar) as updated_stamp

    from source

)

select * from renamed

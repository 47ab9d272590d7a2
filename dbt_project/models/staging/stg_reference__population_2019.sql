-- Population on 31 December 2019 per municipality (Statistics Sweden, seed
-- population_by_sex_2019_se): the fixed year that decides the small-area pool (int_regions).
with

source as (

    select * from {{ ref('population_by_sex_2019_se') }}

),

renamed as (

    select
        cast(municipality_code as varchar) as municipality_code,
        cast(year as integer) as population_year,
        cast(total as bigint) as population

    from source

)

select * from renamed

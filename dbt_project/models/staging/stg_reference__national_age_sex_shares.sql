with

source as (

    select * from {{ ref('national_age_sex_shares') }}

),

renamed as (

    select
        cast(region as varchar) as region_label,
        cast(year as smallint) as share_year,
        cast(sex as varchar) as sex,
        cast(age_group as varchar) as age_group,
        cast(measure as varchar) as measure,
        cast(value as double) as share_value

    from source

)

select * from renamed

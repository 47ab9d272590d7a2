with

source as (

    select * from {{ ref('municipalities_se') }}

),

renamed as (

    select
        cast(municipality_code as varchar) as municipality_code,
        cast(municipality_name as varchar) as municipality_name,
        cast(county_code as varchar) as county_code,
        cast(county_name as varchar) as county_name

    from source

)

select * from renamed

with

source as (

    select * from {{ ref('municipality_names_se') }}

),

renamed as (

    select
        cast(municipality_code as varchar) as municipality_code,
        cast(short_name as varchar) as short_name,
        cast(official_name as varchar) as official_name,
        cast(county_code as varchar) as county_code,
        cast(county_name as varchar) as county_name,
        cast(source as varchar) as source_note

    from source

)

select * from renamed

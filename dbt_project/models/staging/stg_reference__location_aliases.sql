with

source as (

    select * from {{ ref('location_aliases') }}

),

renamed as (

    select
        cast(alias as varchar) as alias_name,
        cast(municipality_code as varchar) as municipality_code,
        cast(alias_kind as varchar) as alias_kind

    from source

)

select * from renamed

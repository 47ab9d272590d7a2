with

source as (

    select * from {{ ref('postal_towns_se') }}

),

renamed as (

    select
        cast(postal_town as varchar) as postal_town_name,
        cast(municipality_code as varchar) as municipality_code,
        cast(source as varchar) as source_note

    from source

)

select * from renamed

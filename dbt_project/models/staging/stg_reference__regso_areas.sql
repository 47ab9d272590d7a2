with

source as (

    select * from {{ ref('regso_areas_se') }}

),

renamed as (

    select
        cast(regso_name as varchar) as regso_name,
        cast(municipality_code as varchar) as municipality_code,
        cast(source as varchar) as source_note

    from source

)

select * from renamed

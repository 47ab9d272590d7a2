with

source as (

    select * from {{ ref('localities_ostergotland') }}

),

renamed as (

    select
        cast(locality as varchar) as locality_name,
        cast(municipality_code as varchar) as municipality_code,
        cast(kind as varchar) as locality_kind,
        cast(source as varchar) as source_note

    from source

)

select * from renamed

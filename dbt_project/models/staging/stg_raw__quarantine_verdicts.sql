with

source as (

    select * from {{ source('raw', 'quarantine_verdicts') }}

),

renamed as (

    select
        cast(source as varchar) as source_name,
        cast(site as varchar) as site,
        cast(file as varchar) as source_file,
        cast(position as integer) as source_position,
        cast(reason as varchar) as reason,
        cast(detail as varchar) as detail,
        cast(week_start as date) as week_start

    from source

)

select * from renamed

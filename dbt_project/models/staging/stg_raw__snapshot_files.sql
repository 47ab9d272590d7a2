with

source as (

    select * from {{ source('raw', 'snapshot_files') }}

),

renamed as (

    select
        cast(site as varchar) as site,
        cast(snapshot_file as varchar) as snapshot_file,
        cast(captured_at as timestamptz) as captured_at,
        cast(rows_read as integer) as rows_read,
        cast(rows_ok as integer) as rows_ok,
        cast(rows_quarantined as integer) as rows_quarantined,
        cast(week_start as date) as week_start

    from source

)

select * from renamed

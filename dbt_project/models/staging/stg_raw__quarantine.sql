-- Every source's quarantine in one table (the record is the same for all, see docs/architecture.md);
-- raw_table names the raw quarantine it came from.
with

ad_snapshots as (

    select
        *,
        'ad_snapshots' as raw_table
    from {{ source('raw', 'quarantine_ad_snapshots') }}

),

verdicts as (

    select
        *,
        'verdicts' as raw_table
    from {{ source('raw', 'quarantine_verdicts') }}

),

population as (

    select
        *,
        'population' as raw_table
    from {{ source('raw', 'quarantine_population') }}

),

unioned as (

    select * from ad_snapshots
    union all by name
    select * from verdicts
    union all by name
    select * from population

),

renamed as (

    select
        cast(raw_table as varchar) as raw_table,
        cast(source as varchar) as source_name,
        cast(site as varchar) as site,
        cast(file as varchar) as source_file,
        cast(position as integer) as source_position,
        cast(reason as varchar) as reason,
        cast(detail as varchar) as detail,
        cast(week_start as date) as week_start

    from unioned

)

select * from renamed

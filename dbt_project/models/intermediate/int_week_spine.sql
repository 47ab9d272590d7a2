-- Every Monday from the first to the last week seen in any snapshot source (files, rows or
-- quarantine), so a week with no capture at all still shows up as a gap.
with

snapshot_files as (

    select * from {{ ref('stg_raw__snapshot_files') }}

),

ad_snapshots as (

    select * from {{ ref('stg_raw__ad_snapshots') }}

),

quarantine as (

    select * from {{ ref('stg_raw__quarantine') }}
    where raw_table = 'ad_snapshots'

),

weeks_seen as (

    select week_start from snapshot_files
    union
    select week_start from ad_snapshots
    union
    select week_start from quarantine

),

bounds as (

    select
        min(week_start) as first_week,
        max(week_start) as last_week
    from weeks_seen
    where week_start is not null

),

final as (

    select
        cast(series.week_start as date) as week_start,
        cast(isoyear(series.week_start) as integer) as iso_year,
        cast(week(series.week_start) as integer) as iso_week
    from bounds,
        generate_series(
            cast(bounds.first_week as timestamp),
            cast(bounds.last_week as timestamp),
            interval 7 day
        ) as series (week_start)

)

select * from final

-- Per site and week of the spine: captures, rows and how their locations resolved. Weeks without
-- a capture are rows with zero files, so gaps are visible.
with

week_spine as (

    select * from {{ ref('int_week_spine') }}

),

sites as (

    select * from {{ ref('int_sites') }}

),

snapshot_files as (

    select * from {{ ref('stg_raw__snapshot_files') }}

),

observations as (

    select * from {{ ref('int_ad_observations') }}

),

quarantine as (

    select * from {{ ref('stg_raw__quarantine') }}
    where raw_table = 'ad_snapshots'

),

files_per_week as (

    select
        site,
        week_start,
        count(distinct snapshot_file) as snapshot_files
    from snapshot_files
    group by site, week_start

),

rows_per_week as (

    select
        site,
        week_start,
        count(*) as n_rows,
        count(*) filter (where location_status = 'unknown') as unmapped_rows,
        count(*) filter (where location_status = 'out_of_county') as out_of_county_rows,
        count(*) filter (where location_status = 'ambiguous') as ambiguous_rows
    from observations
    group by site, week_start

),

quarantine_per_week as (

    select
        site,
        week_start,
        count(*) as quarantined_rows
    from quarantine
    group by site, week_start

),

final as (

    select
        sites.site,
        week_spine.week_start,
        week_spine.iso_year,
        week_spine.iso_week,
        coalesce(files_per_week.snapshot_files, 0) > 0 as snapshot_present,
        coalesce(files_per_week.snapshot_files, 0) as snapshot_files,
        coalesce(rows_per_week.n_rows, 0) as n_rows,
        coalesce(quarantine_per_week.quarantined_rows, 0) as quarantined_rows,
        coalesce(rows_per_week.unmapped_rows, 0) as unmapped_rows,
        coalesce(rows_per_week.out_of_county_rows, 0) as out_of_county_rows,
        coalesce(rows_per_week.ambiguous_rows, 0) as ambiguous_rows
    from week_spine
    cross join sites
    left join files_per_week
        on
            sites.site = files_per_week.site
            and week_spine.week_start = files_per_week.week_start
    left join rows_per_week
        on
            sites.site = rows_per_week.site
            and week_spine.week_start = rows_per_week.week_start
    left join quarantine_per_week
        on
            sites.site = quarantine_per_week.site
            and week_spine.week_start = quarantine_per_week.week_start

)

select * from final

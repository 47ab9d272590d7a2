{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='week_start',
        on_schema_change='fail',
        post_hook=[
            after_commit("{{ stage_changed_advertiser_keys() }}"),
            after_commit("{{ refresh_observation_advertisers() }}"),
            after_commit("{{ refresh_observation_locations() }}")
        ]
    )
}}
-- One row per ad line per capture (a line repeated in the same capture counts once), with its
-- advertiser and resolved municipality. Incremental by week: a run replaces the weeks of its
-- window (macros/weeks.sql; all weeks without one); --full-refresh rebuilds. The post-hook
-- refreshes advertiser keys and locations of earlier weeks when a new week merged two
-- advertisers or the gazetteer changed, so history stays consistent without reprocessing it.
-- The hooks run after the week's rows are committed: inside the same transaction DuckDB could not
-- spill the comparison of every ad's key to disk and ran out of memory at 30M rows (docs/bench.md).
-- A hook that fails leaves the new week in and the node failed; the next run compares every ad
-- again, so the keys are brought up to date then.
with

ad_snapshots as (

    select * from {{ ref('stg_raw__ad_snapshots') }}

),

advertisers as (

    select * from {{ ref('int_ad_advertisers') }}

),

locations as (

    select * from {{ ref('int_location_resolution') }}

),

in_window as (

    select *
    from ad_snapshots
    where {{ week_window_filter('week_start') }}

),

deduplicated as (

    select *
    from in_window
    qualify row_number() over (
        partition by site, ad_id, snapshot_file
        order by line_no
    ) = 1

),

final as (

    select
        deduplicated.site,
        deduplicated.ad_id,
        deduplicated.week_start,
        deduplicated.captured_at,
        deduplicated.posted_at,
        deduplicated.phone_key,
        advertisers.advertiser_key,
        deduplicated.stated_age,
        deduplicated.category,
        locations.municipality_code,
        coalesce(locations.location_status, 'unknown') as location_status,
        deduplicated.location_raw,
        deduplicated.snapshot_file
    from deduplicated
    inner join advertisers
        on
            deduplicated.site = advertisers.site
            and deduplicated.ad_id = advertisers.ad_id
    left join locations
        on deduplicated.location_raw = locations.location_raw

)

select * from final

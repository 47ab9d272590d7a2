{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='week_start',
        on_schema_change='fail',
        pre_hook=["{% if is_incremental() %}{{ delete_window_weeks() }}{% endif %}"]
    )
}}
-- The phone keys each ad showed in each week (one row per week, ad and key; an ad line without a
-- key gives a row with a null key, so every ad of the week is here). The input of the advertiser
-- linkage (int_ad_advertisers), kept by week so a weekly run reads only its week's snapshots:
-- incremental by week, a run replaces the weeks of its window (macros/weeks.sql), a re-ingested
-- week that shrank loses its old rows here (the pre-hook empties the window's weeks first: dbt's
-- delete+insert alone would keep a week that came back with no row at all).
with

ad_snapshots as (

    select * from {{ ref('stg_raw__ad_snapshots') }}

),

final as (

    select distinct
        week_start,
        site,
        ad_id,
        phone_key
    from ad_snapshots
    where {{ week_window_filter('week_start') }}

)

select * from final

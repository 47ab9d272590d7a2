-- Every monitored site seen in any snapshot source.
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

final as (

    select site from snapshot_files
    union
    select site from ad_snapshots
    union
    select site from quarantine
    where site is not null

)

select * from final

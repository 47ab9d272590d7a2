-- Advertisers: ads linked through shared phone keys, across sites. Phone keys are the nodes; an
-- ad that showed several keys links them. A recursive CTE spreads the smallest key of each
-- connected component to all its keys; that key, hashed, is the advertiser key. An ad that never
-- showed a phone key is its own advertiser. Only keys that share an ad with another key go through
-- the recursion; every other key is its own component. That keeps the recursive CTE, which DuckDB
-- cannot spill to disk, small (10M rows fit a 1.5 GB memory_limit; docs/bench.md, P5). Rebuilt in
-- full every run (it is small: one row per ad), because a new week can merge components found earlier.
with recursive

ad_snapshots as (

    select * from {{ ref('stg_raw__ad_snapshots') }}

),

ads as (

    select distinct
        site,
        ad_id
    from ad_snapshots

),

ad_phone_keys as (

    select distinct
        site,
        ad_id,
        phone_key
    from ad_snapshots
    where phone_key is not null

),

ad_anchors as (

    select
        site,
        ad_id,
        min(phone_key) as anchor_key
    from ad_phone_keys
    group by site, ad_id

),

edges as (

    select
        ad_phone_keys.phone_key as from_key,
        ad_anchors.anchor_key as to_key
    from ad_phone_keys
    inner join ad_anchors
        on
            ad_phone_keys.site = ad_anchors.site
            and ad_phone_keys.ad_id = ad_anchors.ad_id
    where ad_phone_keys.phone_key <> ad_anchors.anchor_key

    union

    select
        ad_anchors.anchor_key as from_key,
        ad_phone_keys.phone_key as to_key
    from ad_phone_keys
    inner join ad_anchors
        on
            ad_phone_keys.site = ad_anchors.site
            and ad_phone_keys.ad_id = ad_anchors.ad_id
    where ad_phone_keys.phone_key <> ad_anchors.anchor_key

),

linked_keys as (

    select from_key as phone_key from edges
    union
    select to_key as phone_key from edges

),

labels as (

    select
        phone_key,
        phone_key as component_label
    from linked_keys

    union

    select
        edges.to_key as phone_key,
        labels.component_label
    from labels
    inner join edges
        on labels.phone_key = edges.from_key
    where labels.component_label < edges.to_key

),

components as (

    select
        phone_key,
        min(component_label) as component_label
    from labels
    group by phone_key

    union all

    select distinct
        ad_phone_keys.phone_key,
        ad_phone_keys.phone_key as component_label
    from ad_phone_keys
    left join linked_keys
        on ad_phone_keys.phone_key = linked_keys.phone_key
    where linked_keys.phone_key is null

),

ad_components as (

    select
        ad_anchors.site,
        ad_anchors.ad_id,
        components.component_label
    from ad_anchors
    inner join components
        on ad_anchors.anchor_key = components.phone_key

),

final as (

    select
        ads.site,
        ads.ad_id,
        'adv_' || left(
            sha256(coalesce('phone|' || ad_components.component_label, 'ad|' || ads.site || '|' || ads.ad_id)),
            20
        ) as advertiser_key,
        ad_components.component_label is not null as is_phone_linked
    from ads
    left join ad_components
        on
            ads.site = ad_components.site
            and ads.ad_id = ad_components.ad_id

)

select * from final

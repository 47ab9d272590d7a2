-- Advertisers: ads linked through shared phone keys, across sites. Phone keys are the nodes; an
-- ad that showed several keys links them. A recursive CTE spreads the smallest key of each
-- connected component to all its keys; that key, hashed, is the advertiser key. An ad that never
-- showed a phone key is its own advertiser.
--
-- Cost at national scale (docs/bench.md): one aggregation over the snapshots gives every ad with its
-- smallest key and whether it showed more than one. Only those few multi-key ads make edges, so the
-- recursive CTE (which DuckDB cannot spill to disk) stays small, and every other key is its own
-- component without a join. Rebuilt in full every run, because a new week can merge components found
-- earlier.
with recursive

ad_snapshots as (

    select * from {{ ref('stg_raw__ad_snapshots') }}

),

ads as (

    select
        site,
        ad_id,
        min(phone_key) as anchor_key,
        min(phone_key) <> max(phone_key) as has_several_keys
    from ad_snapshots
    group by site, ad_id

),

multi_key_ads as (

    select
        site,
        ad_id,
        anchor_key
    from ads
    where has_several_keys

),

ad_phone_keys as (

    select distinct
        ad_snapshots.site,
        ad_snapshots.ad_id,
        ad_snapshots.phone_key,
        multi_key_ads.anchor_key
    from ad_snapshots
    inner join multi_key_ads
        on
            ad_snapshots.site = multi_key_ads.site
            and ad_snapshots.ad_id = multi_key_ads.ad_id
    where ad_snapshots.phone_key is not null

),

edges as (

    select
        phone_key as from_key,
        anchor_key as to_key
    from ad_phone_keys
    where phone_key <> anchor_key

    union

    select
        anchor_key as from_key,
        phone_key as to_key
    from ad_phone_keys
    where phone_key <> anchor_key

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

),

ad_components as (

    select
        ads.site,
        ads.ad_id,
        -- A key that shares no ad with another key is its own component.
        coalesce(components.component_label, ads.anchor_key) as component_label
    from ads
    left join components
        on ads.anchor_key = components.phone_key

),

final as (

    select
        site,
        ad_id,
        'adv_' || left(
            sha256(coalesce('phone|' || component_label, 'ad|' || site || '|' || ad_id)),
            20
        ) as advertiser_key,
        component_label is not null as is_phone_linked
    from ad_components

)

select * from final

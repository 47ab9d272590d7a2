{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['site', 'ad_id'],
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ drop_vanished_advertiser_ads() }}"
        ]
    )
}}
-- Advertisers: ads linked through shared phone keys, across sites. Phone keys are the nodes; an
-- ad that showed several keys links them. A recursive CTE spreads the smallest key of each
-- connected component to all its keys; that key (component_label), hashed, is the advertiser key.
-- An ad that never showed a phone key is its own advertiser.
--
-- Incremental (docs/architecture.md, "Incremental advertiser linkage"). A run over a week window
-- recomputes only the components the window touches, from the ads' keys of every week
-- (int_ad_phone_keys):
--   window ads    the ads with a row in the window's weeks now, and those whose stored week span
--                 (first_week..last_week) overlaps the window: a re-ingested week that shrank
--                 leaves them here even if they lost every row;
--   touched keys  every key those ads show now (a new key joins or merges components);
--   affected ads  the window ads, every ad that shows a touched key, and every ad whose stored
--                 component holds a window ad or a touched key.
-- The affected ads are closed under the current links (an ad outside them shares no key with
-- them), so their components computed alone equal those of a full rebuild: merges, new keys and
-- splits after a shrunk week alike. Their rows are replaced; an affected ad left without any row
-- is deleted by the post-hook. A run without a window (or --full-refresh) computes every ad.
-- tests/dbt/test_incremental_linkage.py proves equality with a full rebuild on random week sequences.
-- A table built before the linkage was incremental (no component_label) is recomputed in full once,
-- its new columns added by on_schema_change ('append_new_columns': a model with an enforced contract
-- takes 'fail' or 'append_new_columns' only; new columns come in without the not-null constraint
-- until a --full-refresh recreates the table).
--
-- Cost at national scale (docs/bench.md): one aggregation gives every ad its smallest key and
-- whether it showed more than one. Only those few multi-key ads make edges, so the recursive CTE
-- (which DuckDB cannot spill to disk) stays small, and every other key is its own component.
with recursive

-- not materialized: DuckDB (since 1.4) materialises a CTE read more than once, which here copied
-- every phone-key row (10M at national scale, spilling past the memory limit) before the first
-- join; scanning the table again is cheaper (docs/bench.md, "CTEs DuckDB materialises").
ad_phone_keys_all as not materialized (

    select * from {{ ref('int_ad_phone_keys') }}

),

{%- set linked_before = is_incremental() and (linkage_columns_kept() | trim) == 'True' %}
{% if linked_before %}

    window_ads as (

        select distinct
            site,
            ad_id
        from ad_phone_keys_all
        where {{ week_window_filter('week_start') }}

        union

        select
            site,
            ad_id
        from {{ this }}
        where {{ stored_span_overlaps_window() }}

    ),

    touched_keys as (

        select distinct ad_phone_keys_all.phone_key
        from ad_phone_keys_all
        inner join window_ads
            on
                ad_phone_keys_all.site = window_ads.site
                and ad_phone_keys_all.ad_id = window_ads.ad_id
        where ad_phone_keys_all.phone_key is not null

    ),

    touched_labels as (

        select previous.component_label
        from {{ this }} as previous
        inner join window_ads
            on
                previous.site = window_ads.site
                and previous.ad_id = window_ads.ad_id
        where previous.component_label is not null

        union

        select previous.component_label
        from {{ this }} as previous
        inner join ad_phone_keys_all
            on
                previous.site = ad_phone_keys_all.site
                and previous.ad_id = ad_phone_keys_all.ad_id
        inner join touched_keys
            on ad_phone_keys_all.phone_key = touched_keys.phone_key
        where previous.component_label is not null

    ),

    affected_ads as (

        select
            site,
            ad_id
        from window_ads

        union

        select
            ad_phone_keys_all.site,
            ad_phone_keys_all.ad_id
        from ad_phone_keys_all
        inner join touched_keys
            on ad_phone_keys_all.phone_key = touched_keys.phone_key

        union

        select
            previous.site,
            previous.ad_id
        from {{ this }} as previous
        inner join touched_labels
            on previous.component_label = touched_labels.component_label

    ),

    ad_phone_keys as (

        select ad_phone_keys_all.*
        from ad_phone_keys_all
        inner join affected_ads
            on
                ad_phone_keys_all.site = affected_ads.site
                and ad_phone_keys_all.ad_id = affected_ads.ad_id

    ),

{% else %}

    ad_phone_keys as not materialized (

        select * from ad_phone_keys_all

    ),

{% endif %}

ads as (

    select
        site,
        ad_id,
        min(phone_key) as anchor_key,
        min(phone_key) <> max(phone_key) as has_several_keys,
        min(week_start) as first_week,
        max(week_start) as last_week
    from ad_phone_keys
    group by site, ad_id

),

-- Each other key of an ad with several keys, beside the ad's anchor key.
key_pairs as (

    select
        ad_phone_keys.phone_key as other_key,
        ads.anchor_key
    from ad_phone_keys
    inner join ads
        on
            ad_phone_keys.site = ads.site
            and ad_phone_keys.ad_id = ads.ad_id
    where ads.has_several_keys and ad_phone_keys.phone_key <> ads.anchor_key

),

edges as (

    select
        other_key as from_key,
        anchor_key as to_key
    from key_pairs

    union

    select
        anchor_key as from_key,
        other_key as to_key
    from key_pairs

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
        ads.first_week,
        ads.last_week,
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
        component_label is not null as is_phone_linked,
        component_label,
        first_week,
        last_week
    from ad_components

)

select * from final

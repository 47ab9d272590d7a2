{#
  Post-hooks of int_ad_observations: bring earlier weeks' advertiser keys and locations up to date
  with the current int_ad_advertisers / int_location_resolution (a new week can merge two
  advertisers; an alias added to the gazetteer can map an old location). They touch only rows
  that changed, so a weekly run stays cheap.
#}
{% macro stage_changed_advertiser_keys() %}
{#- Step 1 of 2: the ads whose stored key differs from int_ad_advertisers, by a plain select (an
    aggregate and a join DuckDB can spill to disk) into a temporary table, usually a few rows.
    Joining the whole advertiser table inside the update itself needed DuckDB's whole 1 GB for
    its hash table and failed at 30M rows when another dbt thread was using memory (docs/bench.md). #}
create or replace temporary table changed_advertiser_keys as
select
    stored.site,
    stored.ad_id,
    advertisers.advertiser_key
from (
    select distinct
        site,
        ad_id,
        advertiser_key
    from {{ this }}
) as stored
inner join {{ ref('int_ad_advertisers') }} as advertisers
    on
        stored.site = advertisers.site
        and stored.ad_id = advertisers.ad_id
where stored.advertiser_key <> advertisers.advertiser_key
{% endmacro %}

{% macro refresh_observation_advertisers() %}
{#- Step 2 of 2: rewrite the keys of those ads' rows in every week, then drop the staged rows. #}
update {{ this }} as observations
set advertiser_key = changed.advertiser_key
from changed_advertiser_keys as changed
where
    observations.site = changed.site
    and observations.ad_id = changed.ad_id
    and observations.advertiser_key <> changed.advertiser_key;
drop table changed_advertiser_keys
{% endmacro %}

{% macro refresh_observation_locations() %}
update {{ this }} as observations
set
    municipality_code = locations.municipality_code,
    location_status = locations.location_status
from {{ ref('int_location_resolution') }} as locations
where
    observations.location_raw = locations.location_raw
    and (
        observations.location_status <> locations.location_status
        or observations.municipality_code is distinct from locations.municipality_code
    )
{% endmacro %}

{#
  Post-hooks of int_ad_observations: bring earlier weeks' advertiser keys and locations up to date
  with the current int_ad_advertisers / int_location_resolution (a new week can merge two
  advertisers; an alias added to the gazetteer can map an old location). They touch only rows
  that changed, so a weekly run stays cheap.
#}
{% macro refresh_observation_advertisers() %}
update {{ this }} as observations
set advertiser_key = advertisers.advertiser_key
from {{ ref('int_ad_advertisers') }} as advertisers
where
    observations.site = advertisers.site
    and observations.ad_id = advertisers.ad_id
    and observations.advertiser_key <> advertisers.advertiser_key
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

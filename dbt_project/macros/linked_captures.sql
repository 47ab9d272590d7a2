{#
  The body of the captures CTE of the hidden-population estimators (int_capture_recapture_counts,
  int_weeks_seen_frequencies): per region, ISO year and advertiser, each distinct `occasion` it was
  seen on (a column of int_ad_observations: site for the two-site counts, week_start for the weekly
  occasions). Only mapped, phone-linked advertisers count (an ad without a phone key cannot be
  recaptured), so both estimates count the same advertisers. Reads the model's CTEs observations,
  regions and advertisers.
#}
{% macro linked_captures(occasion) %}
    select distinct
        regions.region_code,
        cast(isoyear(observations.week_start) as integer) as year,
        observations.advertiser_key,
        observations.{{ occasion }}
    from observations
    inner join regions
        on observations.municipality_code = regions.municipality_code
    inner join advertisers
        on
            observations.site = advertisers.site
            and observations.ad_id = advertisers.ad_id
    where observations.location_status = 'mapped' and advertisers.is_phone_linked
{% endmacro %}

{#
  Helpers of the incremental advertiser linkage (models/intermediate/int_ad_advertisers.sql).
#}

{#
  SQL predicate: an int_ad_advertisers row's stored week span (first_week..last_week) overlaps the
  run's week window (`true` without a window).
#}
{% macro stored_span_overlaps_window(prefix='') -%}
    {%- set weeks_from = week_window_bound('from') -%}
    {%- set weeks_to = week_window_bound('to') -%}
    true
    {%- if weeks_from %} and {{ prefix }}last_week >= cast('{{ weeks_from }}' as date){% endif %}
    {%- if weeks_to %} and {{ prefix }}first_week <= cast('{{ weeks_to }}' as date){% endif %}
{%- endmacro %}

{#
  Post-hook: delete the ads of the window that no longer have any row (a re-ingested week that
  shrank took their only lines). Other affected ads were replaced by the model's delete+insert.
#}
{% macro drop_vanished_advertiser_ads() %}
delete from {{ this }}
where
    {{ stored_span_overlaps_window(this.identifier ~ '.') }}
    and not exists (
        select 1
        from {{ ref('int_ad_phone_keys') }} as ad_phone_keys
        where
            ad_phone_keys.site = {{ this.identifier }}.site
            and ad_phone_keys.ad_id = {{ this.identifier }}.ad_id
    )
{% endmacro %}

{#
  Pre-hook of int_ad_phone_keys: empty the window's weeks before they are inserted again.
#}
{% macro delete_window_weeks() %}
delete from {{ this }} where {{ week_window_filter('week_start') }}
{% endmacro %}

{#
  'True' when the model's existing table has the linkage columns (a table built before the linkage
  was incremental has not, and is then recomputed in full once).
#}
{% macro linkage_columns_kept() -%}
    {{ 'component_label' in (adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list) }}
{%- endmacro %}

{#
  The incremental week window of int_ad_observations: vars weeks_from / weeks_to (ISO dates,
  inclusive). Without them, all weeks.
#}
{% macro week_window_filter(column) -%}
    {%- set weeks_from = var('weeks_from', none) -%}
    {%- set weeks_to = var('weeks_to', none) -%}
    true
    {%- if weeks_from %} and {{ column }} >= cast('{{ weeks_from }}' as date){% endif %}
    {%- if weeks_to %} and {{ column }} <= cast('{{ weeks_to }}' as date){% endif %}
{%- endmacro %}

{#
  The Monday of the week a timestamp falls in, in Swedish local time (weeks start Monday,
  Europe/Stockholm).
#}
{% macro stockholm_date(ts) -%}
    cast(timezone('Europe/Stockholm', {{ ts }}) as date)
{%- endmacro %}

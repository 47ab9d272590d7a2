{#
  The week window of a run (ISO dates of Mondays, inclusive): vars weeks_from / weeks_to if given,
  else the environment variables LAGESBILD_DBT_WEEKS_FROM / LAGESBILD_DBT_WEEKS_TO. Empty or unset:
  no bound (all weeks).

  The pipeline passes the window through the environment, not --vars: dbt re-parses the whole
  project whenever the command-line vars change, but only the few files that read an environment
  variable at parse time when that variable changes. The window is read at execution time only
  (`execute`), so parsing never depends on it.
#}
{% macro week_window_bound(name) -%}
    {%- set value = var('weeks_' ~ name, none) -%}
    {%- if value is none and execute -%}
        {%- set value = env_var('LAGESBILD_DBT_WEEKS_' ~ (name | upper), '') -%}
    {%- endif -%}
    {%- if value -%}
        {%- set value = value | string | trim -%}
        {%- if execute and not (value | length == 10 and value[4:5] == '-' and value[7:8] == '-' and value.replace('-', '').isdigit()) -%}
            {{ exceptions.raise_compiler_error("week window bound weeks_" ~ name ~ " must be an ISO date (YYYY-MM-DD), got '" ~ value ~ "'") }}
        {%- endif -%}
        {{ return(value) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#
  True when the run covers a subset of weeks (a weekly or range run), false for a run over all weeks.
#}
{% macro has_week_window() -%}
    {{ return(week_window_bound('from') is not none or week_window_bound('to') is not none) }}
{%- endmacro %}

{#
  SQL predicate: `column` lies in the run's week window (`true` without a window).
#}
{% macro week_window_filter(column) -%}
    {%- set weeks_from = week_window_bound('from') -%}
    {%- set weeks_to = week_window_bound('to') -%}
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

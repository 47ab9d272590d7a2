{#
  Overrides dbt's get_where_subquery, which every generic data test uses to read the model it
  tests. Besides a test's `where` config, a weekly run (a week window set, not --full-refresh)
  restricts the models of var week_scoped_test_models to the window's rows: the weeks the run
  rebuilt, instead of the whole history. A run over all weeks and --full-refresh test every row.
  The window is read at execution only, so the parsed project does not depend on it.
#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append(where) -%}
    {%- endif -%}
    {%- set week_column = var('week_scoped_test_models', {}).get(relation.identifier) -%}
    {%- if week_column and execute and not flags.FULL_REFRESH and has_week_window() -%}
        {%- do conditions.append(week_window_filter(week_column)) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where ({{ conditions | join(') and (') }})) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#
  The county the marts are built for (two digits; '00' is the whole country): var county_code if
  given (--vars), else the environment variable LAGESBILD_COUNTY (what the pipeline sets), else '05'.

  Read here, not in dbt_project.yml: dbt re-parses the whole project when an environment variable
  that dbt_project.yml reads changes, but only the files that read it when it is read in a model or
  macro, so another county's run (a test, `make run COUNTY=14`) keeps its partial parse.
#}
{% macro county_code() -%}
    {{ return(var('county_code', none) or env_var('LAGESBILD_COUNTY', '05')) }}
{%- endmacro %}

{#
  A label for a population figure on the marts: "SCB TAB638 31 Dec 2019" and, when raw/population
  came from the offline reference copy (its `updated` stamp starts with "offline:"), ", offline
  default (<files>)", so a reader sees that the denominator is not from the live API.
#}
{% macro population_source_label(source_table, population_year, updated_stamp) -%}
    concat(
        'SCB ', {{ source_table }}, ' 31 Dec ', {{ population_year }},
        case
            when starts_with({{ updated_stamp }}, 'offline:')
                then ', offline default (' || regexp_extract({{ updated_stamp }}, '^offline:([^@]+)', 1) || ')'
            else ''
        end
    )
{%- endmacro %}

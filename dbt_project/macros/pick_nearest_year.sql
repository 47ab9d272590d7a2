{#
  The body of a CTE that picks, for every (region_code, report_year) of `region_years`, the row of
  `candidates` (with region_code and population_year) from the nearest year: the latest year up to
  the report year, else the earliest later one. `columns` are the candidate columns to keep;
  `join` is 'left' to keep region-years without any candidate (their columns are null).
#}
{% macro pick_nearest_year(candidates, columns, join='inner') %}
    select
        region_years.region_code,
        region_years.report_year,
        {%- for column in columns %}
        {{ candidates }}.{{ column }},
        {%- endfor %}
        {{ candidates }}.population_year
    from region_years
    {{ join }} join {{ candidates }}
        on region_years.region_code = {{ candidates }}.region_code
    qualify row_number() over (
        partition by region_years.region_code, region_years.report_year
        order by
            {{ candidates }}.population_year > region_years.report_year,
            abs(region_years.report_year - {{ candidates }}.population_year)
    ) = 1
{% endmacro %}

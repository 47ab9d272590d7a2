{#
  A scalar SQL expression: the fingerprint of everything besides the text that decides how
  int_location_resolution resolves a location text (the gazetteer's names and municipalities, the
  county's municipalities, the fuzzy-matching vars). A row resolved under another fingerprint is
  out of date. `gazetteer` and `regions`: relations (or CTE names) of int_gazetteer and int_regions.
#}
{% macro location_reference_fingerprint(gazetteer, regions) -%}
    md5(
        concat_ws(
            '|',
            'fuzzy_min_length={{ var("fuzzy_min_length") }}',
            'fuzzy_max_distance={{ var("fuzzy_max_distance") }}',
            (
                select
                    coalesce(
                        string_agg(
                            name_normalised || '=' || municipality_code || case when fuzzy_eligible then '~' else '' end, ';'
                            order by name_normalised, municipality_code
                        ),
                        ''
                    )
                from {{ gazetteer }}
            ),
            (
                select coalesce(string_agg(distinct municipality_code, ';' order by municipality_code), '')
                from {{ regions }}
            )
        )
    )
{%- endmacro %}

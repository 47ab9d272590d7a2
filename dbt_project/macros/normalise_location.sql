{#
  Normalise free-text place names for matching: lowercase, fold å/ä/ö (and a few other
  diacritics seen on ad sites) to ASCII, replace punctuation by spaces, collapse whitespace.
  Used for both the gazetteer and the ads, so both sides are normalised the same way.
#}
{% macro normalise_location(expr) -%}
    nullif(
        trim(
            regexp_replace(
                regexp_replace(
                    translate(lower({{ expr }}), 'åäöøæéèüáà', 'aaooaeeuaa'),
                    '[^a-z0-9]+', ' ', 'g'
                ),
                '\s+', ' ', 'g'
            )
        ),
        ''
    )
{%- endmacro %}

{#
  Normalise free-text place names for matching: lowercase, fold å/ä/ö (and a few other
  diacritics seen on ad sites) to ASCII, replace punctuation by spaces, collapse whitespace.
  Used for both the gazetteer and the ads, so both sides are normalised the same way.
  Unicode NFC first: text typed or copied on macOS may write 'ö' decomposed ('o' and a combining
  diaeresis), which the fold did not see, so "Linköping" became "linko ping" and an unknown location.
#}
{% macro normalise_location(expr) -%}
    nullif(
        trim(
            regexp_replace(
                regexp_replace(
                    translate(lower(nfc_normalize({{ expr }})), 'åäöøæéèüáà', 'aaooaeeuaa'),
                    '[^a-z0-9]+', ' ', 'g'
                ),
                '\s+', ' ', 'g'
            )
        ),
        ''
    )
{%- endmacro %}

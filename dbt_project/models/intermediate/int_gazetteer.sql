-- Every place name the location resolver knows, normalised (lowercase, å/ä/ö folded,
-- punctuation stripped), with the municipality it belongs to, for the whole country: all 290
-- municipality names and their genitive form ("Linköpings"), the 1,714 postal towns, the names in
-- Statistics Sweden's RegSO areas (split at "-", with and without a trailing "norra", "centrala",
-- "tätort"...), the curated localities and districts of Östergötland and the alias list. The same
-- name in several municipalities stays several rows: the resolver counts it as ambiguous.
-- Generic words ("centrum", "norra", "landsbygd") and names under three letters are not places.
-- source_note keeps each row's provenance (every seed row names its source); fuzzy_eligible says
-- whether misspellings of the name are matched too (not for RegSO names: many, long and compound).
{%- set qualifiers = var("gazetteer_qualifiers") %}
{%- set generic = var("gazetteer_generic_words") %}
with

localities as (

    select * from {{ ref('stg_reference__localities') }}

),

aliases as (

    select * from {{ ref('stg_reference__location_aliases') }}

),

municipalities as (

    select * from {{ ref('stg_reference__municipalities') }}

),

postal_towns as (

    select * from {{ ref('stg_reference__postal_towns') }}

),

regso_areas as (

    select * from {{ ref('stg_reference__regso_areas') }}

),

regso_parts as (

    select
        trim(unnest(string_split(regso_name, '-'))) as part_name,
        municipality_code,
        source_note
    from regso_areas

),

names as (

    select
        locality_name as place_name,
        municipality_code,
        locality_kind as entry_kind,
        'localities_ostergotland.csv: ' || source_note as source_note,
        true as fuzzy_eligible
    from localities

    union all

    select
        alias_name as place_name,
        municipality_code,
        'alias_' || alias_kind as entry_kind,
        'location_aliases.csv' as source_note,
        true as fuzzy_eligible
    from aliases

    union all

    select
        municipality_name as place_name,
        municipality_code,
        'municipality' as entry_kind,
        'municipalities_se.csv' as source_note,
        true as fuzzy_eligible
    from municipalities

    union all

    select
        municipality_name || 's' as place_name,
        municipality_code,
        'municipality_genitive' as entry_kind,
        'municipalities_se.csv (genitive)' as source_note,
        true as fuzzy_eligible
    from municipalities
    where not ends_with(municipality_name, 's')

    union all

    select
        postal_town_name as place_name,
        municipality_code,
        'postal_town' as entry_kind,
        'postal_towns_se.csv: ' || source_note as source_note,
        true as fuzzy_eligible
    from postal_towns

    union all

    select
        part_name as place_name,
        municipality_code,
        'regso_area' as entry_kind,
        'regso_areas_se.csv: ' || source_note as source_note,
        false as fuzzy_eligible
    from regso_parts

),

normalised as (

    select
        {{ normalise_location('place_name') }} as name_normalised,
        municipality_code,
        entry_kind,
        source_note,
        fuzzy_eligible
    from names

),

with_stems as (

    select * from normalised

    union all

    -- "Odenslunda norra", "Vallentuna östra tätort": the place without its qualifier.
    select
        trim(regexp_replace(name_normalised, '( ({{ qualifiers }}))+$', '')) as name_normalised,
        municipality_code,
        entry_kind || '_stem' as entry_kind,
        source_note,
        fuzzy_eligible
    from normalised
    where
        entry_kind = 'regso_area'
        and regexp_matches(name_normalised, ' ({{ qualifiers }})$')

),

places as (

    select *
    from with_stems
    where
        name_normalised is not null
        and (
            entry_kind in ('municipality', 'municipality_genitive')
            or starts_with(entry_kind, 'alias_')
            or (
                length(name_normalised) >= 3
                and not regexp_matches(name_normalised, '^[0-9 ]+$')
                and name_normalised not in ({{ "'" ~ generic | join("', '") ~ "'" }})
            )
        )

),

final as (

    select
        name_normalised,
        municipality_code,
        min(entry_kind) as entry_kind,
        len(string_split(name_normalised, ' ')) as n_tokens,
        bool_or(fuzzy_eligible) as fuzzy_eligible,
        string_agg(distinct source_note, ' || ' order by source_note) as source_note
    from places
    group by name_normalised, municipality_code

)

select * from final

-- Every place name the location resolver knows, normalised (lowercase, å/ä/ö folded,
-- punctuation stripped), with the municipality it belongs to: the county's localities and
-- districts, the alias list, all 290 municipality names and their genitive form ("Linköpings").
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

names as (

    select
        locality_name as place_name,
        municipality_code,
        locality_kind as entry_kind
    from localities

    union all

    select
        alias_name as place_name,
        municipality_code,
        'alias_' || alias_kind as entry_kind
    from aliases

    union all

    select
        municipality_name as place_name,
        municipality_code,
        'municipality' as entry_kind
    from municipalities

    union all

    select
        municipality_name || 's' as place_name,
        municipality_code,
        'municipality_genitive' as entry_kind
    from municipalities
    where not ends_with(municipality_name, 's')

),

normalised as (

    select
        {{ normalise_location('place_name') }} as name_normalised,
        municipality_code,
        entry_kind
    from names

),

final as (

    select
        name_normalised,
        municipality_code,
        min(entry_kind) as entry_kind,
        len(string_split(name_normalised, ' ')) as n_tokens
    from normalised
    where name_normalised is not null
    group by name_normalised, municipality_code

)

select * from final

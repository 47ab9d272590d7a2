{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='location_raw',
        on_schema_change='fail',
        post_hook="delete from {{ this }} where reference_fingerprint <> {{ location_reference_fingerprint(ref('int_gazetteer'), ref('int_regions')) }}"
    )
}}
-- Resolves each distinct location text of the ads to a municipality, once.
-- The text is normalised and cut into phrases of 1-4 consecutive tokens; each phrase that is a
-- gazetteer name votes for its municipalities. Phrases inside a longer matching phrase do not vote
-- ("Östra Ryd" is not also "Ryd"). The municipality with most votes wins; a tie (e.g. "Berga",
-- a district of both Linköping and Norrköping, with no other token to decide) is `ambiguous`.
-- Texts without any exact match get one more chance: phrases of at least var fuzzy_min_length
-- letters within var fuzzy_max_distance edits (Damerau-Levenshtein) of a fuzzy-eligible gazetteer
-- name (municipalities, postal towns, curated localities and aliases; not RegSO names) vote the
-- same way ("Linköpping", "Finnspång"), and match_method says `fuzzy`.
-- Out-of-county winners are `out_of_county`, texts without any match `unknown`. The gazetteer is
-- national, so this works the same for any county; a tie between an in-county and an out-of-county
-- municipality is `ambiguous` too (a name that exists in both places is not guessed).
-- Incremental: a text's resolution depends only on the text and the reference inputs (gazetteer,
-- the county's municipalities, the fuzzy vars), summed up in reference_fingerprint. A run resolves
-- only the texts not yet resolved against the current fingerprint; when the reference changed,
-- every text is resolved again. --full-refresh rebuilds; so must a change of this model's logic
-- or of the normalise_location macro (the fingerprint covers data and vars, not code).
with

ad_snapshots as (

    select * from {{ ref('stg_raw__ad_snapshots') }}

),

gazetteer as (

    select * from {{ ref('int_gazetteer') }}

),

regions as (

    select * from {{ ref('int_regions') }}

),

reference_fingerprint as (

    select {{ location_reference_fingerprint('gazetteer', 'regions') }} as reference_fingerprint

),

locations as (

    select distinct ad_snapshots.location_raw
    from ad_snapshots
    where
        ad_snapshots.location_raw is not null
        {%- if is_incremental() %}
            and ad_snapshots.location_raw not in (
                select resolved.location_raw
                from {{ this }} as resolved
                inner join reference_fingerprint
                    on resolved.reference_fingerprint = reference_fingerprint.reference_fingerprint
            )
        {%- endif %}

),

tokenised as (

    select
        location_raw,
        location_normalised,
        string_split(location_normalised, ' ') as tokens
    from (
        select
            location_raw,
            {{ normalise_location('location_raw') }} as location_normalised
        -- The window stops DuckDB from pushing `location_normalised is not null` below the
        -- distinct of `locations`, which evaluated the normaliser's regular expressions on every
        -- ad line (10M) instead of once per distinct text (docs/bench.md, "CTEs DuckDB materialises").
        from (
            select
                location_raw,
                count(*) over () as n_texts
            from locations
        ) as one_row_per_text
    ) as normalised
    where location_normalised is not null

),

starts as (

    select
        location_raw,
        tokens,
        unnest(range(1, len(tokens) + 1)) as start_pos
    from tokenised

),

phrases as (

    select
        location_raw,
        start_pos,
        start_pos + span_extra as end_pos,
        array_to_string(tokens[start_pos:start_pos + span_extra], ' ') as phrase
    from (
        select
            location_raw,
            tokens,
            start_pos,
            unnest(range(0, 4)) as span_extra
        from starts
    ) as spans
    where start_pos + span_extra <= len(tokens)

),

matched_phrases as (

    select distinct
        phrases.location_raw,
        phrases.start_pos,
        phrases.end_pos
    from phrases
    inner join gazetteer
        on phrases.phrase = gazetteer.name_normalised

),

maximal_phrases as (

    select inner_phrase.*
    from matched_phrases as inner_phrase
    where not exists (
        select 1
        from matched_phrases as outer_phrase
        where
            outer_phrase.location_raw = inner_phrase.location_raw
            and outer_phrase.start_pos <= inner_phrase.start_pos
            and outer_phrase.end_pos >= inner_phrase.end_pos
            and outer_phrase.end_pos - outer_phrase.start_pos
            > inner_phrase.end_pos - inner_phrase.start_pos
    )

),

votes as (

    select
        maximal_phrases.location_raw,
        gazetteer.municipality_code,
        count(distinct maximal_phrases.start_pos) as n_votes
    from maximal_phrases
    inner join phrases
        on
            maximal_phrases.location_raw = phrases.location_raw
            and maximal_phrases.start_pos = phrases.start_pos
            and maximal_phrases.end_pos = phrases.end_pos
    inner join gazetteer
        on phrases.phrase = gazetteer.name_normalised
    group by maximal_phrases.location_raw, gazetteer.municipality_code

),

fuzzy_matches as (

    select distinct
        phrases.location_raw,
        phrases.start_pos,
        gazetteer.municipality_code
    from phrases
    inner join gazetteer
        on
            gazetteer.fuzzy_eligible
            and length(gazetteer.name_normalised) >= {{ var('fuzzy_min_length') }}
            and damerau_levenshtein(phrases.phrase, gazetteer.name_normalised) <= {{ var('fuzzy_max_distance') }}
    where
        length(phrases.phrase) >= {{ var('fuzzy_min_length') }}
        and phrases.location_raw not in (select matched_phrases.location_raw from matched_phrases)

),

fuzzy_votes as (

    select
        location_raw,
        municipality_code,
        count(distinct start_pos) as n_votes
    from fuzzy_matches
    group by location_raw, municipality_code

),

all_votes as (

    select
        location_raw,
        municipality_code,
        n_votes,
        'exact' as match_method
    from votes

    union all

    select
        location_raw,
        municipality_code,
        n_votes,
        'fuzzy' as match_method
    from fuzzy_votes

),

winners as (

    select
        all_votes.location_raw,
        all_votes.municipality_code,
        all_votes.match_method,
        all_votes.municipality_code in (select regions.municipality_code from regions) as is_in_county
    from all_votes
    qualify all_votes.n_votes = max(all_votes.n_votes) over (partition by all_votes.location_raw)

),

decided as (

    select
        location_raw,
        count(*) as n_candidates,
        bool_or(is_in_county) as any_in_county,
        min(municipality_code) as first_candidate,
        min(match_method) as match_method,
        string_agg(municipality_code, ',' order by municipality_code) as candidate_codes
    from winners
    group by location_raw

),

final as (

    select
        tokenised.location_raw,
        tokenised.location_normalised,
        case
            when decided.n_candidates = 1 and decided.any_in_county then decided.first_candidate
        end as municipality_code,
        case
            when decided.location_raw is null then 'unknown'
            when not decided.any_in_county then 'out_of_county'
            when decided.n_candidates = 1 then 'mapped'
            else 'ambiguous'
        end as location_status,
        decided.candidate_codes,
        decided.match_method,
        (select current.reference_fingerprint from reference_fingerprint as current) as reference_fingerprint
    from tokenised
    left join decided
        on tokenised.location_raw = decided.location_raw

)

select * from final

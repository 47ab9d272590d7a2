-- Baseline B: the marts of lagesbild computed by one hand-written DuckDB script, straight from the
-- raw input files (JSON Lines snapshots, the verdict register CSV, the population CSV) and the
-- reference CSVs of the dbt project. No orchestration, no Parquet between steps, no incremental
-- bookkeeping: this is the floor the pipeline is measured against (docs/bench.md).
--
-- It reproduces the dbt marts' definitions (dbt_project/models/marts) and the ingest's rules that
-- change counts (lagesbild/sources/snapshots.py, verdicts.py): lines outside their file's week,
-- impossible stated ages and duplicate (site, ad_id, captured_at) lines within a week are
-- quarantined; verdicts with impossible ages, a decision before the offence or an unknown
-- municipality are dropped. Phones are linked on a normalised national number (digits after
-- +46/0046/0), not on the pipeline's HMAC: components, and so every count, are the same; raw phone
-- numbers never leave this process (only counts are written).
--
-- Placeholders (string.Template, filled by bench/baseline_duckdb.py): ${SNAPSHOTS} (folder with
-- <site>/<files>), ${VERDICTS_CSV}, ${POPULATION_CSV}, ${SEEDS} (dbt_project/seeds), ${COUNTY}
-- (county code, or '00' = all 290 municipalities, their 21 counties and 'Sverige' at level country), ${MODEL_VERSION},
-- ${ADULT_AGE}, ${MIN_OVERLAP}, ${MIN_DOUBLETONS}, ${FUZZY_MIN_LENGTH}, ${FUZZY_MAX_DISTANCE}, ${OUT} (output folder).

set TimeZone = 'UTC';

create or replace macro norm_loc(x) as nullif(trim(regexp_replace(regexp_replace(
    translate(lower(x), 'åäöøæéèüáà', 'aaooaeeuaa'), '[^a-z0-9]+', ' ', 'g'), '\s+', ' ', 'g')), '');

create or replace macro stockholm_date(ts) as cast(timezone('Europe/Stockholm', ts) as date);

-- ---------------------------------------------------------------- reference data
create temp table municipalities as
select municipality_code, municipality_name, county_code, county_name
from read_csv('${SEEDS}/reference/municipalities_se.csv', all_varchar = true, header = true);

create temp table regions as
with picked as (
    select * from municipalities where '${COUNTY}' = '00' or county_code = '${COUNTY}'
)
select municipality_code, municipality_code as region_code, municipality_name as region_name,
    'municipality' as region_level
from picked
union all
select municipality_code, county_code, county_name, 'county' from picked
union all  -- national mode: the counties above and Sverige on top
select municipality_code, '00', 'Sverige', 'country' from picked where '${COUNTY}' = '00';

create temp table region_list as select distinct region_code, region_name, region_level from regions;

create temp table gazetteer as
-- The national gazetteer of int_gazetteer: municipality names and genitives, postal towns, RegSO
-- area names split at "-" (and without a trailing qualifier), Östergötland's localities, aliases;
-- generic words and names under three letters dropped; RegSO names are never matched fuzzily.
with names as (
    select locality as place_name, municipality_code, kind as entry_kind, true as fuzzy_ok
    from read_csv('${SEEDS}/reference/localities_ostergotland.csv', all_varchar = true, header = true)
    union all
    select alias, municipality_code, 'alias_' || alias_kind, true
    from read_csv('${SEEDS}/location_aliases.csv', all_varchar = true, header = true)
    union all
    select municipality_name, municipality_code, 'municipality', true from municipalities
    union all
    select municipality_name || 's', municipality_code, 'municipality_genitive', true from municipalities
    where not ends_with(municipality_name, 's')
    union all
    select postal_town, municipality_code, 'postal_town', true
    from read_csv('${SEEDS}/reference/postal_towns_se.csv', all_varchar = true, header = true)
    union all
    select trim(unnest(string_split(regso_name, '-'))), municipality_code, 'regso_area', false
    from read_csv('${SEEDS}/reference/regso_areas_se.csv', all_varchar = true, header = true)
),
normalised as (
    select norm_loc(place_name) as name_normalised, municipality_code, entry_kind, fuzzy_ok from names
),
with_stems as (
    select * from normalised
    union all
    select trim(regexp_replace(name_normalised, '( (${QUALIFIERS}))+$$', '')), municipality_code,
        'regso_area_stem', fuzzy_ok
    from normalised
    where entry_kind = 'regso_area' and regexp_matches(name_normalised, ' (${QUALIFIERS})$$')
)
select name_normalised, municipality_code, bool_or(fuzzy_ok) as fuzzy_eligible
from with_stems
where name_normalised is not null
    and (entry_kind in ('municipality', 'municipality_genitive') or starts_with(entry_kind, 'alias_')
        or (length(name_normalised) >= 3 and not regexp_matches(name_normalised, '^[0-9 ]+$$')
            and name_normalised not in (${GENERIC})))
group by all;

create temp table parameters as
select
    max(cast(low as double)) filter (where parameter = 'worked_share') as ws_low,
    max(cast(central as double)) filter (where parameter = 'worked_share') as ws_central,
    max(cast(high as double)) filter (where parameter = 'worked_share') as ws_high,
    max(cast(low as double)) filter (where parameter = 'clients_per_worked_day') as cp_low,
    max(cast(central as double)) filter (where parameter = 'clients_per_worked_day') as cp_central,
    max(cast(high as double)) filter (where parameter = 'clients_per_worked_day') as cp_high
from read_csv('${SEEDS}/estimation_model_parameters.csv', all_varchar = true, header = true)
where model_version = '${MODEL_VERSION}';

-- ---------------------------------------------------------------- snapshots (the raw files)
create temp table lines as
select
    site, ad_id, location, phone, stated_age,
    cast(captured_at as timestamptz) as captured_at,
    cast(nullif(posted_at, '') as timestamptz) as posted_at,
    regexp_extract(filename, '[^/]+$$') as snapshot_file,
    regexp_extract(filename, '([^/]+)/[^/]+$$', 1) as file_site,
    cast(date_trunc('week', timezone('Europe/Stockholm', cast(strptime(
        regexp_extract(filename, '_([0-9]{8}T[0-9]{4})Z?\.jsonl', 1), '%Y%m%dT%H%M') as timestamptz)))
        as date) as week_start,
    row_number() over () as line_order
from read_json('${SNAPSHOTS}/*/*.jsonl*', format = 'newline_delimited', filename = true,
    columns = {site: 'VARCHAR', ad_id: 'VARCHAR', captured_at: 'VARCHAR', posted_at: 'VARCHAR',
               location: 'VARCHAR', phone: 'VARCHAR', stated_age: 'VARCHAR', category: 'VARCHAR',
               advertiser_gender: 'VARCHAR'});

create temp table files as
select file_site as site, snapshot_file, week_start from lines group by all;

create temp table classified as
select *,
    case
        when site is null or ad_id is null or captured_at is null then 'missing_field'
        when site <> file_site then 'site_mismatch'
        when cast(date_trunc('week', timezone('Europe/Stockholm', captured_at)) as date) <> week_start
            then 'outside_partition'
        when stated_age is not null and not (try_cast(stated_age as integer) between 12 and 99)
            then 'impossible_age'
        when row_number() over (partition by site, ad_id, captured_at, week_start order by line_order) > 1
            then 'duplicate'
    end as quarantine_reason
from lines;

create temp table quarantine as
select file_site as site, week_start from classified where quarantine_reason is not null;

create temp table snapshots as
with phones as (
    select *, regexp_replace(phone, '[^0-9+]', '', 'g') as dialled from classified
    where quarantine_reason is null
),
national as (
    select *,
        case
            when starts_with(dialled, '+46') then substr(dialled, 4)
            when starts_with(dialled, '0046') then substr(dialled, 5)
            when starts_with(dialled, '0') then substr(dialled, 2)
        end as national_number
    from phones
)
select site, ad_id, week_start, captured_at, posted_at, nullif(location, '') as location_raw,
    case when regexp_full_match(coalesce(national_number, ''), '[1-9][0-9]{6,8}')
        then '+46' || national_number end as phone_e164,
    snapshot_file, line_order
from national;

-- ---------------------------------------------------------------- advertisers: phone components
create temp table ad_phones as select distinct site, ad_id, phone_e164 from snapshots where phone_e164 is not null;
create temp table ad_anchors as select site, ad_id, min(phone_e164) as anchor from ad_phones group by all;

create temp table phone_labels as
with recursive
edges as (
    select p.phone_e164 as a, x.anchor as b from ad_phones p join ad_anchors x using (site, ad_id)
    where p.phone_e164 <> x.anchor
    union
    select x.anchor, p.phone_e164 from ad_phones p join ad_anchors x using (site, ad_id)
    where p.phone_e164 <> x.anchor
),
labels (phone, label) as (
    select distinct phone_e164, phone_e164 from ad_phones
    union
    select edges.b, labels.label from labels join edges on labels.phone = edges.a
    where labels.label < edges.b
)
select phone, min(label) as label from labels group by phone;

create temp table advertisers as
select ads.site, ads.ad_id,
    coalesce('phone|' || l.label, 'ad|' || ads.site || '|' || ads.ad_id) as advertiser_key,
    l.label is not null as is_phone_linked
from (select distinct site, ad_id from snapshots) as ads
left join ad_anchors x using (site, ad_id)
left join phone_labels l on x.anchor = l.phone;

-- ---------------------------------------------------------------- locations
create temp table locations as
with recursive
tokenised as (
    select location_raw, norm_loc(location_raw) as normalised,
        string_split(norm_loc(location_raw), ' ') as tokens
    from (select distinct location_raw from snapshots where location_raw is not null)
    where norm_loc(location_raw) is not null
),
phrases as (
    select location_raw, s as start_pos, s + e as end_pos, array_to_string(tokens[s:s + e], ' ') as phrase
    from tokenised, range(1, len(tokens) + 1) as r1(s), range(0, 4) as r2(e)
    where s + e <= len(tokens)
),
exact as (
    select distinct p.location_raw, p.start_pos, p.end_pos
    from phrases p join gazetteer g on p.phrase = g.name_normalised
),
maximal as (
    select i.* from exact i
    where not exists (
        select 1 from exact o
        where o.location_raw = i.location_raw and o.start_pos <= i.start_pos and o.end_pos >= i.end_pos
            and o.end_pos - o.start_pos > i.end_pos - i.start_pos
    )
),
exact_votes as (
    select m.location_raw, g.municipality_code, count(distinct m.start_pos) as n_votes, 'exact' as method
    from maximal m
    join phrases p using (location_raw, start_pos, end_pos)
    join gazetteer g on p.phrase = g.name_normalised
    group by all
),
fuzzy_votes as (
    select location_raw, municipality_code, count(distinct start_pos) as n_votes, 'fuzzy' as method
    from (
        select distinct p.location_raw, p.start_pos, g.municipality_code
        from phrases p join gazetteer g
            on g.fuzzy_eligible and length(g.name_normalised) >= ${FUZZY_MIN_LENGTH}
            and damerau_levenshtein(p.phrase, g.name_normalised) <= ${FUZZY_MAX_DISTANCE}
        where length(p.phrase) >= ${FUZZY_MIN_LENGTH}
            and p.location_raw not in (select location_raw from exact)
    )
    group by all
),
winners as (
    select *, municipality_code in (select municipality_code from regions) as in_area
    from (select * from exact_votes union all select * from fuzzy_votes)
    qualify n_votes = max(n_votes) over (partition by location_raw)
),
decided as (
    select location_raw, count(*) as n, bool_or(in_area) as any_in_area, min(municipality_code) as first_code
    from winners group by location_raw
)
select t.location_raw,
    case when d.n = 1 and d.any_in_area then d.first_code end as municipality_code,
    case
        when d.location_raw is null then 'unknown'
        when not d.any_in_area then 'out_of_county'
        when d.n = 1 then 'mapped'
        else 'ambiguous'
    end as location_status
from tokenised t left join decided d using (location_raw);

-- ---------------------------------------------------------------- observations (deduplicated lines)
create temp table observations as
select s.site, s.ad_id, s.week_start, s.captured_at, s.posted_at, a.advertiser_key, a.is_phone_linked,
    l.municipality_code, coalesce(l.location_status, 'unknown') as location_status
from snapshots s
join advertisers a using (site, ad_id)
left join locations l using (location_raw)
qualify row_number() over (partition by s.site, s.ad_id, s.snapshot_file order by s.line_order) = 1;

create temp table week_spine as
with bounds as (
    select min(week_start) as first_week, max(week_start) as last_week
    from (select week_start from files union select week_start from quarantine
          union select week_start from snapshots)
)
select cast(w as date) as week_start, cast(isoyear(w) as integer) as iso_year, cast(week(w) as integer) as iso_week
from bounds, generate_series(cast(first_week as timestamp), cast(last_week as timestamp), interval 7 day) as g(w);

create temp table sites as
select site from files union select site from snapshots union select site from quarantine;

create temp table coverage as
select s.site, w.week_start, w.iso_year, w.iso_week,
    coalesce(f.n, 0) > 0 as snapshot_present, coalesce(f.n, 0) as snapshot_files,
    coalesce(o.n_rows, 0) as n_rows, coalesce(q.n, 0) as quarantined_rows,
    coalesce(o.unmapped, 0) as unmapped_rows, coalesce(o.out_of_area, 0) as out_of_county_rows,
    coalesce(o.ambiguous, 0) as ambiguous_rows
from week_spine w cross join sites s
left join (select site, week_start, count(distinct snapshot_file) as n from files group by all) f
    using (site, week_start)
left join (
    select site, week_start, count(*) as n_rows,
        count(*) filter (where location_status = 'unknown') as unmapped,
        count(*) filter (where location_status = 'out_of_county') as out_of_area,
        count(*) filter (where location_status = 'ambiguous') as ambiguous
    from observations group by all
) o using (site, week_start)
left join (select site, week_start, count(*) as n from quarantine group by all) q using (site, week_start);

create temp table regional as
select r.region_code, o.*
from observations o join regions r using (municipality_code)
where o.location_status = 'mapped';

create temp table advertiser_weeks as
select region_code, week_start, advertiser_key,
    least(7, greatest(1, 7 - greatest(0, date_diff('day', week_start,
        min(stockholm_date(coalesce(posted_at, captured_at))))))) as advertiser_days
from regional group by region_code, week_start, advertiser_key;

-- ---------------------------------------------------------------- population denominators
create temp table verdict_rows as
with register as (
    select *,
        try_cast(offence_date as date) as offence_d,
        try_cast(decision_date as date) as decision_d,
        coalesce(try_cast(buyer_age as integer),
                 year(try_cast(offence_date as date)) - try_cast(buyer_birth_year as integer)) as age,
        nullif(trim(home_municipality), '') as home_text,
        nullif(trim(purchase_municipality), '') as purchase_text
    from read_csv('${VERDICTS_CSV}', all_varchar = true, header = true)
),
coded as (
    select *,
        (select m.municipality_code from municipalities m
         where m.municipality_code = lpad(register.home_text, 4, '0')) as home_code,
        (select m.municipality_code from municipalities m
         where m.municipality_code = lpad(register.purchase_text, 4, '0')) as purchase_code
    from register
)
select cast(year(offence_d) as integer) as offence_year, age as buyer_age,
    home_code as home_municipality_code, purchase_code as purchase_municipality_code
from coded
where offence_d is not null and decision_d is not null and decision_d >= offence_d
    and age between 15 and 100
    and (home_text is null or home_code is not null)
    and (purchase_text is null or purchase_code is not null)
qualify row_number() over (
    partition by upper(trim(case_number)), age, home_code, offence_d, decision_d, purchase_code
) = 1;

create temp table region_year_population as
with pop as (
    select municipality_code as region_code, cast(year as integer) as population_year, sex, age_group,
        cast(population as bigint) as population
    from read_csv('${POPULATION_CSV}', all_varchar = true, header = true)
    where nullif(trim(population), '') is not null
),
report_years as (
    select distinct iso_year as report_year from week_spine
    union select distinct offence_year from verdict_rows where offence_year is not null
),
region_years as (select region_code, report_year from region_list cross join report_years),
totals as (
    select region_code, population_year, max(population) as population from pop
    where sex = 'total' and age_group = 'total' group by all
),
men_totals as (
    select region_code, population_year, max(population) as men_total from pop
    where sex = 'men' and age_group = 'total' group by all
),
adult_share as (
    select share_year, sum(v * case
            when hi is null then (case when lo >= ${ADULT_AGE} then 1 else 0 end)
            else least(1, greatest(0, (hi + 1 - ${ADULT_AGE}) / (hi + 1 - lo)))
        end) / sum(v) as share
    from (
        select cast(year as smallint) as share_year, cast(value as double) as v,
            cast(regexp_extract(age_group, '^[0-9]+') as integer) as lo,
            try_cast(regexp_extract(age_group, '-([0-9]+)$$', 1) as integer) as hi
        from read_csv('${SEEDS}/reference/national_age_sex_shares.csv', all_varchar = true, header = true)
        where region = 'Sweden' and sex = 'men' and measure = 'pct_of_same_sex'
    )
    group by share_year
    qualify share_year = max(share_year) over ()
),
picked_totals as (
    select ry.region_code, ry.report_year, t.population, t.population_year
    from region_years ry left join totals t using (region_code)
    qualify row_number() over (partition by ry.region_code, ry.report_year
        order by t.population_year > ry.report_year, abs(ry.report_year - t.population_year)) = 1
),
picked_men as (
    select ry.region_code, ry.report_year, m.men_total, m.population_year
    from region_years ry join men_totals m using (region_code)
    qualify row_number() over (partition by ry.region_code, ry.report_year
        order by m.population_year > ry.report_year, abs(ry.report_year - m.population_year)) = 1
)
select pt.region_code, pt.report_year, pt.population, pt.population_year,
    round(pm.men_total * a.share) as adult_men,
    case
        when pm.men_total is not null and a.share is not null
            then concat('fallback: men total ', pm.population_year, ' x national share of men aged ',
                        ${ADULT_AGE}, '+ ', a.share_year, ' (national_age_sex_shares.csv)')
        else 'missing: no men total or age breakdown for the region'
    end as denominator_source
from picked_totals pt
left join picked_men pm using (region_code, report_year)
cross join adult_share a;

-- ---------------------------------------------------------------- marts
create temp table mart_prevalence_weekly as
with first_seen as (
    select site, ad_id, min(week_start) as first_week from observations group by all
),
ad_counts as (
    select region_code, week_start, count(*) as ads_seen,
        count(distinct site || '|' || ad_id) as unique_ads,
        count(distinct site || '|' || ad_id) filter (where first_week = week_start) as new_ads
    from regional join first_seen using (site, ad_id) group by all
),
advertiser_counts as (
    select region_code, week_start, count(*) as active_advertisers,
        cast(sum(advertiser_days) as bigint) as advertiser_days
    from advertiser_weeks group by all
),
week_coverage as (select week_start, bool_and(snapshot_present) as coverage_complete from coverage group by all)
select rl.region_code, rl.region_name, rl.region_level, w.week_start, w.iso_year, w.iso_week,
    coalesce(a.ads_seen, 0) as ads_seen, coalesce(a.unique_ads, 0) as unique_ads,
    coalesce(a.new_ads, 0) as new_ads, coalesce(c.active_advertisers, 0) as active_advertisers,
    coalesce(c.advertiser_days, 0) as advertiser_days,
    coalesce(c.advertiser_days, 0) * p.ws_low * p.cp_low as est_purchases_low,
    coalesce(c.advertiser_days, 0) * p.ws_central * p.cp_central as est_purchases_central,
    coalesce(c.advertiser_days, 0) * p.ws_high * p.cp_high as est_purchases_high,
    '${MODEL_VERSION}' as model_version,
    coalesce(wc.coverage_complete, false) as coverage_complete
from region_list rl cross join week_spine w cross join parameters p
left join ad_counts a on a.region_code = rl.region_code and a.week_start = w.week_start
left join advertiser_counts c on c.region_code = rl.region_code and c.week_start = w.week_start
left join week_coverage wc on wc.week_start = w.week_start;

create temp table mart_prevalence_yearly as
with weekly_sums as (
    select region_code, region_name, region_level, iso_year as year, model_version,
        count(*) filter (where coverage_complete) as weeks_covered,
        cast(sum(ads_seen) as bigint) as ads_seen, cast(sum(new_ads) as bigint) as new_ads,
        cast(sum(advertiser_days) as bigint) as advertiser_days,
        sum(est_purchases_low) as est_purchases_low, sum(est_purchases_central) as est_purchases_central,
        sum(est_purchases_high) as est_purchases_high
    from mart_prevalence_weekly group by all
),
yearly_advertisers as (
    select region_code, cast(isoyear(week_start) as integer) as year,
        count(distinct advertiser_key) as active_advertisers, count(*) as advertiser_weeks
    from advertiser_weeks group by all
),
yearly_ads as (
    select region_code, cast(isoyear(week_start) as integer) as year,
        count(distinct site || '|' || ad_id) as unique_ads
    from regional group by all
)
select ws.region_code, ws.region_name, ws.region_level, ws.year, ws.weeks_covered, ws.ads_seen,
    coalesce(ya.unique_ads, 0) as unique_ads, ws.new_ads,
    coalesce(yv.active_advertisers, 0) as active_advertisers,
    coalesce(yv.advertiser_weeks, 0) as advertiser_weeks, ws.advertiser_days,
    ws.est_purchases_low, ws.est_purchases_central, ws.est_purchases_high,
    p.population, p.population_year,
    ws.est_purchases_central * 10000.0 / nullif(p.population, 0) as est_purchases_per_10k,
    ws.est_purchases_central / nullif(case ws.region_level
        when 'municipality' then max(ws.est_purchases_central) filter (where ws.region_level = 'county')
            over (partition by ws.year, left(ws.region_code, 2))
        when 'county' then coalesce(max(ws.est_purchases_central) filter (where ws.region_level = 'country')
            over (partition by ws.year), ws.est_purchases_central)
        else ws.est_purchases_central end, 0) as share_of_county,
    ws.model_version
from weekly_sums ws
left join yearly_advertisers yv on yv.region_code = ws.region_code and yv.year = ws.year
left join yearly_ads ya on ya.region_code = ws.region_code and ya.year = ws.year
left join region_year_population p on p.region_code = ws.region_code and p.report_year = ws.year;

create temp table mart_demand_yearly as
with buyers as (
    select r.region_code, v.offence_year as year, count(*) as convicted_buyers,
        count(*) filter (where v.purchase_municipality_code = v.home_municipality_code) as at_home,
        count(*) filter (where v.purchase_municipality_code is not null) as known_place,
        avg(v.buyer_age) as mean_age, min(v.buyer_age) as min_age, max(v.buyer_age) as max_age,
        count(*) filter (where v.buyer_age between 18 and 24) as age_18_24,
        count(*) filter (where v.buyer_age between 25 and 34) as age_25_34,
        count(*) filter (where v.buyer_age between 35 and 44) as age_35_44,
        count(*) filter (where v.buyer_age between 45 and 54) as age_45_54,
        count(*) filter (where v.buyer_age between 55 and 69) as age_55_69,
        count(*) filter (where v.buyer_age >= 70) as age_70_plus
    from verdict_rows v join regions r on v.home_municipality_code = r.municipality_code
    group by all
),
years as (select distinct offence_year as year from verdict_rows where offence_year is not null)
select rl.region_code, rl.region_name, rl.region_level, y.year,
    coalesce(b.convicted_buyers, 0) as convicted_buyers,
    coalesce(b.at_home, 0) as bought_in_home_municipality,
    b.at_home * 1.0 / nullif(b.known_place, 0) as share_bought_in_home,
    b.mean_age, b.min_age, b.max_age,
    coalesce(b.age_18_24, 0) as age_18_24, coalesce(b.age_25_34, 0) as age_25_34,
    coalesce(b.age_35_44, 0) as age_35_44, coalesce(b.age_45_54, 0) as age_45_54,
    coalesce(b.age_55_69, 0) as age_55_69, coalesce(b.age_70_plus, 0) as age_70_plus,
    p.adult_men,
    coalesce(b.convicted_buyers, 0) * 100000.0 / nullif(p.adult_men, 0) as buyers_per_100k_adult_men,
    p.denominator_source
from region_list rl cross join years y
left join buyers b on b.region_code = rl.region_code and b.year = y.year
left join region_year_population p on p.region_code = rl.region_code and p.report_year = y.year;

create temp table mart_flows as
select (select min(offence_year) from verdict_rows) as period_start_year,
    (select max(offence_year) from verdict_rows) as period_end_year,
    home as home_region_code, coalesce(h.municipality_name, 'unknown') as home_region_name,
    purchase as purchase_region_code, coalesce(p.municipality_name, 'unknown') as purchase_region_name,
    buyers
from (
    select coalesce(home_municipality_code, 'unknown') as home,
        coalesce(purchase_municipality_code, 'unknown') as purchase, count(*) as buyers
    from verdict_rows group by all
) pairs
left join municipalities h on h.municipality_code = pairs.home
left join municipalities p on p.municipality_code = pairs.purchase;

create temp table mart_hidden_population as
with site_pairs as (select a.site as site_a, b.site as site_b from sites a join sites b on a.site < b.site),
years as (select distinct iso_year as year from week_spine),
per_advertiser as (
    select region_code, cast(isoyear(week_start) as integer) as year, advertiser_key,
        list(distinct site) as sites
    from regional where is_phone_linked group by all
),
counts as (
    select region_code, year, site_a, site_b,
        count(*) filter (where list_contains(sites, site_a)) as n1,
        count(*) filter (where list_contains(sites, site_b)) as n2,
        count(*) filter (where list_has_all(sites, [site_a, site_b])) as m2
    from per_advertiser cross join site_pairs group by all
),
dense as (
    select rl.region_code, rl.region_name, rl.region_level, y.year, sp.site_a, sp.site_b,
        coalesce(c.n1, 0) as n1, coalesce(c.n2, 0) as n2, coalesce(c.m2, 0) as m2
    from region_list rl cross join years y cross join site_pairs sp
    left join counts c on c.region_code = rl.region_code and c.year = y.year
        and c.site_a = sp.site_a and c.site_b = sp.site_b
),
chapman as (
    select *, (n1 + 1.0) * (n2 + 1.0) / (m2 + 1.0) - 1.0 as estimate,
        (n1 + 1.0) * (n2 + 1.0) * (n1 - m2) * (n2 - m2) / ((m2 + 1.0) * (m2 + 1.0) * (m2 + 2.0)) as variance,
        m2 >= ${MIN_OVERLAP} as ok
    from dense
),
weeks_seen as (
    select region_code, cast(isoyear(week_start) as integer) as year, advertiser_key,
        count(distinct week_start) as w
    from regional where is_phone_linked group by all
),
freq as (
    select region_code, year, count(*) as s_obs, count(*) filter (where w = 1) as f1,
        count(*) filter (where w = 2) as f2
    from weeks_seen group by all
),
occasions as (
    select c.*, yt.t as weeks_observed, coalesce(f.s_obs, 0) as s_obs, coalesce(f.f1, 0) as f1,
        coalesce(f.f2, 0) as f2
    from chapman c
    left join (select iso_year as year, count(distinct week_start) as t from week_spine group by all) yt
        on yt.year = c.year
    left join freq f on f.region_code = c.region_code and f.year = c.year
),
bounds as (
    select *, ${HP_CHAPMAN_LOW} as lo, ${HP_CHAPMAN_HIGH} as hi, ${HP_CHAO2_N} as c2,
        ${HP_CHAO2_LOW} as lo2, ${HP_CHAO2_HIGH} as hi2
    from occasions
)
select region_code, region_name, region_level, year, site_a, site_b, n1, n2, m2,
    case when m2 > 0 then round(estimate, 1) end as chapman_n,
    case when m2 > 0 then round(variance, 1) end as chapman_variance,
    case when m2 > 0 then round(lo, 1) end as ci_low,
    case when m2 > 0 then round(hi, 1) end as ci_high,
    case when m2 = 0 then null when (n1 - m2) * (n2 - m2) = 0 then 'full_overlap_binomial_bound'
        when m2 < ${MIN_OVERLAP} then 'low_overlap_seen_to_poisson_bound' else 'chao1987_log_normal' end as ci_method,
    case when n1 + n2 = 0 then 'no_advertisers' when m2 = 0 then 'no_overlap'
        when m2 < ${MIN_OVERLAP} then 'low_overlap' else 'ok' end as estimate_status,
    weeks_observed, s_obs, f1, f2,
    case when ${HP_CHAO2_ESTIMABLE} then round(c2, 1) end as chao2_n,
    case when ${HP_CHAO2_ESTIMABLE} then round(lo2, 1) end as chao2_ci_low,
    case when ${HP_CHAO2_ESTIMABLE} then round(hi2, 1) end as chao2_ci_high,
    case when not ${HP_CHAO2_ESTIMABLE} then null when c2 <= s_obs then 'no_singletons_poisson_bound'
        when f2 < ${MIN_DOUBLETONS} then 'low_doubletons_seen_to_log_normal'
        else 'chao1987_log_normal' end as chao2_ci_method,
    case when s_obs = 0 then 'no_advertisers' when weeks_observed < 2 then 'too_few_weeks'
        when f2 < ${MIN_DOUBLETONS} then 'low_doubletons' else 'ok' end as chao2_status,
    case when m2 > 0 and ${HP_CHAO2_ESTIMABLE} then hi < lo2 or hi2 < lo end as estimates_disagree,
    '${HP_MODEL_VERSION}' as model_version
from bounds;

create temp table mart_coverage_weekly as
select site, week_start, iso_year, iso_week, snapshot_present, snapshot_files, n_rows as rows,
    quarantined_rows, unmapped_rows, out_of_county_rows, ambiguous_rows,
    unmapped_rows * 1.0 / nullif(n_rows, 0) as unmapped_share
from coverage;

create temp table yearly_incl_hidden as
with factor as (
    select year, chapman_n / (n1 + n2 - m2) as factor,
        sqrt(ln(1.0 + chapman_variance / (chapman_n * chapman_n))) as factor_log_sd
    from mart_hidden_population
    where region_level = 'county' and chapman_n is not null and n1 + n2 - m2 > 0
    qualify row_number() over (partition by year order by m2 desc, site_a, site_b) = 1
),
spread as (
    select ln(ws_high / ws_low) / (2 * 1.959963984540054) as sd_ws,
        ln(cp_high / cp_low) / (2 * 1.959963984540054) as sd_cp
    from parameters
)
select y.*, f.factor as hidden_population_factor,
    y.est_purchases_central * f.factor as est_purchases_incl_hidden,
    y.est_purchases_central * f.factor
        * exp(-1.959963984540054 * sqrt(sd_ws * sd_ws + sd_cp * sd_cp + f.factor_log_sd * f.factor_log_sd))
        as est_purchases_incl_hidden_low,
    y.est_purchases_central * f.factor
        * exp(1.959963984540054 * sqrt(sd_ws * sd_ws + sd_cp * sd_cp + f.factor_log_sd * f.factor_log_sd))
        as est_purchases_incl_hidden_high,
    case when f.factor is null then 'no_hidden_population_estimate' else 'lognormal_propagation' end
        as purchases_incl_hidden_method,
    case when f.factor is not null then y.model_version || '+${HP_MODEL_VERSION}' end
        as purchases_incl_hidden_model_version
from mart_prevalence_yearly y cross join spread left join factor f on f.year = y.year;

copy mart_prevalence_weekly to '${OUT}/mart_prevalence_weekly.parquet' (format parquet);
copy yearly_incl_hidden to '${OUT}/mart_prevalence_yearly.parquet' (format parquet);
copy mart_demand_yearly to '${OUT}/mart_demand_yearly.parquet' (format parquet);
copy mart_flows to '${OUT}/mart_flows.parquet' (format parquet);
copy mart_hidden_population to '${OUT}/mart_hidden_population.parquet' (format parquet);
copy mart_coverage_weekly to '${OUT}/mart_coverage_weekly.parquet' (format parquet);

-- Denominators per region and year, for every year the marts report (ad weeks and verdicts):
-- total population and men of adult age (var adult_age). A year without figures uses the latest
-- earlier year (else the earliest later one) and says which in population_year. Men of adult age
-- come from the region's own breakdown by sex and age when there is one; otherwise from the
-- fallback: the region's men total (latest year that has it) x the national share of men aged
-- adult_age or older (national_age_sex_shares.csv, ages spread evenly inside each band), and
-- denominator_source says so. Totals are read per region, never re-derived by summing.
-- population_source names the total's table and year and, for the offline default (the 2019
-- figures by sex that every county has offline), says "offline default" with its files.
-- The small-area pool "Övriga länet" is no region of Statistics Sweden: its population and adult men
-- are the sums of its members' figures of the same report year (population_source says so).
with

population as (

    select * from {{ ref('stg_raw__population') }}

),

national_shares as (

    select * from {{ ref('stg_reference__national_age_sex_shares') }}

),

region_list as (

    select * from {{ ref('int_region_list') }}

),

week_spine as (

    select * from {{ ref('int_week_spine') }}

),

verdicts as (

    select * from {{ ref('int_verdicts') }}

),

report_years as (

    select distinct iso_year as report_year from week_spine
    union
    select distinct offence_year as report_year from verdicts
    where offence_year is not null

),

region_years as (

    select
        region_list.region_code,
        report_years.report_year
    from region_list
    cross join report_years
    where region_list.region_level <> 'pooled'

),

known_population as (

    select *
    from population
    where population is not null

),

-- The region's total of all ages per year, for everyone (sex 'total') and for men.
sex_totals as (

    select
        region_code,
        population_year,
        sex,
        max(population) as population,
        {{ population_source_label('max(source_table)', 'population_year', 'max(updated_stamp)') }} as population_source
    from known_population
    where sex in ('total', 'men') and age_band = 'total'
    group by region_code, population_year, sex

),

totals as (

    select * from sex_totals
    where sex = 'total'

),

men_totals as (

    select
        region_code,
        population_year,
        population as men_total,
        population_source as men_source
    from sex_totals
    where sex = 'men'

),

men_by_age as (

    select
        region_code,
        population_year,
        max(source_table) as source_table,
        {{ population_source_label('max(source_table)', 'population_year', 'max(updated_stamp)') }} as age_source,
        sum(population) filter (
            where try_cast(regexp_extract(age_band, '^[0-9]+') as integer) >= {{ var('adult_age') }}
        ) as adult_men
    from known_population
    where sex = 'men' and age_band <> 'total'
    group by region_code, population_year

),

national_bands as (

    select
        share_year,
        share_value,
        cast(regexp_extract(age_group, '^[0-9]+') as integer) as band_low,
        try_cast(regexp_extract(age_group, '-([0-9]+)$', 1) as integer) as band_high
    from national_shares
    where region_label = 'Sweden' and sex = 'men' and measure = 'pct_of_same_sex'

),

national_adult_share as (

    select
        share_year,
        sum(
            share_value * case
                when band_high is null then (case when band_low >= {{ var('adult_age') }} then 1 else 0 end)
                else least(
                    1,
                    greatest(0, (band_high + 1 - {{ var('adult_age') }}) / (band_high + 1 - band_low))
                )
            end
        ) / sum(share_value) as adult_share
    from national_bands
    group by share_year
    qualify share_year = max(share_year) over ()

),

picked_totals as (

    {{ pick_nearest_year('totals', ['population', 'population_source'], join='left') }}

),

picked_by_age as (

    {{ pick_nearest_year('men_by_age', ['adult_men', 'source_table', 'age_source']) }}

),

picked_men_totals as (

    {{ pick_nearest_year('men_totals', ['men_total', 'men_source']) }}

),

regional as (

    select
        picked_totals.region_code,
        picked_totals.report_year,
        picked_totals.population,
        picked_totals.population_year,
        picked_totals.population_source,
        coalesce(
            picked_by_age.adult_men,
            round(picked_men_totals.men_total * national_adult_share.adult_share)
        ) as adult_men,
        case
            when picked_by_age.adult_men is not null
                then concat(
                    'men aged ', {{ var('adult_age') }}, '+ by single year of age, ',
                    coalesce(picked_by_age.source_table, 'population source'), ' ',
                    picked_by_age.population_year
                )
            when picked_men_totals.men_total is not null and national_adult_share.adult_share is not null
                then concat(
                    'fallback: men total ', picked_men_totals.population_year,
                    ' x national share of men aged ', {{ var('adult_age') }}, '+ ',
                    national_adult_share.share_year, ' (national_age_sex_shares.csv)'
                )
            else 'missing: no men total or age breakdown for the region'
        end as denominator_source,
        case
            when picked_by_age.adult_men is not null then picked_by_age.age_source
            when national_adult_share.adult_share is not null then picked_men_totals.men_source
        end as adult_men_population_source
    from picked_totals
    left join picked_by_age
        on
            picked_totals.region_code = picked_by_age.region_code
            and picked_totals.report_year = picked_by_age.report_year
    left join picked_men_totals
        on
            picked_totals.region_code = picked_men_totals.region_code
            and picked_totals.report_year = picked_men_totals.report_year
    cross join national_adult_share

),

pool_members as (

    select
        region_code as member_code,
        pool_code
    from region_list
    where region_level = 'municipality' and pool_code is not null

),

pooled as (

    select
        pool_members.pool_code as region_code,
        regional.report_year,
        sum(regional.population) as population,
        max(regional.population_year) as population_year,
        concat(
            'sum of the pooled municipalities (', string_agg(pool_members.member_code, ',' order by pool_members.member_code),
            '): ', min(regional.population_source)
        ) as population_source,
        sum(regional.adult_men) as adult_men,
        concat('sum of the pooled municipalities: ', min(regional.denominator_source)) as denominator_source,
        concat('sum of the pooled municipalities: ', min(regional.adult_men_population_source))
            as adult_men_population_source
    from regional
    inner join pool_members
        on regional.region_code = pool_members.member_code
    group by pool_members.pool_code, regional.report_year

),

final as (

    select * from regional
    union all
    select * from pooled

)

select * from final

with

verdicts as (

    select * from {{ ref('int_verdicts') }}

),

regions as (

    select * from {{ ref('int_regions') }}

),

region_list as (

    select * from {{ ref('int_region_list') }}

),

population as (

    select * from {{ ref('int_region_year_population') }}

),

verdict_years as (

    select distinct offence_year as year
    from verdicts
    where offence_year is not null

),

regional_buyers as (

    select
        regions.region_code,
        verdicts.offence_year as year,
        verdicts.buyer_age,
        verdicts.purchase_municipality_code,
        verdicts.purchase_municipality_code = verdicts.home_municipality_code as bought_at_home
    from verdicts
    inner join regions
        on verdicts.home_municipality_code = regions.municipality_code

),

buyer_counts as (

    select
        region_code,
        year,
        count(*) as convicted_buyers,
        count(*) filter (where bought_at_home) as bought_in_home_municipality,
        count(*) filter (where purchase_municipality_code is not null) as with_known_purchase_place,
        avg(buyer_age) as mean_age,
        min(buyer_age) as min_age,
        max(buyer_age) as max_age,
        count(*) filter (where buyer_age between 18 and 24) as age_18_24,
        count(*) filter (where buyer_age between 25 and 34) as age_25_34,
        count(*) filter (where buyer_age between 35 and 44) as age_35_44,
        count(*) filter (where buyer_age between 45 and 54) as age_45_54,
        count(*) filter (where buyer_age between 55 and 69) as age_55_69,
        count(*) filter (where buyer_age >= 70) as age_70_plus
    from regional_buyers
    group by region_code, year

),

final as (

    select
        region_list.region_code,
        region_list.region_name,
        region_list.region_level,
        region_list.pool_code,
        verdict_years.year,
        coalesce(buyer_counts.convicted_buyers, 0) as convicted_buyers,
        coalesce(buyer_counts.bought_in_home_municipality, 0) as bought_in_home_municipality,
        buyer_counts.bought_in_home_municipality * 1.0
        / nullif(buyer_counts.with_known_purchase_place, 0) as share_bought_in_home,
        buyer_counts.mean_age,
        buyer_counts.min_age,
        buyer_counts.max_age,
        coalesce(buyer_counts.age_18_24, 0) as age_18_24,
        coalesce(buyer_counts.age_25_34, 0) as age_25_34,
        coalesce(buyer_counts.age_35_44, 0) as age_35_44,
        coalesce(buyer_counts.age_45_54, 0) as age_45_54,
        coalesce(buyer_counts.age_55_69, 0) as age_55_69,
        coalesce(buyer_counts.age_70_plus, 0) as age_70_plus,
        population.adult_men,
        coalesce(buyer_counts.convicted_buyers, 0) * 100000.0
        / nullif(population.adult_men, 0) as buyers_per_100k_adult_men,
        population.denominator_source,
        population.adult_men_population_source as population_source
    from region_list
    cross join verdict_years
    left join buyer_counts
        on
            region_list.region_code = buyer_counts.region_code
            and verdict_years.year = buyer_counts.year
    left join population
        on
            region_list.region_code = population.region_code
            and verdict_years.year = population.report_year

)

select * from final

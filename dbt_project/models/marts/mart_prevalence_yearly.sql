with

weekly as (

    select * from {{ ref('mart_prevalence_weekly') }}

),

advertiser_weeks as (

    select * from {{ ref('int_advertiser_region_weeks') }}

),

observations as (

    select * from {{ ref('int_ad_observations') }}

),

regions as (

    select * from {{ ref('int_regions') }}

),

population as (

    select * from {{ ref('int_region_year_population') }}

),

weekly_sums as (

    select
        region_code,
        region_name,
        region_level,
        iso_year as year,
        model_version,
        count(*) filter (where coverage_complete) as weeks_covered,
        cast(sum(ads_seen) as bigint) as ads_seen,
        cast(sum(new_ads) as bigint) as new_ads,
        cast(sum(advertiser_days) as bigint) as advertiser_days,
        sum(est_purchases_low) as est_purchases_low,
        sum(est_purchases_central) as est_purchases_central,
        sum(est_purchases_high) as est_purchases_high
    from weekly
    group by region_code, region_name, region_level, iso_year, model_version

),

yearly_advertisers as (

    select
        region_code,
        cast(isoyear(week_start) as integer) as year,
        count(distinct advertiser_key) as active_advertisers,
        count(*) as advertiser_weeks
    from advertiser_weeks
    group by region_code, cast(isoyear(week_start) as integer)

),

yearly_ads as (

    select
        regions.region_code,
        cast(isoyear(observations.week_start) as integer) as year,
        count(distinct observations.site || '|' || observations.ad_id) as unique_ads
    from observations
    inner join regions
        on observations.municipality_code = regions.municipality_code
    where observations.location_status = 'mapped'
    group by regions.region_code, cast(isoyear(observations.week_start) as integer)

),

final as (

    select
        weekly_sums.region_code,
        weekly_sums.region_name,
        weekly_sums.region_level,
        weekly_sums.year,
        weekly_sums.weeks_covered,
        weekly_sums.ads_seen,
        coalesce(yearly_ads.unique_ads, 0) as unique_ads,
        weekly_sums.new_ads,
        coalesce(yearly_advertisers.active_advertisers, 0) as active_advertisers,
        coalesce(yearly_advertisers.advertiser_weeks, 0) as advertiser_weeks,
        weekly_sums.advertiser_days,
        weekly_sums.est_purchases_low,
        weekly_sums.est_purchases_central,
        weekly_sums.est_purchases_high,
        population.population,
        population.population_year,
        weekly_sums.est_purchases_central * 10000.0
        / nullif(population.population, 0) as est_purchases_per_10k,
        weekly_sums.est_purchases_central / nullif(
            sum(weekly_sums.est_purchases_central) filter (where weekly_sums.region_level = 'county')
                over (partition by weekly_sums.year),
            0
        ) as share_of_county,
        weekly_sums.model_version
    from weekly_sums
    left join yearly_advertisers
        on
            weekly_sums.region_code = yearly_advertisers.region_code
            and weekly_sums.year = yearly_advertisers.year
    left join yearly_ads
        on
            weekly_sums.region_code = yearly_ads.region_code
            and weekly_sums.year = yearly_ads.year
    left join population
        on
            weekly_sums.region_code = population.region_code
            and weekly_sums.year = population.report_year

)

select * from final

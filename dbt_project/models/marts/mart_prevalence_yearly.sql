{#- The purchases including the hidden population, and the spreads of its factors (log scale). -#}
{%- set incl_hidden = 'yearly_estimates.est_purchases_central * hidden_factor.factor' -%}
{%- set spread_log_sds = [
    'parameter_spread.worked_share_log_sd',
    'parameter_spread.clients_log_sd',
    'hidden_factor.factor_log_sd',
] -%}
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

parameters as (

    select * from {{ ref('int_model_parameters') }}

),

hidden_population as (

    select * from {{ ref('mart_hidden_population') }}

),

-- The county's capture-recapture factor per year (Chapman estimate / advertisers seen), from the
-- site pair with the largest overlap, with the log-scale spread of its interval. One factor for
-- every region of the county: municipal overlaps are too small to carry their own.
hidden_factor as (

    select
        year,
        chapman_n / (n1 + n2 - m2) as factor,
        sqrt(ln(1.0 + chapman_variance / (chapman_n * chapman_n))) as factor_log_sd,
        model_version as hidden_model_version
    from hidden_population
    where region_level = 'county' and chapman_n is not null and n1 + n2 - m2 > 0
    qualify row_number() over (partition by year order by m2 desc, site_a asc, site_b asc) = 1

),

-- Parameter ranges read as log-normal distributions whose 2.5 % and 97.5 % points are the seed's
-- low and high: log-scale sd = ln(high / low) / (2 x 1.96), median = central.
parameter_spread as (

    select
        model_version,
        {{ lognormal_log_sd('worked_share_low', 'worked_share_high') }} as worked_share_log_sd,
        {{ lognormal_log_sd('clients_per_day_low', 'clients_per_day_high') }} as clients_log_sd
    from parameters

),

weekly_sums as (

    select
        region_code,
        region_name,
        region_level,
        pool_code,
        iso_year as year,
        model_version,
        count(*) filter (where coverage_complete) as weeks_covered,
        cast(sum(ads_seen) as bigint) as ads_seen,
        cast(sum(new_ads) as bigint) as new_ads,
        cast(sum(advertiser_days) as bigint) as advertiser_days
    from weekly
    group by region_code, region_name, region_level, pool_code, iso_year, model_version

),

-- The year's advertiser-days times the model's parameters, which is the sum of the weekly estimates
-- (mart_prevalence_weekly). Computed from the integer sum, so a rerun gives the same bits: a sum of
-- floats depends on the order DuckDB's threads add the weeks in.
yearly_estimates as (

    select
        weekly_sums.*,
        {{ purchase_estimates('weekly_sums.advertiser_days', 'parameters') }}
    from weekly_sums
    inner join parameters
        on weekly_sums.model_version = parameters.model_version

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
        yearly_estimates.region_code,
        yearly_estimates.region_name,
        yearly_estimates.region_level,
        yearly_estimates.pool_code,
        yearly_estimates.year,
        yearly_estimates.weeks_covered,
        yearly_estimates.ads_seen,
        coalesce(yearly_ads.unique_ads, 0) as unique_ads,
        yearly_estimates.new_ads,
        coalesce(yearly_advertisers.active_advertisers, 0) as active_advertisers,
        coalesce(yearly_advertisers.advertiser_weeks, 0) as advertiser_weeks,
        yearly_estimates.advertiser_days,
        yearly_estimates.est_purchases_low,
        yearly_estimates.est_purchases_central,
        yearly_estimates.est_purchases_high,
        population.population,
        population.population_year,
        population.population_source,
        yearly_estimates.est_purchases_central * 10000.0
        / nullif(population.population, 0) as est_purchases_per_10k,
        -- The share of the region above: a municipality's (or the pool's) of its county (codes start
        -- with the county's two digits), a county's of Sweden in national mode, 1 for the top region.
        yearly_estimates.est_purchases_central / nullif(
            case
                when yearly_estimates.region_level in ('municipality', 'pooled')
                    then
                        max(yearly_estimates.est_purchases_central) filter (
                            where yearly_estimates.region_level = 'county'
                        ) over (partition by yearly_estimates.year, left(yearly_estimates.region_code, 2))
                when yearly_estimates.region_level = 'county'
                    then
                        coalesce(
                            max(yearly_estimates.est_purchases_central) filter (
                                where yearly_estimates.region_level = 'country'
                            ) over (partition by yearly_estimates.year),
                            yearly_estimates.est_purchases_central
                        )
                else yearly_estimates.est_purchases_central
            end,
            0
        ) as share_of_county,
        yearly_estimates.model_version,
        hidden_factor.factor as hidden_population_factor,
        {{ incl_hidden }} as est_purchases_incl_hidden,
        {{ lognormal_bound(incl_hidden, spread_log_sds, 'low') }} as est_purchases_incl_hidden_low,
        {{ lognormal_bound(incl_hidden, spread_log_sds, 'high') }} as est_purchases_incl_hidden_high,
        case
            when hidden_factor.factor is null then 'no_hidden_population_estimate'
            else 'lognormal_propagation'
        end as purchases_incl_hidden_method,
        case
            when hidden_factor.factor is not null
                then yearly_estimates.model_version || '+' || hidden_factor.hidden_model_version
        end as purchases_incl_hidden_model_version
    from yearly_estimates
    inner join parameter_spread
        on yearly_estimates.model_version = parameter_spread.model_version
    left join hidden_factor
        on yearly_estimates.year = hidden_factor.year
    left join yearly_advertisers
        on
            yearly_estimates.region_code = yearly_advertisers.region_code
            and yearly_estimates.year = yearly_advertisers.year
    left join yearly_ads
        on
            yearly_estimates.region_code = yearly_ads.region_code
            and yearly_estimates.year = yearly_ads.year
    left join population
        on
            yearly_estimates.region_code = population.region_code
            and yearly_estimates.year = population.report_year

)

select * from final

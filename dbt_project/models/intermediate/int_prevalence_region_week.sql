-- Ad and advertiser counts per region and week, dense over every region of the county and every
-- week of the spine (a municipality without ads is a row of zeros, not a missing row).
with

observations as (

    select * from {{ ref('int_ad_observations') }}

),

regions as (

    select * from {{ ref('int_regions') }}

),

region_list as (

    select * from {{ ref('int_region_list') }}

),

week_spine as (

    select * from {{ ref('int_week_spine') }}

),

advertiser_weeks as (

    select * from {{ ref('int_advertiser_region_weeks') }}

),

coverage as (

    select * from {{ ref('int_coverage_site_week') }}

),

first_seen as (

    select
        site,
        ad_id,
        min(week_start) as first_week
    from observations
    group by site, ad_id

),

regional_observations as (

    select
        regions.region_code,
        observations.week_start,
        observations.site,
        observations.ad_id,
        observations.site || '|' || observations.ad_id as ad_key,
        first_seen.first_week = observations.week_start as is_new
    from observations
    inner join regions
        on observations.municipality_code = regions.municipality_code
    inner join first_seen
        on
            observations.site = first_seen.site
            and observations.ad_id = first_seen.ad_id
    where observations.location_status = 'mapped'

),

ad_counts as (

    select
        region_code,
        week_start,
        count(*) as ads_seen,
        count(distinct ad_key) as unique_ads,
        count(distinct ad_key) filter (where is_new) as new_ads
    from regional_observations
    group by region_code, week_start

),

advertiser_counts as (

    select
        region_code,
        week_start,
        count(*) as active_advertisers,
        cast(sum(advertiser_days) as bigint) as advertiser_days
    from advertiser_weeks
    group by region_code, week_start

),

week_coverage as (

    select
        week_start,
        bool_and(snapshot_present) as coverage_complete
    from coverage
    group by week_start

),

final as (

    select
        region_list.region_code,
        region_list.region_name,
        region_list.region_level,
        region_list.pool_code,
        week_spine.week_start,
        week_spine.iso_year,
        week_spine.iso_week,
        coalesce(ad_counts.ads_seen, 0) as ads_seen,
        coalesce(ad_counts.unique_ads, 0) as unique_ads,
        coalesce(ad_counts.new_ads, 0) as new_ads,
        coalesce(advertiser_counts.active_advertisers, 0) as active_advertisers,
        coalesce(advertiser_counts.advertiser_days, 0) as advertiser_days,
        coalesce(week_coverage.coverage_complete, false) as coverage_complete
    from region_list
    cross join week_spine
    left join ad_counts
        on
            region_list.region_code = ad_counts.region_code
            and week_spine.week_start = ad_counts.week_start
    left join advertiser_counts
        on
            region_list.region_code = advertiser_counts.region_code
            and week_spine.week_start = advertiser_counts.week_start
    left join week_coverage
        on week_spine.week_start = week_coverage.week_start

)

select * from final

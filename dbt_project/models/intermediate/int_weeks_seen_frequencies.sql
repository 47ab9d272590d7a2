-- Weekly occasions per region and year for the multi-occasion hidden-population estimator: s_obs
-- advertisers seen in at least one week (either site), f1 seen in exactly one week, f2 in exactly
-- two, t weeks in the year's spine. The same advertisers as the two-site counts (mapped,
-- phone-linked), so the two estimates count the same thing. Dense: every region and year.
with

observations as (

    select * from {{ ref('int_ad_observations') }}

),

advertisers as (

    select * from {{ ref('int_ad_advertisers') }}

),

regions as (

    select * from {{ ref('int_regions') }}
    where region_level <> 'pooled'  -- the small-area pool is not estimated (docs/marts.md)

),

region_list as (

    select * from {{ ref('int_region_list') }}
    where region_level <> 'pooled'

),

week_spine as (

    select * from {{ ref('int_week_spine') }}

),

years as (

    select
        iso_year as year,
        count(distinct week_start) as t
    from week_spine
    group by iso_year

),

captures as (

    {{ linked_captures('week_start') }}

),

weeks_seen as (

    select
        region_code,
        year,
        advertiser_key,
        count(*) as weeks_seen
    from captures
    group by region_code, year, advertiser_key

),

frequencies as (

    select
        region_code,
        year,
        count(*) as s_obs,
        count(*) filter (where weeks_seen = 1) as f1,
        count(*) filter (where weeks_seen = 2) as f2
    from weeks_seen
    group by region_code, year

),

final as (

    select
        region_list.region_code,
        years.year,
        years.t,
        coalesce(frequencies.s_obs, 0) as s_obs,
        coalesce(frequencies.f1, 0) as f1,
        coalesce(frequencies.f2, 0) as f2
    from region_list
    cross join years
    left join frequencies
        on
            region_list.region_code = frequencies.region_code
            and years.year = frequencies.year

)

select * from final

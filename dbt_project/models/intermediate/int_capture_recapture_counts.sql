-- Capture-recapture counts per region, year and pair of sites: n1 advertisers seen on site_a, n2
-- on site_b, m2 on both. Only phone-linked advertisers count (an ad without a phone key cannot be
-- recaptured on the other site). Dense: every region, year and site pair has a row.
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

sites as (

    select * from {{ ref('int_sites') }}

),

site_pairs as (

    select
        site_a.site as site_a,
        site_b.site as site_b
    from sites as site_a
    inner join sites as site_b
        on site_a.site < site_b.site

),

years as (

    select distinct iso_year as year from week_spine

),

captures as (

    {{ linked_captures('site') }}

),

per_advertiser as (

    select
        region_code,
        year,
        advertiser_key,
        list(site) as sites
    from captures
    group by region_code, year, advertiser_key

),

counts as (

    select
        per_advertiser.region_code,
        per_advertiser.year,
        site_pairs.site_a,
        site_pairs.site_b,
        count(*) filter (where list_contains(per_advertiser.sites, site_pairs.site_a)) as n1,
        count(*) filter (where list_contains(per_advertiser.sites, site_pairs.site_b)) as n2,
        count(*) filter (
            where list_has_all(per_advertiser.sites, [site_pairs.site_a, site_pairs.site_b])
        ) as m2
    from per_advertiser
    cross join site_pairs
    group by per_advertiser.region_code, per_advertiser.year, site_pairs.site_a, site_pairs.site_b

),

final as (

    select
        region_list.region_code,
        region_list.region_name,
        region_list.region_level,
        years.year,
        site_pairs.site_a,
        site_pairs.site_b,
        coalesce(counts.n1, 0) as n1,
        coalesce(counts.n2, 0) as n2,
        coalesce(counts.m2, 0) as m2
    from region_list
    cross join years
    cross join site_pairs
    left join counts
        on
            region_list.region_code = counts.region_code
            and years.year = counts.year
            and site_pairs.site_a = counts.site_a
            and site_pairs.site_b = counts.site_b

)

select * from final

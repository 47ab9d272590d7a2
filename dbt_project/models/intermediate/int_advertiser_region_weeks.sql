-- One row per advertiser, region and week in which the advertiser had an ad mapped to the region,
-- with the advertiser-days of docs/architecture.md: 7 when the advertiser's earliest posted_at
-- among the week's ads is before the week's Monday (Swedish time), else the days from that date
-- to Sunday inclusive. Without posted_at the first capture of the week stands in (a lower bound).
-- The county counts each advertiser once (through int_regions).
with

observations as (

    select * from {{ ref('int_ad_observations') }}

),

regions as (

    select * from {{ ref('int_regions') }}

),

regional as (

    select
        regions.region_code,
        observations.week_start,
        observations.advertiser_key,
        observations.site,
        min({{ stockholm_date('coalesce(observations.posted_at, observations.captured_at)') }}) as first_posted_date
    from observations
    inner join regions
        on observations.municipality_code = regions.municipality_code
    where observations.location_status = 'mapped'
    group by regions.region_code, observations.week_start, observations.advertiser_key, observations.site

),

final as (

    select
        region_code,
        week_start,
        advertiser_key,
        list(distinct site order by site) as sites,
        min(first_posted_date) as first_posted_date,
        least(
            7,
            greatest(1, 7 - greatest(0, date_diff('day', week_start, min(first_posted_date))))
        ) as advertiser_days
    from regional
    group by region_code, week_start, advertiser_key

)

select * from final

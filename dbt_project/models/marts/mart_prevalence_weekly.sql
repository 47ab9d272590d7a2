with

prevalence as (

    select * from {{ ref('int_prevalence_region_week') }}

),

parameters as (

    select * from {{ ref('int_model_parameters') }}

),

final as (

    select
        prevalence.region_code,
        prevalence.region_name,
        prevalence.region_level,
        prevalence.pool_code,
        prevalence.week_start,
        prevalence.iso_year,
        prevalence.iso_week,
        prevalence.ads_seen,
        prevalence.unique_ads,
        prevalence.new_ads,
        prevalence.active_advertisers,
        prevalence.advertiser_days,
        {{ purchase_estimates('prevalence.advertiser_days', 'parameters') }},
        parameters.model_version,
        prevalence.coverage_complete
    from prevalence
    cross join parameters

)

select * from final

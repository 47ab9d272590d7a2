with

counts as (

    select * from {{ ref('int_capture_recapture_counts') }}

),

chapman as (

    select
        *,
        (n1 + 1.0) * (n2 + 1.0) / (m2 + 1.0) - 1.0 as estimate,
        (n1 + 1.0) * (n2 + 1.0) * (n1 - m2) * (n2 - m2)
        / ((m2 + 1.0) * (m2 + 1.0) * (m2 + 2.0)) as variance,
        m2 >= {{ var('chapman_min_overlap') }} as is_estimable
    from counts

),

final as (

    select
        region_code,
        region_name,
        region_level,
        year,
        site_a,
        site_b,
        n1,
        n2,
        m2,
        case when is_estimable then round(estimate, 1) end as chapman_n,
        case when is_estimable then round(variance, 1) end as chapman_variance,
        case when is_estimable then round(estimate - 1.96 * sqrt(variance), 1) end as ci_low,
        case when is_estimable then round(estimate + 1.96 * sqrt(variance), 1) end as ci_high,
        case when is_estimable then 'ok' else 'overlap_too_small' end as estimate_status
    from chapman

)

select * from final

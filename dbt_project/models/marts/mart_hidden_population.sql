-- The estimators are macros (macros/hidden_population.sql) so that `make calibrate` scores this
-- very SQL against simulated populations of known size (docs/estimation.md).
with

counts as (

    select * from {{ ref('int_capture_recapture_counts') }}

),

frequencies as (

    select * from {{ ref('int_weeks_seen_frequencies') }}

),

estimates as (

    select
        counts.*,
        frequencies.t as weeks_observed,
        frequencies.s_obs,
        frequencies.f1,
        frequencies.f2,
        {{ chapman_n('counts.n1', 'counts.n2', 'counts.m2') }} as estimate,
        {{ chapman_variance('counts.n1', 'counts.n2', 'counts.m2') }} as variance,
        {{ chapman_ci_low('counts.n1', 'counts.n2', 'counts.m2', var('chapman_min_overlap')) }} as interval_low,
        {{ chapman_ci_high('counts.n1', 'counts.n2', 'counts.m2') }} as interval_high,
        {{ chapman_unseen('counts.n1', 'counts.n2', 'counts.m2') }} <= 0 as is_full_overlap,
        {{ chao2_n('frequencies.s_obs', 'frequencies.f1', 'frequencies.f2', 'frequencies.t') }} as chao2_estimate,
        {{ chao2_ci_low('frequencies.s_obs', 'frequencies.f1', 'frequencies.f2', 'frequencies.t') }}
            as chao2_interval_low,
        {{ chao2_ci_high('frequencies.s_obs', 'frequencies.f1', 'frequencies.f2', 'frequencies.t') }}
            as chao2_interval_high
    from counts
    left join frequencies
        on
            counts.region_code = frequencies.region_code
            and counts.year = frequencies.year

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
        case when m2 > 0 then round(estimate, 1) end as chapman_n,
        case when m2 > 0 then round(variance, 1) end as chapman_variance,
        case when m2 > 0 then round(interval_low, 1) end as ci_low,
        case when m2 > 0 then round(interval_high, 1) end as ci_high,
        case
            when m2 = 0 then null
            when is_full_overlap then 'full_overlap_binomial_bound'
            when m2 < {{ var('chapman_min_overlap') }} then 'low_overlap_seen_to_log_normal'
            else 'chao1987_log_normal'
        end as ci_method,
        case
            when n1 + n2 = 0 then 'no_advertisers'
            when m2 = 0 then 'no_overlap'
            when m2 < {{ var('chapman_min_overlap') }} then 'low_overlap'
            else 'ok'
        end as estimate_status,
        weeks_observed,
        s_obs,
        f1,
        f2,
        case when s_obs > 0 then round(chao2_estimate, 1) end as chao2_n,
        case when s_obs > 0 then round(chao2_interval_low, 1) end as chao2_ci_low,
        case when s_obs > 0 then round(chao2_interval_high, 1) end as chao2_ci_high,
        case
            when s_obs = 0 then null
            when chao2_estimate <= s_obs then 'no_singletons_poisson_bound'
            else 'chao1987_log_normal'
        end as chao2_ci_method,
        case when s_obs = 0 then 'no_advertisers' else 'ok' end as chao2_status,
        case
            when m2 > 0 and s_obs > 0
                then interval_high < chao2_interval_low or chao2_interval_high < interval_low
        end as estimates_disagree,
        '{{ var("hidden_population_model_version") }}' as model_version
    from estimates

)

select * from final

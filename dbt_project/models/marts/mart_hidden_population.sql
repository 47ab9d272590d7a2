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
        {{ chapman_ci_high('counts.n1', 'counts.n2', 'counts.m2', var('chapman_min_overlap')) }} as interval_high,
        {{ chao2_n('frequencies.s_obs', 'frequencies.f1', 'frequencies.f2', 'frequencies.t') }} as chao2_estimate,
        {{ chao2_ci_low('frequencies.s_obs', 'frequencies.f1', 'frequencies.f2', 'frequencies.t', var('chao2_min_doubletons')) }}
            as chao2_interval_low,
        {{ chao2_ci_high('frequencies.s_obs', 'frequencies.f1', 'frequencies.f2', 'frequencies.t') }}
            as chao2_interval_high,
        {{ chao2_estimable('frequencies.s_obs', 'frequencies.t') }} as chao2_estimable,
        {{ chapman_ci_method('counts.n1', 'counts.n2', 'counts.m2', var('chapman_min_overlap')) }} as ci_method,
        {{ chapman_status('counts.n1', 'counts.n2', 'counts.m2', var('chapman_min_overlap')) }} as estimate_status,
        {{ chao2_ci_method('frequencies.s_obs', 'frequencies.f1', 'frequencies.f2', 'frequencies.t', var('chao2_min_doubletons')) }}
            as chao2_ci_method,
        {{ chao2_status('frequencies.s_obs', 'frequencies.f2', 'frequencies.t', var('chao2_min_doubletons')) }}
            as chao2_status
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
        ci_method,
        estimate_status,
        weeks_observed,
        s_obs,
        f1,
        f2,
        case when chao2_estimable then round(chao2_estimate, 1) end as chao2_n,
        case when chao2_estimable then round(chao2_interval_low, 1) end as chao2_ci_low,
        case when chao2_estimable then round(chao2_interval_high, 1) end as chao2_ci_high,
        chao2_ci_method,
        chao2_status,
        case
            when m2 > 0 and chao2_estimable
                then interval_high < chao2_interval_low or chao2_interval_high < interval_low
        end as estimates_disagree,
        '{{ var("hidden_population_model_version") }}' as model_version
    from estimates

)

select * from final

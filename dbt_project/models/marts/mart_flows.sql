with

verdicts as (

    select * from {{ ref('int_verdicts') }}

),

municipalities as (

    select * from {{ ref('stg_reference__municipalities') }}

),

window_bounds as (

    select
        min(offence_year) as period_start_year,
        max(offence_year) as period_end_year
    from verdicts

),

pairs as (

    select
        coalesce(home_municipality_code, 'unknown') as home_region_code,
        coalesce(purchase_municipality_code, 'unknown') as purchase_region_code,
        count(*) as buyers
    from verdicts
    group by
        coalesce(home_municipality_code, 'unknown'),
        coalesce(purchase_municipality_code, 'unknown')

),

final as (

    select
        window_bounds.period_start_year,
        window_bounds.period_end_year,
        pairs.home_region_code,
        coalesce(home_municipalities.municipality_name, 'unknown') as home_region_name,
        pairs.purchase_region_code,
        coalesce(purchase_municipalities.municipality_name, 'unknown') as purchase_region_name,
        pairs.buyers
    from pairs
    cross join window_bounds
    left join municipalities as home_municipalities
        on pairs.home_region_code = home_municipalities.municipality_code
    left join municipalities as purchase_municipalities
        on pairs.purchase_region_code = purchase_municipalities.municipality_code

)

select * from final

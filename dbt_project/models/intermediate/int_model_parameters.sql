-- The estimation model's parameters for var model_version, one row, one column per bound.
with

parameters as (

    select * from {{ ref('stg_reference__estimation_model_parameters') }}

),

selected as (

    select *
    from parameters
    where model_version = '{{ var("model_version") }}'

),

final as (

    select
        model_version,
        max(value_low) filter (where parameter_name = 'worked_share') as worked_share_low,
        max(value_central) filter (where parameter_name = 'worked_share') as worked_share_central,
        max(value_high) filter (where parameter_name = 'worked_share') as worked_share_high,
        max(value_low) filter (where parameter_name = 'clients_per_worked_day') as clients_per_day_low,
        max(value_central) filter (where parameter_name = 'clients_per_worked_day') as clients_per_day_central,
        max(value_high) filter (where parameter_name = 'clients_per_worked_day') as clients_per_day_high
    from selected
    group by model_version

)

select * from final

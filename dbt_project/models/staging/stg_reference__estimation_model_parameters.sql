with

source as (

    select * from {{ ref('estimation_model_parameters') }}

),

renamed as (

    select
        cast(model_version as varchar) as model_version,
        cast(parameter as varchar) as parameter_name,
        cast(low as double) as value_low,
        cast(central as double) as value_central,
        cast(high as double) as value_high,
        cast(unit as varchar) as unit

    from source

)

select * from renamed

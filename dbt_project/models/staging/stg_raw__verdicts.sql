with

source as (

    select * from {{ source('raw', 'verdicts') }}

),

renamed as (

    select
        cast(case_key as varchar) as case_key,
        cast(court as varchar) as court,
        cast(decision_type as varchar) as decision_type,
        cast(decision_date as date) as decision_date,
        cast(offence_date as date) as offence_date,
        cast(buyer_age as smallint) as buyer_age,
        cast(age_source as varchar) as age_source,
        cast(home_municipality_code as varchar) as home_municipality_code,
        cast(purchase_municipality_code as varchar) as purchase_municipality_code,
        cast(contact_channel as varchar) as contact_channel,
        cast(sanction as varchar) as sanction,
        cast(completed as boolean) as is_completed,
        cast(source_file as varchar) as source_file,
        cast(source_row as integer) as source_row

    from source

)

select * from renamed

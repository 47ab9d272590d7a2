-- Convicted buyers with the year of the offence (the year the purchase happened).
with

verdicts as (

    select * from {{ ref('stg_raw__verdicts') }}

),

final as (

    select
        case_key,
        source_file,
        source_row,
        cast(year(offence_date) as integer) as offence_year,
        offence_date,
        decision_date,
        buyer_age,
        home_municipality_code,
        purchase_municipality_code,
        contact_channel,
        is_completed
    from verdicts

)

select * from final

with

source as (

    select * from {{ source('raw', 'ad_snapshots') }}

),

renamed as (

    select
        cast(site as varchar) as site,
        cast(ad_id as varchar) as ad_id,
        cast(captured_at as timestamptz) as captured_at,
        cast(posted_at as timestamptz) as posted_at,
        cast(location_raw as varchar) as location_raw,
        cast(phone_key as varchar) as phone_key,
        cast(phone_status as varchar) as phone_status,
        cast(stated_age as smallint) as stated_age,
        cast(category as varchar) as category,
        cast(advertiser_gender as varchar) as advertiser_gender,
        cast(week_start as date) as week_start,
        cast(snapshot_file as varchar) as snapshot_file,
        cast(line_no as integer) as line_no

    from source

)

select * from renamed

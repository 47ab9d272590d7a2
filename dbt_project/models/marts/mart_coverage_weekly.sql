with

coverage as (

    select * from {{ ref('int_coverage_site_week') }}

),

final as (

    select
        site,
        week_start,
        iso_year,
        iso_week,
        snapshot_present,
        snapshot_files,
        n_rows as rows,
        quarantined_rows,
        unmapped_rows,
        out_of_county_rows,
        ambiguous_rows,
        unmapped_rows * 1.0 / nullif(n_rows, 0) as unmapped_share
    from coverage

)

select * from final

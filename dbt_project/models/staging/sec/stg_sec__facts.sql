with

source as (

    select * from {{ source('sec', 'sec_facts') }}

),

renamed as (

    select
        cast(cik as varchar(10)) as cik,
        cast(ticker as varchar(16)) as ticker,
        taxonomy,
        concept,
        unit,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        -- NULL for instant facts (no period_start)
        cast({{ dbt.datediff('period_start', 'period_end', 'day') }} as integer) as duration_days,
        cast(fy as integer) as fy,
        fp,
        form,
        cast(filed as date) as filed_date,
        frame,
        accn as accession_number,
        cast(value as {{ type_double() }}) as value,
        source as source_name,
        loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final

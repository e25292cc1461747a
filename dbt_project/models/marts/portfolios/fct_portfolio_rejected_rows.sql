{#- The app's list of transaction-file lines that were not loaded (private: schema <prefix>portfolios). -#}
with

rejected as (

    select * from {{ ref('stg_portfolios__rejected_transactions') }}

),

final as (

    select
        source_file,
        source_line,
        portfolio,
        field,
        reason,
        loaded_at

    from rejected

)

select * from final

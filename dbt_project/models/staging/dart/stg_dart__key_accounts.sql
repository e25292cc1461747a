with

source as (

    select * from {{ source('dart', 'dart_key_accounts') }}

),

renamed as (

    select
        cast(trim(stock_code) as varchar(16)) as ticker,
        cast(corp_code as varchar(8)) as corp_code,
        corp_name,
        market,
        cast(fiscal_year as integer) as fiscal_year,
        cast(period_end as date) as period_end,
        -- KRW amounts as doubles (exact below 2^53 KRW = 9,007 trillion): ratios divide them,
        -- and bigint / bigint is integer division on PostgreSQL
        cast(revenue as {{ type_double() }}) as revenue,
        cast(operating_income as {{ type_double() }}) as operating_income,
        cast(net_income as {{ type_double() }}) as net_income,
        cast(net_income_owners as {{ type_double() }}) as net_income_owners,
        cast(total_equity as {{ type_double() }}) as total_equity,
        cast(total_assets as {{ type_double() }}) as total_assets,
        cast(eps_basic as {{ type_double() }}) as eps_basic,
        fs_label,
        source_file,
        cast(source_line as bigint) as source_line,
        loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final

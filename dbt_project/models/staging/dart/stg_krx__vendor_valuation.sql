with

source as (

    select * from {{ source('krx', 'krx_vendor_valuation') }}

),

renamed as (

    select
        cast(trim(ticker) as varchar(16)) as ticker,
        cast(trade_date as date) as trade_date,
        company_name,
        cast(close as {{ type_double() }}) as close,
        cast(per as {{ type_double() }}) as per,
        cast(pbr as {{ type_double() }}) as pbr,
        cast(eps as {{ type_double() }}) as eps,
        cast(bps as {{ type_double() }}) as bps,
        cast(dps as {{ type_double() }}) as dps,
        -- KRX publishes the yield in percent (1.59 = 1.59 %): store a fraction
        cast(dividend_yield_pct as {{ type_double() }}) / 100 as dividend_yield,
        screen,
        source_file,
        loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final

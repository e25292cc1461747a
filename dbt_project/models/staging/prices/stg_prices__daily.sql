{#-
    Price bars: the traded sessions of raw.prices_daily, every market. Halt rows
    (is_halted: open = high = low = 0, volume 0; KRX's way of writing a
    suspended session) are no price bars and are left out here, so every
    indicator, return and screen is computed over traded sessions only; they
    are in stg_prices__halts.
-#}
with

source as (

    select * from {{ source('prices', 'prices_daily') }}
    where not is_halted

),

renamed as (

    select
        cast(trim(ticker) as varchar(16)) as ticker,
        cast(trade_date as date) as trade_date,
        cast(open as {{ type_double() }}) as open,
        cast(high as {{ type_double() }}) as high,
        cast(low as {{ type_double() }}) as low,
        cast(close as {{ type_double() }}) as close,
        cast(volume as bigint) as volume,
        cast(adj_close as {{ type_double() }}) as vendor_adjusted_close,
        cast(split_basis_date as date) as split_basis_date,
        source as source_name,
        loaded_at,
        cast(market as varchar(16)) as market

    from source

),

final as (

    select * from renamed

)

select * from final

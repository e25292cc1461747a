{#-
    Trading halts: the rows of raw.prices_daily flagged is_halted (open = high
    = low = 0, volume 0, close = the previous close as the KRX file writes a
    suspended session). Not price bars (stg_prices__daily leaves them out);
    the screener shows a ticker halted on its market's latest session.
-#}
with

source as (

    select * from {{ source('prices', 'prices_daily') }}
    where is_halted

),

final as (

    select
        cast(trim(ticker) as varchar(16)) as ticker,
        cast(market as varchar(16)) as market,
        cast(trade_date as date) as trade_date,
        cast(close as {{ type_double() }}) as last_close,
        source as source_name,
        loaded_at

    from source

)

select * from final

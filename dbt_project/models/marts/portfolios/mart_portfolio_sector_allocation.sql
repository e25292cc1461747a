{#-
    Sector weights of each portfolio on every session (open positions only):
    the market value of the sector's holdings over the portfolio's market
    value. Sectors are those of dim_companies (GICS sectors for US tickers, KSIC
    industries for KRX tickers).
-#}

{#- PostgreSQL: a portfolio's day (and the grain's uniqueness). -#}
{{ config(
    indexes=postgres_indexes([{'columns': ['portfolio', 'trade_date', 'sector'], 'unique': true}])
) }}

with

positions as (

    select * from {{ ref('fct_portfolio_positions_daily') }}
    where is_open

),

sectors as (

    select
        portfolio,
        trade_date,
        currency,
        sector,
        sum(market_value) as market_value,
        count(*) as holding_count

    from positions
    group by portfolio, trade_date, currency, sector

),

final as (

    select
        portfolio,
        trade_date,
        currency,
        sector,
        market_value,
        market_value / nullif(sum(market_value) over (partition by portfolio, trade_date), 0) as weight,
        holding_count

    from sectors

)

select * from final

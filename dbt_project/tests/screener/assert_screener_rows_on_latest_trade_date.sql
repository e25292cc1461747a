-- Every screener row sits on its ticker's latest trading day, and every
-- ticker of the universe has exactly one screener row.
with

screener as (

    select * from {{ ref('mart_screener_latest') }}

),

companies as (

    select * from {{ ref('dim_companies') }}

)

select
    companies.ticker,
    companies.last_trade_date,
    screener.trade_date as screener_trade_date,
    companies.trading_days,
    screener.bar_number
from companies
left join screener
    on companies.ticker = screener.ticker
where screener.ticker is null
    or screener.trade_date <> companies.last_trade_date
    or screener.bar_number <> companies.trading_days - 1

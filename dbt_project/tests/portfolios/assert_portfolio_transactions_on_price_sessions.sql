-- Every transaction is on a session with a price bar of its ticker: the daily
-- models value positions and book cash flows on those sessions (the ingest
-- validation guarantees it; this test catches a price reload that removed one).
with

transactions as (

    select * from {{ ref('stg_portfolios__transactions') }}

),

prices as (

    select ticker, trade_date from {{ ref('fct_daily_indicators') }}

)

select
    transactions.transaction_id,
    transactions.ticker,
    transactions.trade_date

from transactions
left join prices
    on transactions.ticker = prices.ticker
    and transactions.trade_date = prices.trade_date
where prices.ticker is null

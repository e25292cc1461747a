-- One currency per portfolio: every portfolio of the transactions has its row in
-- int_portfolio_benchmarks, in the currency of its market (dim_markets), and
-- every transaction is in its portfolio's currency and on a ticker of a market
-- of that currency (the ingest guarantees it; this catches a mixed portfolio).
with

transactions as (

    select * from {{ ref('stg_portfolios__transactions') }}

),

portfolios as (

    select * from {{ ref('int_portfolio_benchmarks') }}

),

companies as (

    select * from {{ ref('dim_companies') }}

),

markets as (

    select * from {{ ref('dim_markets') }}

)

select
    transactions.transaction_id,
    transactions.portfolio,
    transactions.ticker,
    transactions.currency as transaction_currency,
    portfolios.currency as portfolio_currency,
    ticker_markets.currency as ticker_currency,
    portfolio_markets.currency as portfolio_market_currency

from transactions
left join portfolios
    on transactions.portfolio = portfolios.portfolio
left join companies
    on transactions.ticker = companies.ticker
left join markets as ticker_markets
    on companies.market = ticker_markets.market
left join markets as portfolio_markets
    on portfolios.market = portfolio_markets.market
where portfolios.portfolio is null
    or transactions.currency <> portfolios.currency
    or ticker_markets.currency is null
    or ticker_markets.currency <> portfolios.currency
    or portfolio_markets.currency <> portfolios.currency

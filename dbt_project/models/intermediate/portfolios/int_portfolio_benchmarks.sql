{#-
    Each portfolio's currency, market and benchmark. A portfolio holds tickers of
    one currency (the ingest rejects a file that mixes currencies); its market is
    the market of its first transaction's ticker (by trade_date, then file line),
    and its benchmark is that market's (int_market_benchmarks).
-#}
with

transactions as (

    select * from {{ ref('stg_portfolios__transactions') }}

),

companies as (

    select * from {{ ref('dim_companies') }}

),

market_benchmarks as (

    select * from {{ ref('int_market_benchmarks') }}

),

first_transactions as (

    select
        portfolio,
        ticker,
        trade_date,
        currency

    from transactions
    where sequence_in_portfolio = 1

),

final as (

    select
        first_transactions.portfolio,
        first_transactions.currency,
        companies.market,
        market_benchmarks.benchmark_id,
        market_benchmarks.benchmark_source,
        first_transactions.ticker as first_ticker,
        first_transactions.trade_date as first_trade_date

    from first_transactions
    inner join companies
        on first_transactions.ticker = companies.ticker
    inner join market_benchmarks
        on companies.market = market_benchmarks.market

)

select * from final

{#-
    The split basis of each company's prices: the bundled file and Yahoo both
    deliver prices split-adjusted as of a date (`split_basis_date` of the
    price rows); after corporate-action adjustment every price of a ticker is
    on the basis of its latest such date. Per-share figures from filings are
    brought to this basis (int_sec_fact_versions). Companies without prices
    get no row: their figures are put on the basis of today (every known
    split applied).
-#}
with

tickers as (

    select * from {{ ref('stg_sec__company_tickers') }}

),

prices as (

    select ticker, max(trade_date) as split_basis_date
    from {{ ref('stg_raw__prices_daily') }}
    group by ticker

),

final as (

    select
        tickers.cik,
        max(prices.split_basis_date) as price_split_basis_date

    from tickers
    inner join prices on tickers.ticker = prices.ticker
    group by tickers.cik

)

select * from final

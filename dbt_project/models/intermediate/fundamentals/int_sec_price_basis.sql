{#-
    The split basis of each company's prices: the bundled file and Yahoo both
    deliver prices split-adjusted as of a date (`split_basis_date` of the
    price rows); after corporate-action adjustment (int_split_factors) every
    price of a ticker is on the basis of its latest such date or of its latest
    vendor split, whichever is later. Per-share figures from filings are
    brought to this basis (int_sec_fact_versions). Companies without prices
    get no row: their figures are put on the basis of today (every known
    split applied).
-#}
with

tickers as (

    select * from {{ ref('stg_sec__company_tickers') }}

),

prices as (

    select ticker, max(split_basis_date) as split_basis_date
    from {{ ref('stg_prices__daily') }}
    group by ticker

),

vendor_splits as (

    -- adjusted prices also include vendor splits after the rows' own basis
    select ticker, max(ex_date) as last_split_date
    from {{ ref('stg_prices__corporate_actions') }}
    where action_type = 'split'
    group by ticker

),

final as (

    select
        tickers.cik,
        max(case
            when vendor_splits.last_split_date > prices.split_basis_date then vendor_splits.last_split_date
            else prices.split_basis_date
        end) as price_split_basis_date

    from tickers
    inner join prices on tickers.ticker = prices.ticker
    left join vendor_splits on tickers.ticker = vendor_splits.ticker
    group by tickers.cik

)

select * from final

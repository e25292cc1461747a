{#-
    One row per ticker of the price history, every market. A ticker's market is
    the market of its latest price bar (stg_prices__daily.market). Name and
    sector come from the reference files of the ticker's market; tickers are
    unique across markets (US symbols are letters, KRX codes six characters
    with digits), so each ticker matches the files of one market only:

        US    constituents list, else the vendor financials snapshot (GICS sector)
        KRX   the KRX listing (Korean name, as of the prices' last day) and, by
              code, the KRX industry file (KSIC industry as the sector, listing date)

    A ticker found in none of them gets name and sector 'Unknown'.
-#}
with

prices as (

    select * from {{ ref('stg_prices__daily') }}

),

companies as (

    select * from {{ ref('stg_companies__constituents') }}

),

financials as (

    select * from {{ ref('stg_companies__financials') }}

),

krx_listing as (

    select * from {{ ref('stg_krx__listing') }}

),

krx_industry as (

    select * from {{ ref('stg_krx__industry') }}

),

price_history as (

    select
        ticker,
        min(trade_date) as first_trade_date,
        max(trade_date) as last_trade_date,
        count(*) as trading_days

    from prices
    group by ticker

),

-- the market of each ticker's latest bar ((ticker, trade_date) is unique)
latest_markets as (

    select
        prices.ticker,
        prices.market

    from prices
    inner join price_history
        on prices.ticker = price_history.ticker
        and prices.trade_date = price_history.last_trade_date

),

joined as (

    select
        price_history.ticker,
        coalesce(companies.company_name, financials.company_name, krx_listing.company_name, 'Unknown') as company_name,
        coalesce(
            companies.sector,
            financials.sector,
            case when krx_listing.ticker is not null then coalesce(krx_industry.industry, 'Unknown') end,
            'Unknown'
        ) as sector,
        case
            when companies.ticker is not null then 'constituents'
            when financials.ticker is not null then 'financials_snapshot'
            when krx_listing.ticker is not null then 'krx_listing'
            else 'unknown'
        end as company_attributes_source,
        companies.ticker is not null as in_constituents_list,
        price_history.first_trade_date,
        price_history.last_trade_date,
        price_history.trading_days,
        case when krx_listing.ticker is not null then krx_industry.listing_date end as listing_date,
        cast(latest_markets.market as varchar(16)) as market

    from price_history
    inner join latest_markets
        on price_history.ticker = latest_markets.ticker
    left join companies
        on price_history.ticker = companies.ticker
    left join financials
        on price_history.ticker = financials.ticker
    left join krx_listing
        on price_history.ticker = krx_listing.ticker
    left join krx_industry
        on price_history.ticker = krx_industry.ticker

),

final as (

    select
        ticker,
        company_name,
        sector,
        company_attributes_source,
        in_constituents_list,
        first_trade_date,
        last_trade_date,
        trading_days,
        market,
        listing_date

    from joined

)

select * from final

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

price_history as (

    select
        ticker,
        min(trade_date) as first_trade_date,
        max(trade_date) as last_trade_date,
        count(*) as trading_days

    from prices
    group by ticker

),

joined as (

    select
        price_history.ticker,
        coalesce(companies.company_name, financials.company_name, 'Unknown') as company_name,
        coalesce(companies.sector, financials.sector, 'Unknown') as sector,
        case
            when companies.ticker is not null then 'constituents'
            when financials.ticker is not null then 'financials_snapshot'
            else 'unknown'
        end as company_attributes_source,
        companies.ticker is not null as in_constituents_list,
        price_history.first_trade_date,
        price_history.last_trade_date,
        price_history.trading_days,
        -- raw.prices_daily holds one market's bars (the US price pipeline): its market is
        -- the var prices_daily_market, a row of the seed markets (tested: relationships)
        cast('{{ var("prices_daily_market") }}' as varchar(16)) as market

    from price_history
    left join companies
        on price_history.ticker = companies.ticker
    left join financials
        on price_history.ticker = financials.ticker

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
        market

    from joined

)

select * from final

{#-
    Daily valuation ratios from SEC filings, point in time: on trade date D a
    ratio uses only facts filed on or before D (the int_sec_fundamentals_asof
    row valid on D), with per-share figures on the split basis of the prices.
    Grain: one row per ticker and trade date, for tickers whose company has
    SEC facts. A ratio is NULL, with the reason, when an input is missing or
    the ratio is not meaningful (negative earnings or equity).
-#}
{{ config(
    indexes=postgres_indexes([{'columns': ['ticker', 'trade_date'], 'unique': true}])
) }}

with

prices as (

    -- split-adjusted, not dividend-adjusted: the price a per-share figure is compared with
    select ticker, trade_date, close * split_factor as close from {{ ref('fct_daily_indicators') }}

),

tickers as (

    select cik, ticker from {{ ref('stg_sec__company_tickers') }}

),

fundamentals as (

    select * from {{ ref('int_sec_fundamentals_asof') }}

),

joined as (

    select
        prices.ticker,
        prices.trade_date,
        tickers.cik,
        prices.close,
        fundamentals.knowledge_date,
        fundamentals.ttm_eps_diluted,
        fundamentals.ttm_eps_period_end,
        fundamentals.ttm_eps_has_derived_quarter,
        fundamentals.ttm_eps_fact_refs,
        fundamentals.ttm_net_income,
        fundamentals.ttm_net_income_fact_refs,
        fundamentals.ttm_revenue,
        fundamentals.prior_ttm_revenue,
        fundamentals.stockholders_equity,
        fundamentals.stockholders_equity_year_before,
        fundamentals.stockholders_equity_fact_ref,
        fundamentals.total_liabilities,
        fundamentals.shares_outstanding,
        fundamentals.shares_outstanding_fact_ref

    from prices
    inner join tickers on prices.ticker = tickers.ticker
    inner join fundamentals
        on fundamentals.cik = tickers.cik
        and fundamentals.knowledge_date <= prices.trade_date
        and (fundamentals.valid_to is null or fundamentals.valid_to > prices.trade_date)

),

ratios as (

    select
        *,
        close * shares_outstanding as market_cap,
        (stockholders_equity + stockholders_equity_year_before) / 2 as average_equity

    from joined

),

final as (

    select
        ticker,
        trade_date,
        cik,
        close,
        knowledge_date,
        ttm_eps_diluted,
        ttm_eps_period_end,
        ttm_eps_has_derived_quarter,
        case when ttm_eps_diluted > 0 then close / ttm_eps_diluted end as pe_ratio,
        case
            when ttm_eps_diluted is null then 'no contiguous TTM diluted EPS in filings'
            when ttm_eps_diluted <= 0 then 'TTM diluted EPS is not positive'
        end as pe_ratio_null_reason,
        shares_outstanding,
        market_cap,
        stockholders_equity,
        case when stockholders_equity > 0 then market_cap / stockholders_equity end as pb_ratio,
        case
            when shares_outstanding is null then 'no shares outstanding in filings'
            when stockholders_equity is null then 'no stockholders equity in filings'
            when stockholders_equity <= 0 then 'stockholders equity is not positive'
        end as pb_ratio_null_reason,
        ttm_net_income,
        average_equity,
        case when average_equity > 0 then ttm_net_income / average_equity end as roe,
        case
            when ttm_net_income is null then 'no contiguous TTM net income in filings'
            when average_equity is null then 'no equity a year before the latest balance sheet'
            when average_equity <= 0 then 'average equity is not positive'
        end as roe_null_reason,
        total_liabilities,
        case when stockholders_equity > 0 then total_liabilities / stockholders_equity end as debt_to_equity,
        ttm_revenue,
        case when ttm_revenue > 0 then ttm_net_income / ttm_revenue end as net_margin,
        case when prior_ttm_revenue > 0 then ttm_revenue / prior_ttm_revenue - 1 end as revenue_growth_yoy,
        ttm_eps_fact_refs,
        ttm_net_income_fact_refs,
        stockholders_equity_fact_ref,
        shares_outstanding_fact_ref

    from ratios

)

select * from final

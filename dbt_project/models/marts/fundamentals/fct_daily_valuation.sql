{#-
    Daily valuation ratios, point in time, from two fundamentals sources
    (fundamentals_source):
    - 'sec_companyfacts' (US): on trade date D a ratio uses only facts filed on or
      before D (the int_sec_fundamentals_asof row valid on D), with per-share figures
      on the split basis of the prices; USD.
    - 'dart_annual' (KOSPI/KOSDAQ): the DART fiscal year valid on D
      (int_dart_fundamentals_asof: known from period_end + 90 days); KRW.
    Grain: one row per ticker and trade date, for tickers whose company has SEC facts
    or DART accounts known on that date. A ratio is NULL, with the reason, when an
    input is missing or the ratio is not meaningful (negative earnings or equity).
    KRX's own published ratios are in fct_krx_vendor_valuation.
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

dart as (

    select * from {{ ref('int_dart_fundamentals_asof') }}

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

sec_valuation as (

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
        shares_outstanding_fact_ref,
        cast('sec_companyfacts' as varchar) as fundamentals_source,
        cast(null as varchar) as corp_code,
        cast(null as integer) as fiscal_year,
        cast(null as date) as fiscal_period_end,
        ttm_eps_diluted as eps,
        case when shares_outstanding > 0 then stockholders_equity / shares_outstanding end as bps

    from ratios

),

dart_joined as (

    select
        prices.ticker,
        prices.trade_date,
        prices.close,
        dart.corp_code,
        dart.fiscal_year,
        dart.period_end,
        dart.available_from,
        dart.revenue,
        dart.net_income_owners,
        dart.total_equity,
        dart.average_equity,
        dart.total_liabilities,
        dart.eps,
        dart.eps_null_reason,
        dart.shares_derived,
        dart.bps,
        dart.bps_null_reason,
        dart.roe,
        dart.roe_null_reason,
        dart.revenue_growth

    from prices
    inner join dart
        on prices.ticker = dart.ticker
        and dart.available_from <= prices.trade_date
        and (dart.valid_to is null or dart.valid_to > prices.trade_date)

),

dart_valuation as (

    select
        ticker,
        trade_date,
        cast(null as varchar) as cik,
        close,
        available_from as knowledge_date,
        cast(null as {{ type_double() }}) as ttm_eps_diluted,
        cast(null as date) as ttm_eps_period_end,
        cast(null as boolean) as ttm_eps_has_derived_quarter,
        case when eps > 0 then close / eps end as pe_ratio,
        case
            when eps is null then eps_null_reason
            when eps <= 0 then 'basic EPS is not positive'
        end as pe_ratio_null_reason,
        shares_derived as shares_outstanding,
        close * shares_derived as market_cap,
        total_equity as stockholders_equity,
        case when bps > 0 then close / bps end as pb_ratio,
        case
            when bps is null then bps_null_reason
            when bps <= 0 then 'book value per share is not positive'
        end as pb_ratio_null_reason,
        net_income_owners as ttm_net_income,
        average_equity,
        roe,
        roe_null_reason,
        total_liabilities,
        case when total_equity > 0 then total_liabilities / total_equity end as debt_to_equity,
        revenue as ttm_revenue,
        case when revenue > 0 then net_income_owners / revenue end as net_margin,
        revenue_growth as revenue_growth_yoy,
        cast(null as varchar) as ttm_eps_fact_refs,
        cast(null as varchar) as ttm_net_income_fact_refs,
        cast(null as varchar) as stockholders_equity_fact_ref,
        cast(null as varchar) as shares_outstanding_fact_ref,
        cast('dart_annual' as varchar) as fundamentals_source,
        corp_code,
        fiscal_year,
        period_end as fiscal_period_end,
        eps,
        bps

    from dart_joined

),

final as (

    select * from sec_valuation
    union all
    select * from dart_valuation

)

select * from final

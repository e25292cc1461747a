{#-
    The screener point in time: every column a screen filters or ranks on
    (the registry columns of mart_screener_latest, same names and units), for
    every bar of every ticker, computed only from what was known at that
    session's close. Backtests screen it on their signal sessions
    (domain/backtests); mart_screener_latest is the same screen on the latest
    bar.

    A view, not a table: it costs the build nothing, and a backtest reads the
    sessions it needs. Its relations are named without the database so the
    published snapshot's copy of the view reads the snapshot's own tables.

    Differences from mart_screener_latest, all for point-in-time honesty:
    - close is the adjusted close of the session (on a ticker's latest bar the
      two are equal), so the trend filters compare a price with moving
      averages on one basis across later splits;
    - fundamentals come from filings only (SEC, DART: fct_daily_valuation,
      known on the session by its availability rules); the vendor snapshot of
      the financials file is dated after every bundled session and is not
      used (dividend_yield is NULL, vendor ratios are KRX's own where valid);
    - a row is a traded bar, so a halted ticker has no row that session.
-#}

{{ config(materialized='view') }}

with

indicators as (

    select * from {{ ref('fct_daily_indicators').include(database=False) }}

),

companies as (

    select * from {{ ref('dim_companies').include(database=False) }}

),

markets as (

    select market, currency from {{ ref('dim_markets').include(database=False) }}

),

valuation as (

    select * from {{ ref('fct_daily_valuation').include(database=False) }}

),

krx_vendor as (

    select * from {{ ref('fct_krx_vendor_valuation').include(database=False) }}

),

news_daily as (

    select * from {{ ref('mart_news_daily').include(database=False) }}

),

windowed as (

    -- the same look-backs as mart_screener_latest, as windows over each ticker's bars:
    -- a golden cross on any of the last 20 bars (this one included), and the highest
    -- adjusted high of the 251 bars before this one
    select
        indicators.*,
        max(case when indicators.sma_50_crossed_above_sma_200 then 1 else 0 end) over recent_20 = 1
            as golden_cross_20d_window,
        max(indicators.adjusted_high) over prior_251 as prior_high_251

    from indicators
    window
        recent_20 as (partition by indicators.ticker order by indicators.bar_number
                      rows between 19 preceding and current row),
        prior_251 as (partition by indicators.ticker order by indicators.bar_number
                      rows between 251 preceding and 1 preceding)

),

news_7d as (

    -- news of the 7 calendar days ending on the bar's trade date, both ends included
    select
        bars.ticker,
        bars.trade_date,
        cast(sum(news_daily.article_count) as bigint) as news_count_7d,
        sum(news_daily.avg_sentiment * news_daily.article_count)
            / sum(news_daily.article_count) as news_sentiment_7d

    -- (the bars read again rather than through the CTE above, so that a reader's filters on
    -- ticker and trade_date reach this join)
    from {{ ref('fct_daily_indicators').include(database=False) }} as bars
    inner join news_daily
        on bars.ticker = news_daily.ticker
        and news_daily.news_date between bars.trade_date - 6 and bars.trade_date
    group by bars.ticker, bars.trade_date

),

final as (

    select
        windowed.ticker,
        companies.company_name,
        companies.sector,
        windowed.market,
        markets.currency,
        windowed.trade_date,
        windowed.bar_number,
        windowed.adjusted_close as close,
        windowed.volume,
        windowed.adjusted_open,
        windowed.adjusted_close,
        windowed.return_1d,
        windowed.return_5d,
        windowed.return_21d,
        windowed.return_63d,
        windowed.return_126d,
        windowed.return_252d,
        windowed.sma_20,
        windowed.sma_50,
        windowed.sma_200,
        windowed.ema_12,
        windowed.ema_26,
        windowed.macd,
        windowed.macd_signal,
        windowed.macd_hist,
        windowed.rsi_14,
        windowed.stoch_k,
        windowed.stoch_d,
        windowed.bb_upper,
        windowed.bb_middle,
        windowed.bb_lower,
        windowed.atr_14,
        windowed.high_52w,
        windowed.low_52w,
        windowed.avg_volume_20,
        windowed.relative_volume,
        {{ screener_price_flags('windowed', 'windowed.prior_high_251', 'windowed.golden_cross_20d_window') }},
        case when valuation.fundamentals_source = 'dart_annual' then 'dart_annual'
             when valuation.ticker is not null then 'sec_filings' end as valuation_source,
        valuation.market_cap,
        valuation.pe_ratio,
        valuation.pb_ratio,
        cast(null as {{ type_double() }}) as dividend_yield,
        valuation.eps,
        valuation.bps,
        valuation.knowledge_date as fundamentals_as_of_date,
        valuation.knowledge_date <= windowed.trade_date as fundamentals_known_on_trade_date,
        valuation.roe,
        valuation.debt_to_equity,
        valuation.net_margin,
        valuation.revenue_growth_yoy,
        krx_vendor.per as vendor_pe_ratio,
        krx_vendor.pbr as vendor_pb_ratio,
        krx_vendor.eps as vendor_eps,
        coalesce(news_7d.news_count_7d, 0) as news_count_7d,
        news_7d.news_sentiment_7d

    from windowed
    inner join companies
        on windowed.ticker = companies.ticker
    left join markets
        on windowed.market = markets.market
    left join valuation
        on windowed.ticker = valuation.ticker
        and windowed.trade_date = valuation.trade_date
    left join news_7d
        on windowed.ticker = news_7d.ticker
        and windowed.trade_date = news_7d.trade_date
    left join krx_vendor
        on windowed.ticker = krx_vendor.ticker
        and krx_vendor.trade_date <= windowed.trade_date
        and (krx_vendor.valid_to is null or krx_vendor.valid_to > windowed.trade_date)

)

select * from final

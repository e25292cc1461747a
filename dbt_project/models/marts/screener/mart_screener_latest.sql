{#- PostgreSQL: the screener's usual filters and sorts. -#}
{{ config(
    indexes=postgres_indexes([
        {'columns': ['ticker'], 'unique': true},
        {'columns': ['sector']},
        {'columns': ['market_cap']},
        {'columns': ['rsi_14']},
    ])
) }}

with

last_bar as (

    select
        ticker,
        max(bar_number) as bar_number

    from {{ ref('fct_daily_indicators') }}
    group by ticker

),

indicators as (

    -- the last 252 bars of each ticker: every flag below looks at most 251 bars back (a
    -- scan of two columns first, so the wide rows of the whole history are never joined:
    -- 26 s -> see the README's scale figures for 24 M rows)
    select fct.*

    from {{ ref('fct_daily_indicators') }} as fct
    inner join last_bar
        on fct.ticker = last_bar.ticker
        and fct.bar_number > last_bar.bar_number - 252

),

companies as (

    select * from {{ ref('dim_companies') }}

),

financials as (

    select * from {{ ref('stg_companies__financials') }}

),

news_daily as (

    select * from {{ ref('mart_news_daily') }}

),

valuation as (

    select * from {{ ref('fct_daily_valuation') }}

),

markets as (

    select market, currency from {{ ref('markets') }}

),

krx_vendor as (

    -- KRX's own ratios (recorded portal responses), valid from their date to the next one's
    select * from {{ ref('fct_krx_vendor_valuation') }}

),

recent_crosses as (

    -- golden cross on any of the last 20 trading days (bars), today included
    select
        indicators.ticker,
        max(
            case when indicators.sma_50_crossed_above_sma_200 then 1 else 0 end
        ) = 1 as golden_cross_20d

    from indicators
    inner join last_bar
        on indicators.ticker = last_bar.ticker
        and indicators.bar_number > last_bar.bar_number - 20
    group by indicators.ticker

),

latest as (

    select indicators.*
    from indicators
    inner join last_bar
        on indicators.ticker = last_bar.ticker
        and indicators.bar_number = last_bar.bar_number

),

halts as (

    -- halt rows after a ticker's last traded bar: the ticker is halted on its market's latest
    -- session(s) (halts are no bars, so the screener's prices are those of the last traded bar)
    select
        halts.ticker,
        min(halts.trade_date) as halted_since

    from {{ ref('stg_prices__halts') }} as halts
    inner join latest
        on halts.ticker = latest.ticker
        and halts.trade_date > latest.trade_date
    group by halts.ticker

),

prior_high as (

    -- highest adjusted high of the 251 bars before the latest one (the rest of its
    -- 252-bar window): a new 52-week high must exceed it
    select
        indicators.ticker,
        max(indicators.adjusted_high) as prior_high_251

    from indicators
    inner join last_bar
        on indicators.ticker = last_bar.ticker
        and indicators.bar_number between last_bar.bar_number - 251 and last_bar.bar_number - 1
    group by indicators.ticker

),

news_7d as (

    -- news of the 7 calendar days ending on the ticker's latest trade date, both ends
    -- included (news_date is the UTC date of publication)
    select
        latest.ticker,
        cast(sum(news_daily.article_count) as bigint) as news_count_7d,
        sum(news_daily.avg_sentiment * news_daily.article_count)
            / sum(news_daily.article_count) as news_sentiment_7d

    from latest
    inner join news_daily
        on latest.ticker = news_daily.ticker
        and news_daily.news_date between latest.trade_date - 6 and latest.trade_date
    group by latest.ticker

),

final as (

    select
        latest.ticker,
        companies.company_name,
        companies.sector,
        latest.trade_date,
        latest.bar_number,
        latest.open,
        latest.high,
        latest.low,
        latest.close,
        latest.volume,
        latest.adjusted_open,
        latest.adjusted_high,
        latest.adjusted_low,
        latest.adjusted_close,
        latest.adjusted_volume,
        latest.split_factor,
        latest.dividend_factor,
        latest.return_1d,
        latest.return_5d,
        latest.return_21d,
        latest.return_63d,
        latest.return_126d,
        latest.return_252d,
        latest.sma_20,
        latest.sma_50,
        latest.sma_200,
        latest.ema_12,
        latest.ema_26,
        latest.macd,
        latest.macd_signal,
        latest.macd_hist,
        latest.rsi_14,
        latest.rsi_14_no_movement,
        latest.stoch_k,
        latest.stoch_d,
        latest.bb_upper,
        latest.bb_middle,
        latest.bb_lower,
        latest.atr_14,
        latest.high_52w,
        latest.low_52w,
        latest.avg_volume_20,
        latest.relative_volume,
        latest.sma_50_crossed_above_sma_200,
        {{ screener_price_flags('latest', 'prior_high.prior_high_251', 'recent_crosses.golden_cross_20d') }},
        -- ratios computed from SEC filings (point in time, on this trade date) where the
        -- company has filings, else the vendor snapshot of the financials file
        case when valuation.fundamentals_source = 'dart_annual' then 'dart_annual'
             when valuation.ticker is not null then 'sec_filings'
             when financials.ticker is not null then 'vendor_snapshot' end as valuation_source,
        case when valuation.ticker is not null then valuation.market_cap
             else financials.market_cap end as market_cap,
        case when valuation.ticker is not null then valuation.pe_ratio
             else financials.pe_ratio end as pe_ratio,
        case when valuation.ticker is not null then valuation.pb_ratio
             else financials.pb_ratio end as pb_ratio,
        financials.dividend_yield,
        case when valuation.ticker is not null then valuation.eps
             else financials.eps end as eps,
        case when valuation.ticker is not null then valuation.knowledge_date
             else financials.as_of_date end as fundamentals_as_of_date,
        case when valuation.ticker is not null then valuation.knowledge_date
             else financials.as_of_date end <= latest.trade_date as fundamentals_known_on_trade_date,
        valuation.roe,
        valuation.debt_to_equity,
        valuation.net_margin,
        valuation.revenue_growth_yoy,
        financials.market_cap as vendor_market_cap,
        case when krx_vendor.ticker is not null then krx_vendor.per else financials.pe_ratio end as vendor_pe_ratio,
        case when krx_vendor.ticker is not null then krx_vendor.pbr else financials.pb_ratio end as vendor_pb_ratio,
        case when krx_vendor.ticker is not null then krx_vendor.eps else financials.eps end as vendor_eps,
        coalesce(news_7d.news_count_7d, 0) as news_count_7d,
        news_7d.news_sentiment_7d,
        latest.market,
        markets.currency,
        halts.halted_since is not null as is_halted,
        halts.halted_since,
        valuation.bps,
        valuation.fiscal_year as fundamentals_fiscal_year,
        case when krx_vendor.ticker is not null then 'krx_vendor'
             when financials.ticker is not null then 'vendor_snapshot' end as vendor_source,
        case when krx_vendor.ticker is not null then krx_vendor.trade_date
             else financials.as_of_date end as vendor_ratio_date

    from latest
    inner join companies
        on latest.ticker = companies.ticker
    inner join recent_crosses
        on latest.ticker = recent_crosses.ticker
    left join financials
        on latest.ticker = financials.ticker
    left join news_7d
        on latest.ticker = news_7d.ticker
    left join valuation
        on latest.ticker = valuation.ticker
        and latest.trade_date = valuation.trade_date
    left join prior_high
        on latest.ticker = prior_high.ticker
    left join markets
        on latest.market = markets.market
    left join halts
        on latest.ticker = halts.ticker
    left join krx_vendor
        on latest.ticker = krx_vendor.ticker
        and krx_vendor.trade_date <= latest.trade_date
        and (krx_vendor.valid_to is null or krx_vendor.valid_to > latest.trade_date)

)

select * from final

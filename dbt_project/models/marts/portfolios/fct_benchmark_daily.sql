{#-
    Daily returns of the portfolio benchmarks, each within the universe of one
    currency (`currency`: USD = the US market, KRW = KOSPI and KOSDAQ), whose
    sessions are the trade dates of that universe's price bars.

    EQUAL_WEIGHT (one per currency with prices): the equal-weighted index of
    the currency's universe, rebalanced daily, from adjusted closes
    (fct_daily_indicators.adjusted_close: split-adjusted, and dividend-adjusted
    only where dividends are known in raw.corporate_actions, none in the
    bundled build, so these are price indices there): on session t the mean,
    over the tickers with an adjusted close on t AND on the previous session of
    the universe, of adjusted_close_t / adjusted_close_{t-1} - 1. A ticker
    missing on a session (a gap, or a KRX halt) counts neither on that session
    nor on the next (its move over the gap is left out); constituent_count says
    how many tickers each day averages.

    An index (KS11, KQ11, KS200; every index of fct_index_daily, in the currency
    of its market): its daily_return, close / previous close - 1 (a price
    index, as published).

    A ticker (PORTFOLIO_BENCHMARK=MSFT): its adjusted_close / its previous
    bar's adjusted_close - 1 (over a gap in its history the return of the
    whole gap is on the day it trades again, so its index_level is exactly
    the ratio of adjusted closes). Only built when configured; an unknown
    benchmark stops the build with a compile error.

    is_portfolio_benchmark marks the (benchmark_id, currency) some market's
    portfolios are measured against (int_market_benchmarks).
-#}

{#- PostgreSQL: one benchmark's days (and the grain's uniqueness). -#}
{{ config(
    indexes=postgres_indexes([{'columns': ['benchmark_id', 'currency', 'trade_date'], 'unique': true}])
) }}

{%- set configured = portfolio_benchmark_id() -%}
{%- do portfolio_assert_benchmark_known(ref('dim_companies'), ref('fct_index_daily')) -%}

with

markets as (

    select * from {{ ref('dim_markets') }}

),

prices as (

    select
        indicators.ticker,
        indicators.trade_date,
        indicators.adjusted_close,
        markets.currency

    from {{ ref('fct_daily_indicators') }} as indicators
    inner join markets
        on indicators.market = markets.market

),

indices as (

    select * from {{ ref('fct_index_daily') }}

),

market_benchmarks as (

    select * from {{ ref('int_market_benchmarks') }}

),

sessions as (

    select
        currency,
        trade_date,
        row_number() over (partition by currency order by trade_date) as session_number

    from (select distinct currency, trade_date from prices) as distinct_sessions

),

ticker_returns as (

    select
        prices.ticker,
        prices.currency,
        prices.trade_date,
        sessions.session_number,
        prices.adjusted_close / nullif(lag(prices.adjusted_close) over ticker_bars, 0) - 1 as return_since_previous_bar,
        lag(sessions.session_number) over ticker_bars as previous_bar_session_number

    from prices
    inner join sessions
        on prices.currency = sessions.currency
        and prices.trade_date = sessions.trade_date
    window ticker_bars as (partition by prices.ticker order by prices.trade_date)

),

equal_weight as (

    select
        'EQUAL_WEIGHT' as benchmark_id,
        currency,
        'equal_weight' as benchmark_kind,
        trade_date,
        avg(
            case when previous_bar_session_number = session_number - 1 then return_since_previous_bar end
        ) as daily_return,
        count(
            case when previous_bar_session_number = session_number - 1 then return_since_previous_bar end
        ) as constituent_count

    from ticker_returns
    group by currency, trade_date

),

index_benchmarks as (

    select
        indices.index_code as benchmark_id,
        markets.currency,
        'index' as benchmark_kind,
        indices.trade_date,
        indices.daily_return,
        case when indices.daily_return is null then 0 else 1 end as constituent_count

    from indices
    inner join markets
        on indices.market = markets.market

),

{%- if configured not in ('', 'EQUAL_WEIGHT') %}

ticker_benchmark as (

    select
        ticker as benchmark_id,
        currency,
        'ticker' as benchmark_kind,
        trade_date,
        return_since_previous_bar as daily_return,
        case when return_since_previous_bar is null then 0 else 1 end as constituent_count

    from ticker_returns
    where ticker = '{{ configured }}'

),

{%- endif %}

benchmarks as (

    select * from equal_weight
    union all
    select * from index_benchmarks
    {%- if configured not in ('', 'EQUAL_WEIGHT') %}
    union all
    select * from ticker_benchmark
    {%- endif %}

),

levels as (

    select
        benchmarks.*,
        exp(sum(coalesce(ln(1 + daily_return), 0)) over (
            partition by benchmark_id, currency
            order by trade_date
            rows between unbounded preceding and current row
        )) as index_level

    from benchmarks

),

selected as (

    select distinct
        benchmark_id,
        currency

    from market_benchmarks

),

final as (

    select
        cast(levels.benchmark_id as varchar) as benchmark_id,
        cast(levels.currency as varchar(3)) as currency,
        levels.trade_date,
        cast(levels.benchmark_kind as varchar) as benchmark_kind,
        selected.benchmark_id is not null as is_portfolio_benchmark,
        levels.daily_return,
        levels.constituent_count,
        levels.index_level,
        levels.index_level - 1 as cumulative_return

    from levels
    left join selected
        on levels.benchmark_id = selected.benchmark_id
        and levels.currency = selected.currency

)

select * from final

{#-
    Daily returns of the portfolio benchmarks, from adjusted closes
    (fct_daily_indicators.adjusted_close: split-adjusted, and dividend-adjusted
    only where dividends are known in raw.corporate_actions, none in the
    bundled build, so these are price indices there).

    EQUAL_WEIGHT: the equal-weighted index of the whole universe, rebalanced
    daily: on session t the mean, over the tickers with an adjusted close on t
    AND on the previous session of the price calendar, of
    adjusted_close_t / adjusted_close_{t-1} - 1. A ticker missing on a session
    counts neither on that session nor on the next (its move over the gap is
    left out); constituent_count says how many tickers each day averages.

    A ticker (PORTFOLIO_BENCHMARK=MSFT): its adjusted_close / its previous
    bar's adjusted_close - 1 (over a gap in its history the return of the
    whole gap is on the day it trades again, so its index_level is exactly
    the ratio of adjusted closes). Only built when configured; an unknown
    ticker stops the build with a compile error.
-#}

{#- PostgreSQL: one benchmark's days (and the grain's uniqueness). -#}
{{ config(
    indexes=postgres_indexes([{'columns': ['benchmark_id', 'trade_date'], 'unique': true}])
) }}

{%- set benchmark_id = portfolio_benchmark_id() -%}
{%- do portfolio_assert_benchmark_known(ref('dim_companies')) -%}

with

prices as (

    select
        ticker,
        trade_date,
        adjusted_close

    from {{ ref('fct_daily_indicators') }}

),

sessions as (

    select
        trade_date,
        row_number() over (order by trade_date) as session_number

    from (select distinct trade_date from prices) as distinct_sessions

),

ticker_returns as (

    select
        prices.ticker,
        prices.trade_date,
        sessions.session_number,
        prices.adjusted_close / nullif(lag(prices.adjusted_close) over ticker_bars, 0) - 1 as return_since_previous_bar,
        lag(sessions.session_number) over ticker_bars as previous_bar_session_number

    from prices
    inner join sessions
        on prices.trade_date = sessions.trade_date
    window ticker_bars as (partition by prices.ticker order by prices.trade_date)

),

equal_weight as (

    select
        'EQUAL_WEIGHT' as benchmark_id,
        trade_date,
        avg(
            case when previous_bar_session_number = session_number - 1 then return_since_previous_bar end
        ) as daily_return,
        count(
            case when previous_bar_session_number = session_number - 1 then return_since_previous_bar end
        ) as constituent_count

    from ticker_returns
    group by trade_date

),

{%- if benchmark_id != 'EQUAL_WEIGHT' %}

ticker_benchmark as (

    select
        ticker as benchmark_id,
        trade_date,
        return_since_previous_bar as daily_return,
        case when return_since_previous_bar is null then 0 else 1 end as constituent_count

    from ticker_returns
    where ticker = '{{ benchmark_id }}'

),

{%- endif %}

benchmarks as (

    select * from equal_weight
    {%- if benchmark_id != 'EQUAL_WEIGHT' %}
    union all
    select * from ticker_benchmark
    {%- endif %}

),

levels as (

    select
        benchmarks.*,
        exp(sum(coalesce(ln(1 + daily_return), 0)) over (
            partition by benchmark_id
            order by trade_date
            rows between unbounded preceding and current row
        )) as index_level

    from benchmarks

),

final as (

    select
        cast(benchmark_id as varchar) as benchmark_id,
        trade_date,
        cast(case when benchmark_id = 'EQUAL_WEIGHT' then 'equal_weight' else 'ticker' end as varchar) as benchmark_kind,
        benchmark_id = '{{ benchmark_id }}' as is_portfolio_benchmark,
        daily_return,
        constituent_count,
        index_level,
        index_level - 1 as cumulative_return

    from levels

)

select * from final

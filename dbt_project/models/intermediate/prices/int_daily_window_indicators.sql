{#-
    Indicators that are plain functions of a fixed trailing window of bars.
    Every window is a ROWS frame over bar_number (trading days), never a RANGE
    over dates. A SQL window near the start of a ticker's history holds fewer
    rows than asked for and would still return a value, so each result is
    NULLed while bar_number < n - 1 (TA-Lib warm-up).

    The long windows (SMA, 52-week high/low, average volume) come from the
    trailing_window_aggregates macro: a plain ROWS frame on DuckDB, a
    block decomposition on PostgreSQL (same values, see the macro).

    Stochastic = TA-Lib STOCH(high, low, close, fastk 14, slowk 3 SMA,
    slowd 3 SMA): fast %K from the 14-bar highest high and lowest low (bar
    13 on), slow %K = SMA(3) of fast %K, slow %D = SMA(3) of slow %K.
    TA-Lib starts BOTH outputs on bar 17 (lookback 13 + 2 + 2), so stoch_k
    is NULLed on bars 15 and 16 although it is computable there.
    Measured on PostgreSQL (619k bars): the 14-bar high/low is a plain ROWS
    frame on both databases, since re-aggregating 14 rows per bar costs less
    than the macro's two extra sorts (~0.6 s); and both SMAs are sums of the
    fast %K of the last five bars (lag) in the pass that also reads the
    previous SMAs, where two more window levels (an avg over 3 rows of an avg
    over 3 rows) cost ~1 s more.

    Incremental daily path: int_prices_daily_numbered holds the changed bars
    of each rebuilt ticker plus 260 bars of context before them (is_context),
    so every window sees the same bars as in a full build; only the changed
    bars are output (the whole history on a first build).
-#}

{{ config(materialized='ephemeral') }}

{%- set trailing_aggregates = [
    {'name': 'sma_20', 'function': 'avg', 'expression': 'close', 'rows': 20},
    {'name': 'sma_50', 'function': 'avg', 'expression': 'close', 'rows': 50},
    {'name': 'sma_200', 'function': 'avg', 'expression': 'close', 'rows': 200},
    {'name': 'high_52w', 'function': 'max', 'expression': 'high', 'rows': 252},
    {'name': 'low_52w', 'function': 'min', 'expression': 'low', 'rows': 252},
    {'name': 'avg_volume_20', 'function': 'avg', 'expression': 'cast(volume as ' ~ type_double() ~ ')', 'rows': 20},
] -%}

with

prices as (

    select * from {{ ref('int_prices_daily_numbered') }}

),

trailing_windows as (

    {{ trailing_window_aggregates('prices', 'ticker', 'bar_number', trailing_aggregates) }}

),

windowed as (

    select
        ticker,
        trade_date,
        bar_number,
        open,
        high,
        low,
        close,
        volume,
        is_context,

        sma_20,
        sma_50,
        sma_200,
        case when bar_number >= 19 then stddev_pop(close) over w20 end as stddev_pop_20,
        high_52w,
        low_52w,
        avg_volume_20,
        case when bar_number >= 13 then max(high) over w14 end as stoch_highest_high_14,
        case when bar_number >= 13 then min(low) over w14 end as stoch_lowest_low_14,

        close / nullif(lag(close, 1) over w_all, 0) - 1 as return_1d,
        close / nullif(lag(close, 5) over w_all, 0) - 1 as return_5d,
        close / nullif(lag(close, 21) over w_all, 0) - 1 as return_21d,
        close / nullif(lag(close, 63) over w_all, 0) - 1 as return_63d,
        close / nullif(lag(close, 126) over w_all, 0) - 1 as return_126d,
        close / nullif(lag(close, 252) over w_all, 0) - 1 as return_252d

    from trailing_windows

    window
        w_all as (partition by ticker order by bar_number),
        w20 as (partition by ticker order by bar_number rows between 19 preceding and current row),
        w14 as (partition by ticker order by bar_number rows between 13 preceding and current row)

),

stochastic_fast_k as (

    select
        *,
        -- TA-Lib's fast %K, to the operation: (close - lowest) / ((highest - lowest) / 100),
        -- and 0 when the 14 bars have one price (highest = lowest; TA-Lib returns 0 there)
        case
            when stoch_highest_high_14 = stoch_lowest_low_14 then 0
            else (close - stoch_lowest_low_14) / ((stoch_highest_high_14 - stoch_lowest_low_14) / 100)
        end as stoch_fast_k

    from windowed

),

with_previous_bars as (

    select
        *,
        lag(sma_50) over w_all as prev_sma_50,
        lag(sma_200) over w_all as prev_sma_200,
        -- the fast %K of the four bars before: slow %K and %D need five in all
        lag(stoch_fast_k, 1) over w_all as stoch_fast_k_lag_1,
        lag(stoch_fast_k, 2) over w_all as stoch_fast_k_lag_2,
        lag(stoch_fast_k, 3) over w_all as stoch_fast_k_lag_3,
        lag(stoch_fast_k, 4) over w_all as stoch_fast_k_lag_4

    from stochastic_fast_k

    window w_all as (partition by ticker order by bar_number)

),

stochastic as (

    select
        *,
        -- slow %K = SMA(3) of fast %K, on this bar and the two before (summed
        -- oldest first, as TA-Lib's SMA starts its running sum)
        (stoch_fast_k_lag_2 + stoch_fast_k_lag_1 + stoch_fast_k) / 3 as stoch_slow_k,
        (stoch_fast_k_lag_3 + stoch_fast_k_lag_2 + stoch_fast_k_lag_1) / 3 as stoch_slow_k_lag_1,
        (stoch_fast_k_lag_4 + stoch_fast_k_lag_3 + stoch_fast_k_lag_2) / 3 as stoch_slow_k_lag_2

    from with_previous_bars

),

final as (

    select
        ticker,
        trade_date,
        bar_number,
        open,
        high,
        low,
        close,
        volume,
        return_1d,
        return_5d,
        return_21d,
        return_63d,
        return_126d,
        return_252d,
        sma_20,
        sma_50,
        sma_200,
        sma_20 + 2 * stddev_pop_20 as bb_upper,
        sma_20 as bb_middle,
        sma_20 - 2 * stddev_pop_20 as bb_lower,
        high_52w,
        low_52w,
        avg_volume_20,
        volume / nullif(avg_volume_20, 0) as relative_volume,
        -- TA-Lib starts both on bar 17 (slow %K would exist from bar 15)
        case when bar_number >= 17 then stoch_slow_k end as stoch_k,
        -- slow %D = SMA(3) of slow %K
        case
            when bar_number >= 17 then (stoch_slow_k_lag_2 + stoch_slow_k_lag_1 + stoch_slow_k) / 3
        end as stoch_d,
        coalesce(
            sma_50 > sma_200 and prev_sma_50 <= prev_sma_200,
            false
        ) as sma_50_crossed_above_sma_200

    from stochastic
    -- the context bars before a ticker's first changed bar are only read
    where not is_context

)

select * from final

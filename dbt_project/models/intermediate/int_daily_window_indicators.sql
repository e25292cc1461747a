{#-
    Indicators that are plain functions of a fixed trailing window of bars.
    Every window is a ROWS frame over bar_number (trading days), never a RANGE
    over dates. A SQL window near the start of a ticker's history holds fewer
    rows than asked for and would still return a value, so each result is
    NULLed while bar_number < n - 1 (TA-Lib warm-up).

    The long windows (SMA, 52-week high/low, average volume) come from the
    trailing_window_aggregates macro: a plain ROWS frame on DuckDB, a
    block decomposition on PostgreSQL (same values, see the macro).
-#}

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

        sma_20,
        sma_50,
        sma_200,
        case when bar_number >= 19 then stddev_pop(close) over w20 end as stddev_pop_20,
        high_52w,
        low_52w,
        avg_volume_20,

        close / nullif(lag(close, 1) over w_all, 0) - 1 as return_1d,
        close / nullif(lag(close, 5) over w_all, 0) - 1 as return_5d,
        close / nullif(lag(close, 21) over w_all, 0) - 1 as return_21d,
        close / nullif(lag(close, 63) over w_all, 0) - 1 as return_63d,
        close / nullif(lag(close, 126) over w_all, 0) - 1 as return_126d,
        close / nullif(lag(close, 252) over w_all, 0) - 1 as return_252d

    from trailing_windows

    window
        w_all as (partition by ticker order by bar_number),
        w20 as (partition by ticker order by bar_number rows between 19 preceding and current row)

),

with_previous_bar as (

    select
        *,
        lag(sma_50) over (partition by ticker order by bar_number) as prev_sma_50,
        lag(sma_200) over (partition by ticker order by bar_number) as prev_sma_200

    from windowed

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
        coalesce(
            sma_50 > sma_200 and prev_sma_50 <= prev_sma_200,
            false
        ) as sma_50_crossed_above_sma_200

    from with_previous_bar

)

select * from final

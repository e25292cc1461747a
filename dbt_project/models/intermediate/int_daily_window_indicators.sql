{#-
    Indicators that are plain functions of a fixed trailing window of bars.
    Every window is a ROWS frame over bar_number (trading days), never a RANGE
    over dates. A SQL window near the start of a ticker's history holds fewer
    rows than asked for and would still return a value, so each result is
    NULLed while bar_number < n - 1 (TA-Lib warm-up).
-#}

with

prices as (

    select * from {{ ref('int_prices_daily_numbered') }}

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

        case when bar_number >= 19 then avg(close) over w20 end as sma_20,
        case when bar_number >= 49 then avg(close) over w50 end as sma_50,
        case when bar_number >= 199 then avg(close) over w200 end as sma_200,
        case when bar_number >= 19 then stddev_pop(close) over w20 end as stddev_pop_20,
        case when bar_number >= 251 then max(high) over w252 end as high_52w,
        case when bar_number >= 251 then min(low) over w252 end as low_52w,
        case
            when bar_number >= 19 then avg(cast(volume as {{ type_double() }})) over w20
        end as avg_volume_20,

        close / nullif(lag(close, 1) over w_all, 0) - 1 as return_1d,
        close / nullif(lag(close, 5) over w_all, 0) - 1 as return_5d,
        close / nullif(lag(close, 21) over w_all, 0) - 1 as return_21d,
        close / nullif(lag(close, 63) over w_all, 0) - 1 as return_63d,
        close / nullif(lag(close, 126) over w_all, 0) - 1 as return_126d,
        close / nullif(lag(close, 252) over w_all, 0) - 1 as return_252d

    from prices

    window
        w_all as (partition by ticker order by bar_number),
        w20 as (partition by ticker order by bar_number rows between 19 preceding and current row),
        w50 as (partition by ticker order by bar_number rows between 49 preceding and current row),
        w200 as (partition by ticker order by bar_number rows between 199 preceding and current row),
        w252 as (partition by ticker order by bar_number rows between 251 preceding and current row)

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

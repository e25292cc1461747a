{#-
    Incremental (the daily path, see macros/incremental_prices.sql): each
    ticker of int_price_rebuild_starts loses its rows from its first changed
    bar on and gets them recomputed; every other row stays as stored. On a
    first build (or --full-refresh) every row is built.

    computed_at stamps every row with this dbt run's start: the DuckDB
    snapshot publish syncs the rows stamped since its last publish
    (domain/warehouse/snapshot_sync.py) instead of copying the table.

    PostgreSQL: BI and app lookups of one ticker's history (and the grain's uniqueness).
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ delete_rebuilt_price_rows() }}",
    indexes=postgres_indexes([{'columns': ['ticker', 'trade_date'], 'unique': true}])
) }}

with

starts as (

    select * from {{ ref('int_price_rebuild_starts') }}

),

prices as (

    select adjusted.*

    from {{ ref('int_prices_daily_adjusted') }} as adjusted
    inner join starts
        on adjusted.ticker = starts.ticker
        and adjusted.trade_date >= starts.rebuild_from

),

window_indicators as (

    -- only the changed bars of this run
    select * from {{ ref('int_daily_window_indicators') }}

),

recursive_indicators as (

    select recursive_indicators.*

    from {{ ref('int_daily_recursive_indicators') }} as recursive_indicators
    inner join starts
        on recursive_indicators.ticker = starts.ticker
        and recursive_indicators.trade_date >= starts.rebuild_from

),

joined as (

    select
        w.ticker,
        w.trade_date,
        w.bar_number,
        p.open,
        p.high,
        p.low,
        p.close,
        p.volume,
        p.adjusted_open,
        p.adjusted_high,
        p.adjusted_low,
        p.adjusted_close,
        p.adjusted_volume,
        p.split_factor,
        p.dividend_factor,
        w.return_1d,
        w.return_5d,
        w.return_21d,
        w.return_63d,
        w.return_126d,
        w.return_252d,
        w.sma_20,
        w.sma_50,
        w.sma_200,
        r.ema_12,
        r.ema_26,
        r.macd,
        r.macd_signal,
        r.macd_hist,
        r.rsi_14,
        r.rsi_14_no_movement,
        w.stoch_k,
        w.stoch_d,
        w.bb_upper,
        w.bb_middle,
        w.bb_lower,
        r.atr_14,
        w.high_52w,
        w.low_52w,
        w.avg_volume_20,
        w.relative_volume,
        w.sma_50_crossed_above_sma_200,
        {{ dbt_run_timestamp() }} as computed_at,
        p.market

    from window_indicators as w
    inner join prices as p
        on w.ticker = p.ticker
        and w.trade_date = p.trade_date
    left join recursive_indicators as r
        on w.ticker = r.ticker
        and w.bar_number = r.bar_number

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
        adjusted_open,
        adjusted_high,
        adjusted_low,
        adjusted_close,
        adjusted_volume,
        split_factor,
        dividend_factor,
        return_1d,
        return_5d,
        return_21d,
        return_63d,
        return_126d,
        return_252d,
        sma_20,
        sma_50,
        sma_200,
        ema_12,
        ema_26,
        macd,
        macd_signal,
        macd_hist,
        rsi_14,
        rsi_14_no_movement,
        stoch_k,
        stoch_d,
        bb_upper,
        bb_middle,
        bb_lower,
        atr_14,
        high_52w,
        low_52w,
        avg_volume_20,
        relative_volume,
        sma_50_crossed_above_sma_200,
        computed_at,
        market

    from joined

)

select * from final

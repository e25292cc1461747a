{#-
    PostgreSQL: the recursive indicator model looks bars up by (ticker,
    bar_number) once per iteration, so index them there. DuckDB needs no index
    (its hash join is fast, and an ART index would only slow the build).
-#}
{{ config(
    indexes=postgres_indexes([{'columns': ['ticker', 'bar_number'], 'unique': true}])
) }}

with

prices as (

    -- the bars every indicator is computed on: adjusted for splits and
    -- dividends (equal to the loaded prices when there are no corporate actions)
    select
        ticker,
        trade_date,
        adjusted_open as open,
        adjusted_high as high,
        adjusted_low as low,
        adjusted_close as close,
        adjusted_volume as volume

    from {{ ref('int_prices_daily_adjusted') }}

),

numbered as (

    select
        ticker,
        trade_date,
        open,
        high,
        low,
        close,
        volume,
        row_number() over (partition by ticker order by trade_date) - 1 as bar_number,
        lag(close) over (partition by ticker order by trade_date) as prev_close

    from prices

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
        prev_close,
        close - prev_close as close_change,
        case
            when close >= prev_close then close - prev_close
            when close < prev_close then 0
        end as gain,
        case
            when close < prev_close then prev_close - close
            when close >= prev_close then 0
        end as loss,
        case
            when prev_close is not null then greatest(
                high - low,
                abs(high - prev_close),
                abs(low - prev_close)
            )
        end as true_range

    from numbered

)

select * from final

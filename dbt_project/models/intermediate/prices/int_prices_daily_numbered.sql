{#-
    The bars the indicator models compute on in this run, numbered per ticker
    (bar_number: trading days since the ticker's first bar): for each ticker of
    int_price_rebuild_starts its bars from the first changed one on, plus up to
    260 bars of context before it (is_context) that the trailing windows read
    and no model outputs. On a first build: every bar. A work table: a daily
    run holds one session's bars and their context.

    PostgreSQL: the recursive indicator model looks bars up by (ticker,
    bar_number) once per iteration, so index them there. DuckDB needs no index
    (its hash join is fast, and an ART index would only slow the build).
-#}
{{ config(
    indexes=postgres_indexes([{'columns': ['ticker', 'bar_number'], 'unique': true}])
) }}

{%- set stored = stored_daily_indicators() -%}

with

starts as (

    select * from {{ ref('int_price_rebuild_starts') }}

),

{%- if stored is not none %}

stored_before as (

    -- the stored bars of each rebuilt ticker before its first changed bar:
    -- identical to the current ones, so their bar numbers still hold
    select
        stored.ticker,
        stored.trade_date,
        stored.bar_number,
        max(stored.bar_number) over (partition by stored.ticker) as last_bar_number

    from {{ stored }} as stored
    inner join starts
        on stored.ticker = starts.ticker
        and stored.trade_date < starts.rebuild_from

),

context_starts as (

    -- the first of the (up to) {{ price_context_bars() }} bars of context before it
    select
        ticker,
        min(trade_date) as context_from,
        min(bar_number) as context_bar_number

    from stored_before
    where bar_number > last_bar_number - {{ price_context_bars() }}
    group by ticker

),

{%- endif %}

prices as (

    -- the bars every indicator is computed on: adjusted for splits and
    -- dividends (equal to the loaded prices when there are no corporate
    -- actions), of the rebuilt tickers from their context on
    select
        adjusted.ticker,
        adjusted.trade_date,
        adjusted.adjusted_open as open,
        adjusted.adjusted_high as high,
        adjusted.adjusted_low as low,
        adjusted.adjusted_close as close,
        adjusted.adjusted_volume as volume,
        adjusted.trade_date < starts.rebuild_from as is_context,
        {%- if stored is not none %}
        coalesce(context_starts.context_bar_number, 0) as first_bar_number
        {%- else %}
        0 as first_bar_number
        {%- endif %}

    from {{ ref('int_prices_daily_adjusted') }} as adjusted
    inner join starts
        on adjusted.ticker = starts.ticker
    {%- if stored is not none %}
    left join context_starts
        on adjusted.ticker = context_starts.ticker
    where adjusted.trade_date >= coalesce(context_starts.context_from, starts.rebuild_from)
    {%- else %}
    where adjusted.trade_date >= starts.rebuild_from
    {%- endif %}

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
        first_bar_number + row_number() over (partition by ticker order by trade_date) - 1 as bar_number,
        lag(close) over (partition by ticker order by trade_date) as prev_close,
        is_context

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
        end as true_range,
        is_context

    from numbered

)

select * from final

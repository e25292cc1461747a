{#-
    Per ticker, the first bar whose stored indicators are stale: the earliest
    (ticker, trade_date) where the bars as they are now differ from the bars
    marts.fct_daily_indicators was built from, in any of open, high, low,
    close, volume, split_factor, dividend_factor, or that exists on one side
    only (a new or a deleted session). Tickers with nothing to do have no row.
    On the first build and with --full-refresh every ticker starts at its
    first bar. A full comparison of two narrow column sets: one hash join,
    cheap next to the indicators it saves (see dbt_project/README.md).
-#}

{%- set stored = stored_daily_indicators() -%}
{%- set compared = ['open', 'high', 'low', 'close', 'volume', 'split_factor', 'dividend_factor'] -%}

with

current_bars as (

    select
        ticker,
        trade_date,
        {{ compared | join(', ') }}

    from {{ ref('int_prices_daily_adjusted') }}

),

{%- if stored is not none %}

stored_bars as (

    select
        ticker,
        trade_date,
        {{ compared | join(', ') }}

    from {{ stored }}

),

changed_bars as (

    select
        coalesce(current_bars.ticker, stored_bars.ticker) as ticker,
        coalesce(current_bars.trade_date, stored_bars.trade_date) as trade_date

    from current_bars
    full outer join stored_bars
        on current_bars.ticker = stored_bars.ticker
        and current_bars.trade_date = stored_bars.trade_date
    where current_bars.ticker is null
        or stored_bars.ticker is null
        {%- for column in compared %}
        or current_bars.{{ column }} is distinct from stored_bars.{{ column }}
        {%- endfor %}

),

{%- else %}

changed_bars as (

    select ticker, trade_date from current_bars

),

{%- endif %}

final as (

    select
        ticker,
        min(trade_date) as rebuild_from,
        count(*) as changed_bars

    from changed_bars
    group by ticker

)

select * from final

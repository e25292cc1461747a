{#-
    Path-dependent indicators (EMA, MACD, RSI, ATR) reproduced exactly as
    TA-Lib 0.8 computes them (default compatibility, no unstable period).

    One recursive CTE walks every ticker's history bar by bar (all tickers in
    the same iteration: iteration b handles bar_number b of every ticker) and
    carries all states together:
      ema_12, ema_26        EMA seeded with the SMA of bars 0..n-1 at bar n-1
      macd_fast             TA-Lib MACD's own fast EMA(12): seeded on bar 25
                            with the mean of bars 14..25, so it differs from
                            ema_12; the slow EMA of MACD is exactly ema_26
      macd_seed_sum         running sum of macd over bars 25..33 (signal seed)
      macd_signal           EMA(9) of macd, seeded at bar 33 with that sum / 9
      avg_gain, avg_loss    Wilder averages for RSI(14), seeded at bar 14
      atr                   Wilder average of the true range, seeded at bar 14
    The seeds are per-ticker means computed in one aggregate pass beforehand
    and carried in the state from the anchor row.

    Next-state expressions are written once as Jinja snippets because MACD and
    its signal need the current bar's new EMA values: a recursive term cannot
    reference its own select-list aliases, and PostgreSQL forbids the
    recursive reference inside a subquery.

    Incremental (the daily path): the rows of each ticker of
    int_price_rebuild_starts are deleted from its first changed bar on and
    recomputed from the stored state of the bar before it (the state columns
    macd_fast, macd_seed_sum, avg_gain, avg_loss are kept for that), so a new
    session costs one iteration. A ticker whose first changed bar is within
    the warm-up (bar 34 or earlier) or has no stored state starts again from
    bar 0 (its bars are all in int_prices_daily_numbered then). Same values as
    a full build: the same operations on the same doubles.
-#}

{#- PostgreSQL: keep the index nested loop on every iteration (see the macro);
    the indexes serve the daily path's delete (ticker, trade_date) and its
    stored-state lookup (ticker, bar_number). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook=["{{ recursive_cte_planner_settings() }}", "{{ delete_rebuilt_price_rows() }}"],
    post_hook=[
        "{{ unique_index_if_missing(this, ['ticker', 'trade_date']) }}",
        "{{ unique_index_if_missing(this, ['ticker', 'bar_number']) }}",
    ],
) }}

-- depends_on: {{ ref('int_price_rebuild_starts') }} (the pre-hook deletes its tickers' changed rows)
{% set k_12 = "(cast(2 as " ~ type_double() ~ ") / 13)" -%}
{%- set k_26 = "(cast(2 as " ~ type_double() ~ ") / 27)" -%}
{%- set k_9 = "(cast(2 as " ~ type_double() ~ ") / 10)" -%}

{%- set next_ema_12 -%}
    case
        when i.bar_number = 11 then r.ema_12_seed
        when i.bar_number > 11 then r.ema_12 + {{ k_12 }} * (i.close - r.ema_12)
    end
{%- endset -%}

{%- set next_ema_26 -%}
    case
        when i.bar_number = 25 then r.ema_26_seed
        when i.bar_number > 25 then r.ema_26 + {{ k_26 }} * (i.close - r.ema_26)
    end
{%- endset -%}

{%- set next_macd_fast -%}
    case
        when i.bar_number = 25 then r.macd_fast_seed
        when i.bar_number > 25 then r.macd_fast + {{ k_12 }} * (i.close - r.macd_fast)
    end
{%- endset -%}

{%- set next_macd -%}
    (({{ next_macd_fast }}) - ({{ next_ema_26 }}))
{%- endset -%}

{%- set next_macd_seed_sum -%}
    case
        when i.bar_number = 25 then {{ next_macd }}
        when i.bar_number between 26 and 33 then r.macd_seed_sum + {{ next_macd }}
    end
{%- endset -%}

with recursive

prices as (

    select * from {{ ref('int_prices_daily_numbered') }}

),

first_rebuilt_bars as (

    select
        ticker,
        min(bar_number) as first_bar_number

    from prices
    where not is_context
    group by ticker

),

{%- if is_incremental() %}

stored_anchors as (

    -- the stored state of the bar before each ticker's first changed bar, once
    -- every seed is behind it (bar 33: the MACD signal's seed)
    select
        stored.ticker,
        stored.trade_date,
        stored.bar_number,
        stored.ema_12,
        stored.ema_26,
        stored.macd_fast,
        stored.macd_seed_sum,
        stored.macd_signal,
        stored.avg_gain,
        stored.avg_loss,
        stored.atr_14 as atr,
        first_rebuilt_bars.first_bar_number

    from {{ this }} as stored
    inner join first_rebuilt_bars
        on stored.ticker = first_rebuilt_bars.ticker
        and stored.bar_number = first_rebuilt_bars.first_bar_number - 1
    where stored.bar_number >= 33

),

{%- endif %}

seeds as (

    -- per-ticker seed values, each the plain mean TA-Lib uses (sum / n), summed in bar
    -- order as TA-Lib does: a parallel hash aggregate adds doubles in a varying order, and
    -- a seed that differs in its last bit would make two builds (or a build and an
    -- incremental run) disagree on every EMA after it
    select
        ticker,
        sum(case when bar_number <= 11 then close end order by bar_number) / 12 as ema_12_seed,
        sum(case when bar_number <= 25 then close end order by bar_number) / 26 as ema_26_seed,
        sum(case when bar_number between 14 and 25 then close end order by bar_number) / 12 as macd_fast_seed,
        sum(case when bar_number between 1 and 14 then gain end order by bar_number) / 14 as avg_gain_seed,
        sum(case when bar_number between 1 and 14 then loss end order by bar_number) / 14 as avg_loss_seed,
        sum(case when bar_number between 1 and 14 then true_range end order by bar_number) / 14 as atr_seed

    from prices
    group by ticker

),

anchors as (

    -- bar 0 of every ticker without a stored anchor, every indicator still in
    -- warm-up; the ticker's seeds ride along in the state so each step needs
    -- one join only
    select
        prices.ticker,
        prices.trade_date,
        prices.bar_number,
        seeds.ema_12_seed,
        seeds.ema_26_seed,
        seeds.macd_fast_seed,
        seeds.avg_gain_seed,
        seeds.avg_loss_seed,
        seeds.atr_seed,
        cast(null as {{ type_double() }}) as ema_12,
        cast(null as {{ type_double() }}) as ema_26,
        cast(null as {{ type_double() }}) as macd_fast,
        cast(null as {{ type_double() }}) as macd_seed_sum,
        cast(null as {{ type_double() }}) as macd_signal,
        cast(null as {{ type_double() }}) as avg_gain,
        cast(null as {{ type_double() }}) as avg_loss,
        cast(null as {{ type_double() }}) as atr,
        first_rebuilt_bars.first_bar_number

    from prices
    inner join seeds
        on prices.ticker = seeds.ticker
    inner join first_rebuilt_bars
        on prices.ticker = first_rebuilt_bars.ticker
    where prices.bar_number = 0
    {%- if is_incremental() %}
        and prices.ticker not in (select ticker from stored_anchors)

    union all

    -- the stored state of the bar before the first changed one (the seeds
    -- are no longer read after bar 33)
    select
        ticker,
        trade_date,
        bar_number,
        cast(null as {{ type_double() }}) as ema_12_seed,
        cast(null as {{ type_double() }}) as ema_26_seed,
        cast(null as {{ type_double() }}) as macd_fast_seed,
        cast(null as {{ type_double() }}) as avg_gain_seed,
        cast(null as {{ type_double() }}) as avg_loss_seed,
        cast(null as {{ type_double() }}) as atr_seed,
        ema_12,
        ema_26,
        macd_fast,
        macd_seed_sum,
        macd_signal,
        avg_gain,
        avg_loss,
        atr,
        first_bar_number

    from stored_anchors
    {%- endif %}

),

recursion as (

    select * from anchors

    union all

    -- step: bar b + 1 of every ticker from its states at bar b
    select
        i.ticker,
        i.trade_date,
        i.bar_number,
        r.ema_12_seed,
        r.ema_26_seed,
        r.macd_fast_seed,
        r.avg_gain_seed,
        r.avg_loss_seed,
        r.atr_seed,
        {{ next_ema_12 }} as ema_12,
        {{ next_ema_26 }} as ema_26,
        {{ next_macd_fast }} as macd_fast,
        {{ next_macd_seed_sum }} as macd_seed_sum,
        case
            when i.bar_number = 33 then ({{ next_macd_seed_sum }}) / 9
            when i.bar_number > 33
                then r.macd_signal + {{ k_9 }} * ({{ next_macd }} - r.macd_signal)
        end as macd_signal,
        case
            when i.bar_number = 14 then r.avg_gain_seed
            when i.bar_number > 14 then (r.avg_gain * 13 + i.gain) / 14
        end as avg_gain,
        case
            when i.bar_number = 14 then r.avg_loss_seed
            when i.bar_number > 14 then (r.avg_loss * 13 + i.loss) / 14
        end as avg_loss,
        case
            when i.bar_number = 14 then r.atr_seed
            when i.bar_number > 14 then (r.atr * 13 + i.true_range) / 14
        end as atr,
        r.first_bar_number

    from recursion as r
    -- the model itself rather than a CTE, so that PostgreSQL can use the
    -- (ticker, bar_number) index on every iteration
    inner join {{ ref('int_prices_daily_numbered') }} as i
        on i.ticker = r.ticker
        and i.bar_number = r.bar_number + 1

),

final as (

    select
        recursion.ticker,
        recursion.trade_date,
        recursion.bar_number,
        ema_12,
        ema_26,
        case when bar_number >= 33 then macd_fast - ema_26 end as macd,
        macd_signal,
        case when bar_number >= 33 then (macd_fast - ema_26) - macd_signal end as macd_hist,
        case
            when avg_gain + avg_loss = 0 then 0
            else 100 * (avg_gain / (avg_gain + avg_loss))
        end as rsi_14,
        avg_gain + avg_loss = 0 as rsi_14_no_movement,
        atr as atr_14,
        -- state the next incremental run continues from
        macd_fast,
        macd_seed_sum,
        avg_gain,
        avg_loss

    from recursion
    -- only the changed bars (a stored anchor and the context are not output): each row
    -- carries its ticker's first changed bar, so this is a filter, not a join (on
    -- PostgreSQL the planner settings above would make a join of every recursion row with
    -- every ticker a nested loop: 3 M x 3,000 comparisons, 9 min with the KRX file)
    where recursion.bar_number >= recursion.first_bar_number

)

select * from final

{#-
    One row per cash dividend with its price multiplier, the method CRSP and
    Yahoo use for adjusted prices (Yahoo Finance help, "Adjusted close":
    multiplier = 1 - dividend / close of the day before the ex-date; CRSP's
    cumulative factor to adjust prices works the same way):

        dividend_multiplier = 1 - cash_amount_adjusted / prev_close

    Both numbers on the same split basis: the amount is Yahoo's (split-adjusted
    as of its split_basis_date) times the factor of the splits after that
    basis; prev_close is the close of the ticker's last bar before the
    ex-date (the previous session when the history is complete) times the
    split factor of that bar's basis. A dividend with no bar before its
    ex-date adjusts no bar: its prev_close and multiplier are NULL.

    The last bar before each ex-date is found on a timeline of bars and
    ex-dates (running max of trade_date, ex-dates sorted before the bar of the
    same day), an equality join instead of a range join; only tickers with
    dividends are put on it.
-#}

with

prices as (

    select * from {{ ref('stg_prices__daily') }}

),

actions as (

    select * from {{ ref('stg_prices__corporate_actions') }}

),

split_factors as (

    select * from {{ ref('int_split_factors') }}

),

dividends as (

    select
        actions.ticker,
        actions.ex_date,
        actions.cash_amount,
        actions.split_basis_date,
        split_factors.split_factor as amount_split_factor,
        actions.cash_amount * split_factors.split_factor as cash_amount_adjusted

    from actions
    inner join split_factors
        on actions.ticker = split_factors.ticker
        and actions.split_basis_date = split_factors.split_basis_date
    where actions.action_type = 'dividend'

),

bars as (

    select
        prices.ticker,
        prices.trade_date,
        prices.close * coalesce(split_factors.split_factor, 1) as split_adjusted_close

    from prices
    left join split_factors
        on prices.ticker = split_factors.ticker
        and prices.split_basis_date = split_factors.split_basis_date
    where prices.ticker in (select ticker from dividends)

),

timeline as (

    select
        ticker,
        trade_date as event_date,
        1 as event_order,
        trade_date

    from bars

    union all

    select
        ticker,
        ex_date as event_date,
        0 as event_order,
        cast(null as date) as trade_date

    from dividends

),

previous_bar as (

    select
        ticker,
        event_date,
        event_order,
        max(trade_date) over (
            partition by ticker
            order by event_date, event_order
            rows between unbounded preceding and current row
        ) as prev_trade_date

    from timeline

),

final as (

    select
        dividends.ticker,
        dividends.ex_date,
        dividends.cash_amount,
        dividends.split_basis_date,
        dividends.amount_split_factor,
        dividends.cash_amount_adjusted,
        previous_bar.prev_trade_date,
        bars.split_adjusted_close as prev_close,
        1 - dividends.cash_amount_adjusted / bars.split_adjusted_close as dividend_multiplier

    from dividends
    inner join previous_bar
        on dividends.ticker = previous_bar.ticker
        and dividends.ex_date = previous_bar.event_date
        and previous_bar.event_order = 0
    left join bars
        on previous_bar.ticker = bars.ticker
        and previous_bar.prev_trade_date = bars.trade_date

)

select * from final

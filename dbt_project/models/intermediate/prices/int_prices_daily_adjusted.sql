{#-
    Every bar on one basis: adjusted for all known splits and, CRSP/Yahoo
    style, for all known later cash dividends.

        split_factor    = product of 1 / split_ratio over the ticker's splits
                          with ex_date > the row's split_basis_date
                          (int_split_factors; splits the vendor had not
                          applied when it sent the row)
        dividend_factor = product of dividend_multiplier over the ticker's
                          dividends with ex_date > trade_date
                          (int_dividend_adjustments)
        adjusted OHLC   = OHLC * split_factor * dividend_factor
        adjusted volume = volume / split_factor

    Without corporate actions both factors are exactly 1 and the adjusted
    columns equal the loaded ones. The cumulative dividend product is a
    running sum of ln(multiplier) over a timeline of bars and ex-dates sorted
    by date descending (the bar before the ex-date of the same day, so a
    dividend never adjusts its own ex-date), exponentiated; only tickers with
    dividends are put on it.
-#}
with

prices as (

    select * from {{ ref('stg_prices__daily') }}

),

split_factors as (

    select * from {{ ref('int_split_factors') }}

),

dividends as (

    select
        ticker,
        ex_date,
        dividend_multiplier

    from {{ ref('int_dividend_adjustments') }}
    where dividend_multiplier > 0

),

bars as (

    select
        prices.*,
        coalesce(split_factors.split_factor, 1) as split_factor

    from prices
    left join split_factors
        on prices.ticker = split_factors.ticker
        and prices.split_basis_date = split_factors.split_basis_date

),

dividend_timeline as (

    select
        ticker,
        trade_date as event_date,
        1 as event_order,
        trade_date,
        cast(null as {{ type_double() }}) as log_multiplier

    from bars
    where ticker in (select ticker from dividends)

    union all

    select
        ticker,
        ex_date as event_date,
        0 as event_order,
        cast(null as date) as trade_date,
        ln(dividend_multiplier) as log_multiplier

    from dividends

),

cumulative as (

    select
        ticker,
        trade_date,
        event_order,
        exp(sum(log_multiplier) over (
            partition by ticker
            order by event_date desc, event_order desc
            rows between unbounded preceding and current row
        )) as dividend_factor

    from dividend_timeline

),

dividend_factors as (

    select
        ticker,
        trade_date,
        dividend_factor

    from cumulative
    where event_order = 1

),

factored as (

    select
        bars.ticker,
        bars.market,
        bars.trade_date,
        bars.split_basis_date,
        bars.open,
        bars.high,
        bars.low,
        bars.close,
        bars.volume,
        bars.vendor_adjusted_close,
        bars.source_name,
        bars.split_factor,
        coalesce(dividend_factors.dividend_factor, 1) as dividend_factor

    from bars
    left join dividend_factors
        on bars.ticker = dividend_factors.ticker
        and bars.trade_date = dividend_factors.trade_date

),

final as (

    select
        ticker,
        market,
        trade_date,
        split_basis_date,
        open,
        high,
        low,
        close,
        volume,
        vendor_adjusted_close,
        source_name,
        split_factor,
        dividend_factor,
        open * split_factor * dividend_factor as adjusted_open,
        high * split_factor * dividend_factor as adjusted_high,
        low * split_factor * dividend_factor as adjusted_low,
        close * split_factor * dividend_factor as adjusted_close,
        cast(volume as {{ type_double() }}) / split_factor as adjusted_volume

    from factored

)

select * from final

{#-
    Each position valued on every session from its first transaction to the
    last session of the price data of the portfolio's currency (the trade
    dates of the price bars of the markets in that currency: XNYS sessions for
    USD, XKRX sessions for KRW). The position on a session is the ledger
    state after the position's last transaction on or before it; the price is
    the ticker's last close on or before it (carried forward over gaps of the
    ticker's price history; price_date says from which session). Closed
    positions keep their rows (quantity 0) so that realised P&L and dividends
    stay in the daily totals. Money is in the portfolio's currency (one per
    portfolio: int_portfolio_benchmarks).
-#}

{#- PostgreSQL: lookups of a portfolio's day (and the grain's uniqueness). -#}
{{ config(
    indexes=postgres_indexes([{'columns': ['portfolio', 'trade_date', 'ticker'], 'unique': true}])
) }}

with

ledger as (

    select * from {{ ref('int_portfolio_ledger') }}

),

indicators as (

    select * from {{ ref('fct_daily_indicators') }}

),

companies as (

    select * from {{ ref('dim_companies') }}

),

markets as (

    select * from {{ ref('dim_markets') }}

),

portfolios as (

    select * from {{ ref('int_portfolio_benchmarks') }}

),

-- the sessions of each currency's universe
sessions as (

    select distinct
        markets.currency,
        indicators.trade_date

    from indicators
    inner join markets
        on indicators.market = markets.market

),

position_starts as (

    select
        ledger.portfolio,
        ledger.ticker,
        portfolios.currency,
        min(ledger.trade_date) as first_trade_date

    from ledger
    inner join portfolios
        on ledger.portfolio = portfolios.portfolio
    group by ledger.portfolio, ledger.ticker, portfolios.currency

),

-- the state after the last transaction of each day with transactions
day_end_ledger as (

    select
        *,
        row_number() over (
            partition by portfolio, ticker, trade_date
            order by position_sequence desc
        ) as reverse_sequence_in_day

    from ledger

),

-- each day-end state is valid until the position's next day with transactions
day_end_states as (

    select
        portfolio,
        ticker,
        trade_date as valid_from,
        lead(trade_date) over (
            partition by portfolio, ticker
            order by trade_date
        ) as valid_to,
        quantity_after,
        cost_basis_after,
        cumulative_realised_pnl,
        cumulative_dividend_income

    from day_end_ledger
    where reverse_sequence_in_day = 1

),

prices as (

    select
        ticker,
        trade_date as price_date,
        lead(trade_date) over (partition by ticker order by trade_date) as next_price_date,
        close

    from indicators
    where ticker in (select ticker from position_starts)

),

position_days as (

    select
        position_starts.portfolio,
        position_starts.ticker,
        position_starts.currency,
        sessions.trade_date

    from position_starts
    inner join sessions
        on sessions.currency = position_starts.currency
        and sessions.trade_date >= position_starts.first_trade_date

),

valued as (

    select
        position_days.portfolio,
        position_days.ticker,
        position_days.trade_date,
        position_days.currency,
        states.quantity_after as quantity,
        states.cost_basis_after as cost_basis,
        states.cumulative_realised_pnl as realised_pnl,
        states.cumulative_dividend_income as dividend_income,
        prices.price_date,
        prices.close as close_price,
        states.quantity_after * prices.close as market_value

    from position_days
    inner join day_end_states as states
        on position_days.portfolio = states.portfolio
        and position_days.ticker = states.ticker
        and position_days.trade_date >= states.valid_from
        and position_days.trade_date < coalesce(states.valid_to, cast('9999-12-31' as date))
    left join prices
        on position_days.ticker = prices.ticker
        and position_days.trade_date >= prices.price_date
        and position_days.trade_date < coalesce(prices.next_price_date, cast('9999-12-31' as date))

),

final as (

    select
        valued.portfolio,
        valued.ticker,
        valued.trade_date,
        valued.currency,
        companies.company_name,
        companies.sector,
        valued.quantity,
        valued.quantity > 0 as is_open,
        valued.cost_basis,
        valued.cost_basis / nullif(valued.quantity, 0) as average_cost,
        valued.close_price,
        valued.price_date,
        valued.market_value,
        valued.market_value - valued.cost_basis as unrealised_pnl,
        valued.realised_pnl,
        valued.dividend_income,
        valued.market_value - valued.cost_basis + valued.realised_pnl + valued.dividend_income as total_pnl,
        valued.market_value / nullif(
            sum(valued.market_value) over (partition by valued.portfolio, valued.trade_date), 0
        ) as weight

    from valued
    left join companies
        on valued.ticker = companies.ticker

)

select * from final

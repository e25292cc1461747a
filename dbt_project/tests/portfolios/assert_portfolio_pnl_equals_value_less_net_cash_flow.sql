-- Bookkeeping identity of the average-cost ledger: on every session
--     total_pnl = market_value - sum of net_cash_flow so far
-- (what the holdings are worth less the money put in, net). Tolerance for the
-- floating-point sums: 1e-9 of (1,000 USD + the money moved so far + the value).
with

daily as (

    select
        portfolio,
        trade_date,
        market_value,
        total_pnl,
        sum(net_cash_flow) over (
            partition by portfolio
            order by trade_date
            rows between unbounded preceding and current row
        ) as net_invested,
        sum(buy_amount + sell_amount + dividend_amount) over (
            partition by portfolio
            order by trade_date
            rows between unbounded preceding and current row
        ) as money_moved

    from {{ ref('fct_portfolio_daily') }}

)

select *
from daily
where abs(total_pnl - (market_value - net_invested)) > 1e-9 * (1000 + money_moved + market_value)

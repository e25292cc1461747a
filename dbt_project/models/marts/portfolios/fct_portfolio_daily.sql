{#-
    Daily value, cash flows, P&L and time-weighted return of each portfolio,
    in its currency, with its benchmark (int_portfolio_benchmarks: its market's,
    in its currency) over the same days. With V the market value, B the
    money paid for buys (incl. fees), S the net proceeds of sales and D the
    net dividends of the session:

        daily_return = (V_t + S_t + D_t) / (V_{t-1} + B_t) - 1

    buys count at the start of the session and sales and dividends at its end
    (a time-weighted sub-period return, exact when the flows happen at those
    points); NULL when V_{t-1} + B_t = 0 (nothing invested). The wealth index
    is the product of (1 + daily_return) over the rows so far (1 before the
    first row; a NULL return counts as 0 %), computed as exp(sum(ln)) with an
    explicit 0 after a total loss.
-#}

{#- PostgreSQL: a portfolio's history (and the grain's uniqueness). -#}
{{ config(
    indexes=postgres_indexes([{'columns': ['portfolio', 'trade_date'], 'unique': true}])
) }}

with

positions as (

    select * from {{ ref('fct_portfolio_positions_daily') }}

),

transactions as (

    select * from {{ ref('stg_portfolios__transactions') }}

),

portfolios as (

    select * from {{ ref('int_portfolio_benchmarks') }}

),

benchmarks as (

    select
        benchmark_id,
        currency,
        trade_date,
        daily_return

    from {{ ref('fct_benchmark_daily') }}

),

holdings as (

    select
        portfolio,
        trade_date,
        sum(market_value) as market_value,
        sum(cost_basis) as cost_basis,
        sum(unrealised_pnl) as unrealised_pnl,
        sum(realised_pnl) as realised_pnl,
        sum(dividend_income) as dividend_income,
        sum(total_pnl) as total_pnl,
        count(case when is_open then 1 end) as holding_count

    from positions
    group by portfolio, trade_date

),

flows as (

    select
        portfolio,
        trade_date,
        sum(case when side = 'buy' then -cash_amount else 0 end) as buy_amount,
        sum(case when side = 'sell' then cash_amount else 0 end) as sell_amount,
        sum(case when side = 'dividend' then cash_amount else 0 end) as dividend_amount,
        sum(fees) as fees

    from transactions
    group by portfolio, trade_date

),

days as (

    select
        holdings.*,
        coalesce(flows.buy_amount, 0) as buy_amount,
        coalesce(flows.sell_amount, 0) as sell_amount,
        coalesce(flows.dividend_amount, 0) as dividend_amount,
        coalesce(flows.fees, 0) as fees,
        coalesce(lag(holdings.market_value) over (
            partition by holdings.portfolio
            order by holdings.trade_date
        ), 0) as previous_market_value

    from holdings
    left join flows
        on holdings.portfolio = flows.portfolio
        and holdings.trade_date = flows.trade_date

),

returns as (

    select
        days.*,
        (market_value + sell_amount + dividend_amount)
        / nullif(previous_market_value + buy_amount, 0) as growth_factor

    from days

),

paired as (

    -- the benchmark counts on the same days as the portfolio's return
    select
        returns.*,
        portfolios.currency,
        portfolios.benchmark_id,
        case when returns.growth_factor is not null then benchmarks.daily_return end as benchmark_daily_return

    from returns
    inner join portfolios
        on returns.portfolio = portfolios.portfolio
    left join benchmarks
        on portfolios.benchmark_id = benchmarks.benchmark_id
        and portfolios.currency = benchmarks.currency
        and returns.trade_date = benchmarks.trade_date

),

compounded as (

    select
        paired.*,
        case
            when sum(case when growth_factor = 0 then 1 else 0 end) over running > 0 then 0
            else exp(sum(case when growth_factor > 0 then ln(growth_factor) else 0 end) over running)
        end as wealth_index,
        exp(sum(coalesce(ln(1 + benchmark_daily_return), 0)) over running) as benchmark_wealth_index

    from paired
    window running as (
        partition by portfolio
        order by trade_date
        rows between unbounded preceding and current row
    )

),

peaks as (

    select
        compounded.*,
        greatest(1, max(wealth_index) over running) as peak_wealth_index,
        greatest(1, max(benchmark_wealth_index) over running) as benchmark_peak_wealth_index

    from compounded
    window running as (
        partition by portfolio
        order by trade_date
        rows between unbounded preceding and current row
    )

),

final as (

    select
        portfolio,
        trade_date,
        currency,
        market_value,
        buy_amount,
        sell_amount,
        dividend_amount,
        fees,
        buy_amount - sell_amount - dividend_amount as net_cash_flow,
        cost_basis,
        unrealised_pnl,
        realised_pnl,
        dividend_income,
        total_pnl,
        holding_count,
        growth_factor - 1 as daily_return,
        wealth_index - 1 as cumulative_return,
        wealth_index,
        peak_wealth_index,
        wealth_index / peak_wealth_index - 1 as drawdown,
        cast(benchmark_id as varchar) as benchmark_id,
        benchmark_daily_return,
        benchmark_wealth_index - 1 as benchmark_cumulative_return,
        benchmark_wealth_index / benchmark_peak_wealth_index - 1 as benchmark_drawdown

    from peaks

)

select * from final

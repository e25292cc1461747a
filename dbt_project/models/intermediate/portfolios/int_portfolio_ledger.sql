{#-
    Position of (portfolio, ticker) after each transaction, average-cost method
    (fees of a buy are capitalised; average cost is unchanged by a sale):

        buy       quantity += q;  cost_basis += q * price + fees
        sell      realised_pnl = q * (price - average_cost_before) - fees
                  cost_basis -= q * average_cost_before;  quantity -= q
        dividend  dividend_income = q * price - fees; position unchanged

    with average_cost = cost_basis / quantity. A sale that leaves less than
    1e-9 shares (floating-point residue of fractional shares) closes the
    position: quantity and cost_basis become exactly 0.

    A recursive CTE applies the transactions in order, all positions in the
    same iteration (iteration k handles the k-th transaction of every
    position), from a zero state at position_sequence 0. It performs the same
    floating-point operations in the same order as a loop over the rows, on
    both backends (window sums cannot express the average-cost recursion
    exactly). Only keys and the carried state are in the recursion (PostgreSQL
    requires identical column types in both terms); the transaction columns
    are joined back afterwards.
-#}

{%- set closed_quantity = 1e-9 -%}

with recursive

transactions as (

    select * from {{ ref('stg_portfolios__transactions') }}

),

numbered as (

    select
        *,
        row_number() over (
            partition by portfolio, ticker
            order by sequence_in_portfolio
        ) as position_sequence

    from transactions

),

positions as (

    select distinct
        portfolio,
        ticker

    from numbered

),

ledger (
    portfolio,
    ticker,
    position_sequence,
    quantity_after,
    cost_basis_after,
    realised_pnl,
    dividend_income,
    cumulative_realised_pnl,
    cumulative_dividend_income
) as (

    select
        portfolio,
        ticker,
        cast(0 as bigint),
        cast(0 as {{ type_double() }}),
        cast(0 as {{ type_double() }}),
        cast(0 as {{ type_double() }}),
        cast(0 as {{ type_double() }}),
        cast(0 as {{ type_double() }}),
        cast(0 as {{ type_double() }})

    from positions

    union all

    select
        i.portfolio,
        i.ticker,
        i.position_sequence,
        case
            when i.side = 'buy' then r.quantity_after + i.quantity
            when i.side = 'sell' and r.quantity_after - i.quantity < {{ closed_quantity }} then 0
            when i.side = 'sell' then r.quantity_after - i.quantity
            else r.quantity_after
        end,
        case
            when i.side = 'buy' then r.cost_basis_after + (i.quantity * i.price + i.fees)
            when i.side = 'sell' and r.quantity_after - i.quantity < {{ closed_quantity }} then 0
            when i.side = 'sell' then r.cost_basis_after - i.quantity * (r.cost_basis_after / nullif(r.quantity_after, 0))
            else r.cost_basis_after
        end,
        case
            when i.side = 'sell'
                then i.quantity * (i.price - r.cost_basis_after / nullif(r.quantity_after, 0)) - i.fees
            else 0
        end,
        case
            when i.side = 'dividend' then i.quantity * i.price - i.fees
            else 0
        end,
        case
            when i.side = 'sell'
                then r.cumulative_realised_pnl + (i.quantity * (i.price - r.cost_basis_after / nullif(r.quantity_after, 0)) - i.fees)
            else r.cumulative_realised_pnl
        end,
        case
            when i.side = 'dividend' then r.cumulative_dividend_income + (i.quantity * i.price - i.fees)
            else r.cumulative_dividend_income
        end

    from ledger as r
    inner join numbered as i
        on i.portfolio = r.portfolio
        and i.ticker = r.ticker
        and i.position_sequence = r.position_sequence + 1

),

final as (

    select
        t.transaction_id,
        t.portfolio,
        t.ticker,
        t.sequence_in_portfolio,
        t.position_sequence,
        t.trade_date,
        t.side,
        t.quantity,
        t.price,
        t.fees,
        t.gross_amount,
        t.cash_amount,
        before_state.quantity_after as quantity_before,
        before_state.cost_basis_after as cost_basis_before,
        before_state.cost_basis_after / nullif(before_state.quantity_after, 0) as average_cost_before,
        after_state.quantity_after,
        after_state.cost_basis_after,
        after_state.cost_basis_after / nullif(after_state.quantity_after, 0) as average_cost_after,
        after_state.realised_pnl,
        after_state.dividend_income,
        after_state.cumulative_realised_pnl,
        after_state.cumulative_dividend_income

    from numbered as t
    inner join ledger as after_state
        on t.portfolio = after_state.portfolio
        and t.ticker = after_state.ticker
        and t.position_sequence = after_state.position_sequence
    inner join ledger as before_state
        on t.portfolio = before_state.portfolio
        and t.ticker = before_state.ticker
        and t.position_sequence - 1 = before_state.position_sequence

)

select * from final

{#- The app's transaction list: each transaction with the position after it and its file line. -#}
with

ledger as (

    select * from {{ ref('int_portfolio_ledger') }}

),

transactions as (

    select * from {{ ref('stg_portfolios__transactions') }}

),

final as (

    select
        ledger.transaction_id,
        ledger.portfolio,
        ledger.trade_date,
        ledger.ticker,
        ledger.side,
        transactions.currency,
        ledger.quantity,
        ledger.price,
        ledger.fees,
        ledger.cash_amount,
        ledger.realised_pnl,
        ledger.quantity_after,
        ledger.average_cost_after,
        transactions.source_file,
        transactions.source_line

    from ledger
    inner join transactions
        on ledger.transaction_id = transactions.transaction_id

)

select * from final

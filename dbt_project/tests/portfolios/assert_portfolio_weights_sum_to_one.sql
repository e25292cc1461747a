-- On every session where a portfolio holds shares, the position weights and the
-- sector weights each sum to 1.
with

position_weights as (

    select
        portfolio,
        trade_date,
        sum(weight) as total_weight

    from {{ ref('fct_portfolio_positions_daily') }}
    where is_open
    group by portfolio, trade_date

),

sector_weights as (

    select
        portfolio,
        trade_date,
        sum(weight) as total_weight

    from {{ ref('mart_portfolio_sector_allocation') }}
    group by portfolio, trade_date

)

select
    'positions' as weights_of,
    portfolio,
    trade_date,
    total_weight

from position_weights
where abs(total_weight - 1) > 1e-12

union all

select
    'sectors' as weights_of,
    portfolio,
    trade_date,
    total_weight

from sector_weights
where abs(total_weight - 1) > 1e-12

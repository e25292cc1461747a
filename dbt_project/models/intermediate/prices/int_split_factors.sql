{#-
    The split factor of every split basis in use: prices of a row whose vendor
    applied splits up to its split_basis_date still need every split with a
    later ex-date (the bundled CSV is adjusted as of 2018-02-07, so Apple's
    4:1 split of 2020-08-31 divides its prices by 4; a Yahoo response fetched
    in 2025 needs nothing for the splits before). Dividend amounts carry a
    basis too (Yahoo publishes them split-adjusted), so their bases are here.

    Product of the factors as exp(sum(ln(1 / ratio))): SQL has no product
    aggregate; relative error ~1e-16. No later split: exactly 1.
-#}

with

prices as (

    select * from {{ ref('stg_prices__daily') }}

),

actions as (

    select * from {{ ref('stg_prices__corporate_actions') }}

),

splits as (

    select
        ticker,
        ex_date,
        split_ratio

    from actions
    where action_type = 'split'

),

bases as (

    select distinct
        ticker,
        split_basis_date

    from prices
    where split_basis_date is not null

    union

    select distinct
        ticker,
        split_basis_date

    from actions
    where action_type = 'dividend'

),

final as (

    select
        bases.ticker,
        bases.split_basis_date,
        count(splits.ex_date) as splits_after_basis,
        coalesce(exp(sum(ln(1 / splits.split_ratio))), 1) as split_factor

    from bases
    left join splits
        on bases.ticker = splits.ticker
        and splits.ex_date > bases.split_basis_date
    group by
        bases.ticker,
        bases.split_basis_date

)

select * from final

{#-
    The market indices day by day, with each index's name, the market it
    benchmarks and its daily return:

        daily_return = close / close of the index's previous row - 1

    (a fraction over the index's own trading days; NULL on its first row).
    The names and markets of the index codes are listed below; a code of the
    index file missing from the list gets no name, which the not-null test of
    index_name reports.
-#}

{#- PostgreSQL: one index's days (and the grain's uniqueness). -#}
{{ config(
    indexes=postgres_indexes([{'columns': ['index_code', 'trade_date'], 'unique': true}])
) }}

with

index_days as (

    select * from {{ ref('stg_krx__index_daily') }}

),

index_names as (

    select * from (
        values
            ('KS11', 'KOSPI', 'KOSPI'),
            ('KQ11', 'KOSDAQ', 'KOSDAQ'),
            ('KS200', 'KOSPI 200', 'KOSPI')
    ) as names (index_code, index_name, market)

),

returns as (

    select
        index_days.*,
        index_days.close / lag(index_days.close) over (
            partition by index_days.index_code
            order by index_days.trade_date
        ) - 1 as daily_return

    from index_days

),

final as (

    select
        returns.index_code,
        cast(index_names.index_name as varchar(32)) as index_name,
        cast(index_names.market as varchar(16)) as market,
        returns.trade_date,
        returns.open,
        returns.high,
        returns.low,
        returns.close,
        returns.daily_return,
        returns.volume,
        returns.amount,
        returns.market_cap

    from returns
    left join index_names
        on returns.index_code = index_names.index_code

)

select * from final

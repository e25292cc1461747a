with

markets as (

    select * from {{ ref('markets') }}

),

final as (

    select
        market,
        display_name,
        exchange_calendar,
        currency,
        time_zone,
        close_time_local,
        data_ready_time_local,
        benchmark,
        money_decimals

    from markets

)

select * from final

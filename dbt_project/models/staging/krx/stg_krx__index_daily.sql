with

source as (

    select * from {{ source('krx', 'market_indices') }}

),

renamed as (

    select
        cast(trim(index_code) as varchar(16)) as index_code,
        cast(trade_date as date) as trade_date,
        cast(open as {{ type_double() }}) as open,
        cast(high as {{ type_double() }}) as high,
        cast(low as {{ type_double() }}) as low,
        cast(close as {{ type_double() }}) as close,
        cast(volume as bigint) as volume,
        cast(amount as bigint) as amount,
        cast(market_cap as bigint) as market_cap,
        source_file,
        loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final

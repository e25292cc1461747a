with

source as (

    select * from {{ source('krx', 'krx_listing') }}

),

renamed as (

    select
        cast(trim(ticker) as varchar(16)) as ticker,
        trim(company_name) as company_name,
        cast(trim(market) as varchar(16)) as listing_market,
        source_file,
        loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final

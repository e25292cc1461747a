with

source as (

    select * from {{ source('sec', 'sec_company_tickers') }}

),

renamed as (

    select
        cast(cik as varchar(10)) as cik,
        -- the warehouse spells share classes with a dot (raw.prices_daily, raw.companies:
        -- BRK.B); SEC with a dash (BRK-B). SEC tickers contain no dots.
        cast(replace(ticker, '-', '.') as varchar(16)) as ticker,
        cast(ticker as varchar(16)) as sec_ticker,
        title as company_name,
        source as source_name,
        loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final

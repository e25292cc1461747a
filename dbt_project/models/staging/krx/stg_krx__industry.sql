with

source as (

    select * from {{ source('krx', 'krx_industry') }}

),

renamed as (

    select
        cast(trim(ticker) as varchar(16)) as ticker,
        trim(company_name) as company_name,
        cast(trim(market) as varchar(16)) as industry_file_market,
        trim(kosdaq_division) as kosdaq_division,
        trim(industry) as industry,
        trim(products) as products,
        cast(listing_date as date) as listing_date,
        cast(fiscal_year_end_month as integer) as fiscal_year_end_month,
        home_page,
        region,
        source_file,
        loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final

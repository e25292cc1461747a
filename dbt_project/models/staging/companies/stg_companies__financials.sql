with

source as (

    select * from {{ source('companies', 'company_financials') }}

),

renamed as (

    select
        cast(trim(ticker) as varchar(16)) as ticker,
        trim(company_name) as company_name,
        trim(sector) as sector,
        cast('{{ var("financials_as_of_date") }}' as date) as as_of_date,
        cast(price as {{ type_double() }}) as price,
        cast(price_earnings as {{ type_double() }}) as pe_ratio,
        -- vendor publishes the yield in percent (2.33 = 2.33 %): store a fraction
        cast(dividend_yield_pct as {{ type_double() }}) / 100 as dividend_yield,
        cast(earnings_per_share as {{ type_double() }}) as eps,
        -- vendor swapped the two 52-week columns in every row: un-swap them
        -- (least/greatest also stays right should the vendor fix the file)
        cast(
            least(week_52_low_as_published, week_52_high_as_published)
            as {{ type_double() }}
        ) as week_52_low,
        cast(
            greatest(week_52_low_as_published, week_52_high_as_published)
            as {{ type_double() }}
        ) as week_52_high,
        cast(market_cap as {{ type_double() }}) as market_cap,
        cast(ebitda as {{ type_double() }}) as ebitda,
        cast(price_sales as {{ type_double() }}) as ps_ratio,
        cast(price_book as {{ type_double() }}) as pb_ratio,
        sec_filings_url,
        source_file,
        loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final

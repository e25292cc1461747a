with

source as (

    select * from {{ source('portfolios', 'portfolio_transactions') }}

),

renamed as (

    select
        cast(portfolio as varchar) as portfolio,
        cast(source_file as varchar) as source_file,
        cast(source_line as bigint) as source_line,
        cast(trade_date as date) as trade_date,
        cast(trim(ticker) as varchar(16)) as ticker,
        cast(lower(side) as varchar(8)) as side,
        cast(quantity as {{ type_double() }}) as quantity,
        cast(price as {{ type_double() }}) as price,
        cast(coalesce(fees, 0) as {{ type_double() }}) as fees,
        cast(currency as varchar(3)) as currency,
        file_sha256,
        loaded_at

    from source

),

amounts as (

    select
        *,
        source_file || ':' || cast(source_line as varchar) as transaction_id,
        quantity * price as gross_amount,
        case side
            when 'buy' then -(quantity * price + fees)
            else quantity * price - fees
        end as cash_amount,
        row_number() over (
            partition by portfolio
            order by trade_date, source_file, source_line
        ) as sequence_in_portfolio

    from renamed

),

final as (

    select
        transaction_id,
        portfolio,
        source_file,
        source_line,
        sequence_in_portfolio,
        trade_date,
        ticker,
        side,
        quantity,
        price,
        fees,
        currency,
        gross_amount,
        cash_amount,
        file_sha256,
        loaded_at

    from amounts

)

select * from final

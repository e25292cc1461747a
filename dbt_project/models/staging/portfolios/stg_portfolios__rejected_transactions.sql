with

source as (

    select * from {{ source('portfolios', 'rejected_portfolio_transactions') }}

),

renamed as (

    select
        cast(source_file as varchar) as source_file,
        cast(source_line as bigint) as source_line,
        cast(portfolio as varchar) as portfolio,
        cast(field as varchar) as field,
        cast(reason as varchar) as reason,
        loaded_at

    from source

)

select * from renamed

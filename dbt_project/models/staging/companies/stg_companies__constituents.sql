with

source as (

    select * from {{ source('companies', 'companies') }}

),

renamed as (

    select
        cast(trim(ticker) as varchar(16)) as ticker,
        trim(company_name) as company_name,
        trim(sector) as sector,
        source_file,
        loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final

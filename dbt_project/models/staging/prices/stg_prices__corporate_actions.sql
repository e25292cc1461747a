with

source as (

    select * from {{ source('prices', 'corporate_actions') }}

),

renamed as (

    select
        cast(trim(ticker) as varchar(16)) as ticker,
        cast(ex_date as date) as ex_date,
        cast(action_type as varchar(16)) as action_type,
        cast(split_numerator as {{ type_double() }}) as split_numerator,
        cast(split_denominator as {{ type_double() }}) as split_denominator,
        cast(split_numerator as {{ type_double() }})
            / cast(split_denominator as {{ type_double() }}) as split_ratio,
        cast(cash_amount as {{ type_double() }}) as cash_amount,
        cast(split_basis_date as date) as split_basis_date,
        source as source_name,
        source_file,
        loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final

with

source as (

    select * from {{ source('news', 'news_article_tickers') }}

),

renamed as (

    select
        article_id,
        cast(trim(ticker) as varchar(32)) as ticker,
        tag_method,
        matched_text,
        tagged_at

    from source

),

final as (

    select * from renamed

)

select * from final

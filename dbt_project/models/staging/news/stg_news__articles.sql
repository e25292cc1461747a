with

source as (

    select * from {{ source('news', 'news_articles') }}

),

renamed as (

    select
        article_id,
        source as news_source,
        source_uri,
        source_line,
        vendor_id,
        published_at,
        -- published_at holds UTC: its date is the UTC calendar date
        cast(published_at as date) as published_date,
        publisher,
        title,
        link,
        canonical_link,
        sentiment_score,
        sentiment_positive,
        sentiment_negative,
        sentiment_method,
        loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final

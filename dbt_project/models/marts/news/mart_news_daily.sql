{#- PostgreSQL: lookups by ticker and date (stock page, screener window). -#}
{{ config(
    indexes=postgres_indexes([
        {'columns': ['ticker', 'news_date'], 'unique': true},
    ])
) }}

with

tagged as (

    -- one row per (ticker, article)
    select * from {{ ref('fct_news_articles') }}

),

final as (

    select
        ticker,
        published_date as news_date,
        count(*) as article_count,
        count(case when sentiment_score > 0 then 1 end) as positive_count,
        count(case when sentiment_score < 0 then 1 end) as negative_count,
        avg(sentiment_score) as avg_sentiment

    from tagged
    group by ticker, published_date

)

select * from final

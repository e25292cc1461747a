{#- PostgreSQL: the stock page reads one ticker's latest headlines. -#}
{{ config(
    indexes=postgres_indexes([
        {'columns': ['ticker', 'article_id'], 'unique': true},
        {'columns': ['ticker', 'published_at']},
    ])
) }}

with

articles as (

    select * from {{ ref('stg_news__articles') }}

),

tickers as (

    select * from {{ ref('stg_news__article_tickers') }}

),

final as (

    select
        tickers.ticker,
        articles.article_id,
        articles.published_at,
        articles.published_date,
        articles.publisher,
        articles.title,
        articles.link,
        articles.news_source,
        tickers.tag_method,
        tickers.matched_text,
        articles.sentiment_score,
        articles.sentiment_positive,
        articles.sentiment_negative,
        articles.sentiment_method

    from tickers
    inner join articles
        on tickers.article_id = articles.article_id

)

select * from final

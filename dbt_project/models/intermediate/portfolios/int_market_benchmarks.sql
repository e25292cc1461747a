{#-
    The benchmark the portfolios of each market are measured against: the
    market's own (dim_markets.benchmark: EQUAL_WEIGHT for US, KS11 for KOSPI,
    KQ11 for KOSDAQ) unless PORTFOLIO_BENCHMARK names one that applies to the
    market's currency:

        EQUAL_WEIGHT   every market (each against the equal-weighted universe
                       of its own currency)
        an index       the markets of the index's currency (KS11, KQ11, KS200: KRW)
        a ticker       the markets of the ticker's currency (MSFT: USD)

    A benchmark in another currency than a portfolio's is never applied to it
    (its returns would be measured on another calendar and money).

    Ephemeral: compiled into each model that reads it with that run's vars, so
    a run that rebuilds only the portfolio models already uses a changed
    PORTFOLIO_BENCHMARK. An unknown benchmark stops the build with a compile error.
-#}

{{ config(materialized='ephemeral') }}

{%- set configured = portfolio_benchmark_id() -%}
{%- do portfolio_assert_benchmark_known(ref('dim_companies'), ref('fct_index_daily')) -%}

with

markets as (

    select * from {{ ref('dim_markets') }}

),

companies as (

    select * from {{ ref('dim_companies') }}

),

indices as (

    select distinct
        index_code,
        market

    from {{ ref('fct_index_daily') }}

),

-- the currencies whose portfolios the configured benchmark applies to
configured_currencies as (

    {%- if configured == '' %}

    select currency from markets where 1 = 0

    {%- elif configured == 'EQUAL_WEIGHT' %}

    select distinct currency from markets

    {%- else %}

    select markets.currency
    from companies
    inner join markets
        on companies.market = markets.market
    where companies.ticker = '{{ configured }}'

    union

    select markets.currency
    from indices
    inner join markets
        on indices.market = markets.market
    where indices.index_code = '{{ configured }}'

    {%- endif %}

),

final as (

    select
        markets.market,
        markets.currency,
        markets.benchmark as market_benchmark,
        case
            when markets.currency in (select currency from configured_currencies) then '{{ configured }}'
            else markets.benchmark
        end as benchmark_id,
        case
            when markets.currency in (select currency from configured_currencies) then 'configured'
            else 'market_default'
        end as benchmark_source

    from markets

)

select * from final

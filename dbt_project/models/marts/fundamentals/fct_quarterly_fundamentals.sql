{#-
    Fiscal quarters as first reported: for each company and quarter, the
    values known on the first filing date on which that quarter was the
    latest one reported (point in time; later restatements do not change a
    row), with the TTM figures and balance sheet known on that date.
    Grain: one row per CIK and quarter end.
-#}
with

quarters as (

    select * from {{ ref('int_sec_quarters_asof') }}
    where recency = 1

),

first_reported as (

    select
        cik,
        period_end,
        min(knowledge_date) as first_reported_date

    from quarters
    group by cik, period_end

),

values_then as (

    select
        quarters.cik,
        quarters.period_end,
        min(quarters.period_start) as period_start,
        first_reported.first_reported_date,
        {%- for metric in ['revenue', 'net_income', 'eps_diluted', 'operating_cash_flow', 'dividends_paid'] %}
        max(case when quarters.metric = '{{ metric }}' then quarters.value end) as quarter_{{ metric }},
        {%- endfor %}
        max(case when quarters.metric = 'eps_diluted' and quarters.is_derived then 1 else 0 end) = 1
            as eps_diluted_is_derived

    from quarters
    inner join first_reported
        on quarters.cik = first_reported.cik
        and quarters.period_end = first_reported.period_end
        and quarters.knowledge_date = first_reported.first_reported_date
    group by quarters.cik, quarters.period_end, first_reported.first_reported_date

),

known_then as (

    select * from {{ ref('int_sec_fundamentals_asof') }}

),

tickers as (

    select cik, min(ticker) as ticker from {{ ref('stg_sec__company_tickers') }} group by cik

),

final as (

    select
        values_then.cik,
        tickers.ticker,
        values_then.period_start,
        values_then.period_end,
        values_then.first_reported_date,
        values_then.quarter_revenue,
        values_then.quarter_net_income,
        values_then.quarter_eps_diluted,
        values_then.eps_diluted_is_derived,
        values_then.quarter_operating_cash_flow,
        values_then.quarter_dividends_paid,
        known_then.ttm_revenue,
        known_then.ttm_net_income,
        known_then.ttm_eps_diluted,
        known_then.ttm_operating_cash_flow,
        known_then.ttm_dividends_paid,
        known_then.stockholders_equity,
        known_then.total_assets,
        known_then.total_liabilities,
        known_then.shares_outstanding

    from values_then
    left join known_then
        on known_then.cik = values_then.cik
        and known_then.knowledge_date = values_then.first_reported_date
    left join tickers on tickers.cik = values_then.cik

)

select * from final

{#-
    What was known about each company on each date one of its periodic
    reports reached the SEC (`knowledge_date`): one row per company and
    knowledge date, valid until the next one (`valid_to`, exclusive).

    Point in time: only versions filed on or before the knowledge date, and of
    each period the latest such version (int_sec_fact_versions), so later
    restatements never rewrite the past. Periods ending more than 800 days
    before the knowledge date are not needed (8 quarters at most) and skipped.

    Quarters: a ~90-day fact when the filing has one; else derived from the
    cumulative facts of the fiscal year: quarter ending E = cumulative(start,
    E) - cumulative(start, E') where E' is the previous quarter end (e.g.
    Q4 = fiscal year - nine months; cash-flow quarters from year-to-date
    figures). For EPS a derived quarter is an approximation (share counts
    differ between periods) and is flagged.

    TTM = sum of the latest four quarters, only when they are contiguous
    (first start to last end 350..380 days). Units: USD, USD per share and
    shares, on the split basis of the company's prices.
-#}
with

versions as (

    select * from {{ ref('int_sec_fact_versions') }}

),

quarters as (

    select * from {{ ref('int_sec_quarters_asof') }}

),

knowledge_dates as (

    select * from {{ ref('int_sec_knowledge_dates') }}

),

instant_snapshot as (

    select
        k.cik,
        k.knowledge_date,
        v.metric,
        v.period_type,
        v.period_end,
        v.accession_number,
        v.concept,
        v.value

    from {{ versions_known_on('knowledge_dates', 'versions') }}
    where v.period_type = 'instant'

),

ttm as (

    select
        cik,
        knowledge_date,
        metric,
        sum(case when recency <= 4 then value end) as ttm_value,
        count(case when recency <= 4 then 1 end) as ttm_quarters,
        min(case when recency = 4 then period_start end) as ttm_start,
        max(case when recency = 1 then period_end end) as ttm_end,
        max(case when recency = 1 then value end) as latest_quarter_value,
        max(case when recency <= 4 and is_derived then 1 else 0 end) as ttm_has_derived,
        {{ dbt.listagg(
            "case when recency <= 4 then concat(concept, ' ', cast(period_end as varchar), ' ', accession_number) end",
            "'; '",
            "order by period_end desc") }} as ttm_fact_refs,
        sum(case when recency between 5 and 8 then value end) as prior_ttm_value,
        count(case when recency between 5 and 8 then 1 end) as prior_ttm_quarters,
        min(case when recency = 8 then period_start end) as prior_ttm_start,
        max(case when recency = 5 then period_end end) as prior_ttm_end

    from quarters
    where recency <= 8
    group by cik, knowledge_date, metric

),

ttm_checked as (

    select
        cik,
        knowledge_date,
        metric,
        ttm_end,
        latest_quarter_value,
        ttm_has_derived = 1 as ttm_has_derived,
        ttm_fact_refs,
        case
            when ttm_quarters = 4
                and {{ dbt.datediff('ttm_start', 'ttm_end', 'day') }} between 350 and 380
            then ttm_value
        end as ttm_value,
        case
            when prior_ttm_quarters = 4
                and {{ dbt.datediff('prior_ttm_start', 'prior_ttm_end', 'day') }} between 350 and 380
                and {{ dbt.datediff('prior_ttm_end', 'ttm_end', 'day') }} between 350 and 380
            then prior_ttm_value
        end as prior_ttm_value

    from ttm

),

instants as (

    select
        *,
        row_number() over (
            partition by cik, knowledge_date, metric order by period_end desc
        ) as recency

    from instant_snapshot

),

latest_instants as (

    select
        latest.cik,
        latest.knowledge_date,
        latest.metric,
        latest.period_end,
        latest.value,
        concat(latest.concept, ' ', cast(latest.period_end as varchar), ' ', latest.accession_number) as fact_ref,
        year_before.value as value_year_before,
        row_number() over (
            partition by latest.cik, latest.knowledge_date, latest.metric
            order by abs({{ dbt.datediff('year_before.period_end', 'latest.period_end', 'day') }} - 365)
        ) as pick

    from instants as latest
    left join instants as year_before
        on year_before.cik = latest.cik
        and year_before.knowledge_date = latest.knowledge_date
        and year_before.metric = latest.metric
        and {{ dbt.datediff('year_before.period_end', 'latest.period_end', 'day') }} between 350 and 380
    where latest.recency = 1

),

flow_pivot as (

    select
        cik,
        knowledge_date,
        {%- for metric in ['revenue', 'net_income', 'eps_diluted', 'operating_cash_flow', 'dividends_paid'] %}
        max(case when metric = '{{ metric }}' then ttm_value end) as ttm_{{ metric }},
        {%- endfor %}
        max(case when metric = 'revenue' then prior_ttm_value end) as prior_ttm_revenue,
        max(case when metric = 'eps_diluted' then ttm_end end) as ttm_eps_period_end,
        max(case when metric = 'eps_diluted' then ttm_fact_refs end) as ttm_eps_fact_refs,
        max(case when metric = 'net_income' then ttm_fact_refs end) as ttm_net_income_fact_refs,
        max(case when metric = 'revenue' then ttm_fact_refs end) as ttm_revenue_fact_refs,
        max(case when metric = 'eps_diluted' and ttm_has_derived then 1 else 0 end) = 1 as ttm_eps_has_derived_quarter

    from ttm_checked
    group by cik, knowledge_date

),

instant_pivot as (

    select
        cik,
        knowledge_date,
        {%- for metric in ['stockholders_equity', 'total_assets', 'total_liabilities', 'shares_outstanding'] %}
        max(case when metric = '{{ metric }}' then value end) as {{ metric }},
        max(case when metric = '{{ metric }}' then period_end end) as {{ metric }}_date,
        max(case when metric = '{{ metric }}' then fact_ref end) as {{ metric }}_fact_ref,
        {%- endfor %}
        max(case when metric = 'stockholders_equity' then value_year_before end) as stockholders_equity_year_before

    from latest_instants
    where pick = 1
    group by cik, knowledge_date

),

final as (

    select
        k.cik,
        k.knowledge_date,
        k.valid_to,
        f.ttm_revenue,
        f.prior_ttm_revenue,
        f.ttm_net_income,
        f.ttm_eps_diluted,
        f.ttm_operating_cash_flow,
        f.ttm_dividends_paid,
        f.ttm_eps_period_end,
        f.ttm_eps_has_derived_quarter,
        f.ttm_eps_fact_refs,
        f.ttm_net_income_fact_refs,
        f.ttm_revenue_fact_refs,
        i.stockholders_equity,
        i.stockholders_equity_year_before,
        i.stockholders_equity_date,
        i.stockholders_equity_fact_ref,
        i.total_assets,
        i.total_assets_date,
        i.total_liabilities,
        i.total_liabilities_date,
        i.total_liabilities_fact_ref,
        i.shares_outstanding,
        i.shares_outstanding_date,
        i.shares_outstanding_fact_ref

    from knowledge_dates as k
    left join flow_pivot as f
        on f.cik = k.cik and f.knowledge_date = k.knowledge_date
    left join instant_pivot as i
        on i.cik = k.cik and i.knowledge_date = k.knowledge_date

)

select * from final

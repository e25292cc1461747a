{#-
    The quarters known on each knowledge date (a filing date of the company),
    the latest eight by period end: one row per CIK, knowledge date, flow
    metric and quarter.

    Point in time: only versions filed on or before the knowledge date, and of
    each period the latest such version (int_sec_fact_versions). Periods
    ending more than 800 days before the knowledge date are skipped (eight
    quarters are enough for TTM and the year before).

    A quarter is the ~90-day fact when a filing has one; else it is derived
    from the cumulative facts of the fiscal year: quarter ending E =
    cumulative(start, E) - cumulative(start, E') where E' is the previous
    quarter end (Q4 = fiscal year - nine months; cash-flow quarters from
    year-to-date figures). For EPS a derived quarter is an approximation
    (share counts differ between periods) and is flagged is_derived.
-#}
with

versions as (

    select * from {{ ref('int_sec_fact_versions') }}

),

knowledge_dates as (

    select * from {{ ref('int_sec_knowledge_dates') }}

),

snapshot as (

    select
        k.cik,
        k.knowledge_date,
        v.metric,
        v.value_kind,
        v.period_type,
        v.period_start,
        v.period_end,
        v.valid_from as filed_date,
        v.accession_number,
        v.concept,
        v.value

    from {{ versions_known_on('knowledge_dates', 'versions') }}

),

flows as (

    select * from snapshot where period_type <> 'instant'

),

direct_quarters as (

    select
        cik, knowledge_date, metric, period_start, period_end, value,
        accession_number, concept, filed_date,
        false as is_derived

    from flows
    where period_type = 'quarter'

),

derived_quarters as (

    select
        cumulative.cik,
        cumulative.knowledge_date,
        cumulative.metric,
        cast({{ dbt.dateadd('day', 1, 'earlier.period_end') }} as date) as period_start,
        cumulative.period_end,
        cumulative.value - earlier.value as value,
        cumulative.accession_number,
        cumulative.concept,
        cumulative.filed_date,
        true as is_derived

    from flows as cumulative
    inner join flows as earlier
        on earlier.cik = cumulative.cik
        and earlier.knowledge_date = cumulative.knowledge_date
        and earlier.metric = cumulative.metric
        and earlier.period_start = cumulative.period_start
        and earlier.period_end < cumulative.period_end
        and {{ dbt.datediff('earlier.period_end', 'cumulative.period_end', 'day') }} between 80 and 100
    where cumulative.period_type in ('year_to_date', 'fiscal_year')

),

all_quarters as (

    select * from direct_quarters
    union all
    select * from derived_quarters

),

quarters as (

    select
        *,
        row_number() over (
            partition by cik, knowledge_date, metric order by period_end desc
        ) as recency

    from (
        select
            *,
            row_number() over (
                partition by cik, knowledge_date, metric, period_end
                order by is_derived, filed_date desc
            ) as choice
        from all_quarters
    ) as deduplicated
    where choice = 1

),

final as (

    select
        cik,
        knowledge_date,
        metric,
        period_start,
        period_end,
        value,
        is_derived,
        concept,
        accession_number,
        filed_date,
        recency

    from quarters
    where recency <= 8

)

select * from final

{#-
    SEC facts of the mapped concepts (seed sec_concept_map), one value per
    company, metric, period and filing: when one filing reports a metric under
    two aliases, the alias with the best (lowest) priority wins.
    Only periodic reports count (10-K, 10-Q and their amendments): 8-K press
    releases repeat the same figures and proxy statements are not financial
    statements.
-#}
with

facts as (

    select * from {{ ref('stg_sec__facts') }}
    where form in ('10-K', '10-Q', '10-K/A', '10-Q/A', '10-KT', '10-QT')

),

concept_map as (

    select * from {{ ref('sec_concept_map') }}

),

mapped as (

    select
        facts.cik,
        concept_map.metric,
        concept_map.value_kind,
        concept_map.priority,
        facts.taxonomy,
        facts.concept,
        facts.unit,
        facts.period_start,
        facts.period_end,
        facts.duration_days,
        facts.filed_date,
        facts.form,
        facts.accession_number,
        facts.value

    from facts
    inner join concept_map
        on facts.taxonomy = concept_map.taxonomy
        and facts.concept = concept_map.concept
        and facts.unit = concept_map.unit

),

ranked as (

    select
        *,
        row_number() over (
            partition by cik, metric, period_start, period_end, filed_date
            order by priority, accession_number desc, value
        ) as alias_rank

    from mapped

),

final as (

    select
        cik,
        metric,
        value_kind,
        case
            when period_start is null then 'instant'
            when duration_days between 80 and 100 then 'quarter'
            when duration_days between 350 and 380 then 'fiscal_year'
            else 'year_to_date'
        end as period_type,
        period_start,
        period_end,
        duration_days,
        filed_date,
        form,
        accession_number,
        taxonomy,
        concept,
        unit,
        value

    from ranked
    where alias_rank = 1

)

select * from final

{#-
    The dates on which what is known about a company changes: every filing
    date of its mapped facts (periodic reports only), each valid until the
    next one. Grain: one row per CIK and filing date.
-#}
with

versions as (

    select * from {{ ref('int_sec_fact_versions') }}

),

dates as (

    select distinct cik, valid_from as knowledge_date from versions

),

final as (

    select
        cik,
        knowledge_date,
        lead(knowledge_date) over (partition by cik order by knowledge_date) as valid_to

    from dates

)

select * from final

{#-
    The point-in-time rule of the fundamentals, in one place: joins each
    knowledge date (a filing date of the company) to the version of every
    period that was the latest word on that date (filed on or before it and
    not yet superseded). Periods ending more than `max_age_days` before the
    knowledge date are left out (TTM and a year-earlier balance sheet need at
    most eight quarters). Renders a FROM clause: aliases `k` (knowledge
    dates) and `v` (int_sec_fact_versions rows).
-#}
{% macro versions_known_on(knowledge_dates, versions, max_age_days=800) -%}
    {{ knowledge_dates }} as k
    inner join {{ versions }} as v
        on v.cik = k.cik
        and v.valid_from <= k.knowledge_date
        and (v.valid_to is null or v.valid_to > k.knowledge_date)
        and v.period_end > {{ dbt.dateadd('day', -max_age_days, 'k.knowledge_date') }}
{%- endmacro %}

{#-
    Physical-design settings that only PostgreSQL gets. DuckDB needs no
    indexes (its hash joins and zone maps are fast; an ART index would only
    slow the build) and keeps statistics itself.
-#}

{#- `indexes` config of a model: the list on PostgreSQL, none elsewhere. -#}
{% macro postgres_indexes(indexes) -%}
    {{ return(adapter.dispatch('postgres_indexes', 'stock_warehouse')(indexes)) }}
{%- endmacro %}

{% macro default__postgres_indexes(indexes) -%}
    {{ return([]) }}
{%- endmacro %}

{% macro postgres__postgres_indexes(indexes) -%}
    {{ return(indexes) }}
{%- endmacro %}


{#-
    Post-hook: refresh the planner statistics of a freshly built table, so the
    next models (the recursive CTE looks bars up by index on every iteration)
    and the first BI queries are planned on real row counts instead of waiting
    for autovacuum. Renders nothing (the hook is skipped) on other adapters.
-#}
{% macro analyze_table(relation) -%}
    {{ return(adapter.dispatch('analyze_table', 'stock_warehouse')(relation)) }}
{%- endmacro %}

{% macro default__analyze_table(relation) -%}
{%- endmacro %}

{% macro postgres__analyze_table(relation) -%}
    analyze {{ relation }}
{%- endmacro %}

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


{#-
    Pre-hook of the recursive indicator model: PostgreSQL plans a recursive
    CTE once, guessing the work table at 10x the anchor's estimate; with
    statistics on int_prices_daily_numbered it then prefers a hash join that
    rebuilds a 619k-row hash table on EVERY iteration (~250 s for 1,259
    iterations) over the (ticker, bar_number) index lookups (~3 s). Hash and
    merge joins are switched off for this model's transaction only (SET
    LOCAL), which leaves the nested loop over the index; JIT compilation is
    switched off too (it costs more than it saves on this query).
-#}
{% macro recursive_cte_planner_settings() -%}
    {{ return(adapter.dispatch('recursive_cte_planner_settings', 'stock_warehouse')()) }}
{%- endmacro %}

{% macro default__recursive_cte_planner_settings() -%}
{%- endmacro %}

{% macro postgres__recursive_cte_planner_settings() -%}
    set local enable_hashjoin = off;
    set local enable_mergejoin = off;
    set local jit = off
{%- endmacro %}


{#-
    Post-hook of an incremental model on PostgreSQL: a unique index on
    `columns`, created when missing. dbt's `indexes` config creates indexes
    only when it creates the table, so a table built before the index was
    configured would never get it; the daily path's delete and state lookups
    of int_daily_recursive_indicators need it (without it the nested loops the
    recursive CTE forces scan the whole table once per ticker: 29 s for one
    session of the bundled data). Renders nothing on other adapters.
-#}
{% macro unique_index_if_missing(relation, columns) -%}
    {{ return(adapter.dispatch('unique_index_if_missing', 'stock_warehouse')(relation, columns)) }}
{%- endmacro %}

{% macro default__unique_index_if_missing(relation, columns) -%}
{%- endmacro %}

{% macro postgres__unique_index_if_missing(relation, columns) -%}
    create unique index if not exists {{ relation.identifier }}__{{ columns | join('__') }}
    on {{ relation }} ({{ columns | join(', ') }})
{%- endmacro %}

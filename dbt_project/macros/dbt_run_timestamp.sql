{#-
    The start of this dbt invocation (run_started_at, UTC) as a timestamp
    literal without time zone (DuckDB and PostgreSQL): the same value for
    every row a run writes.
-#}
{% macro dbt_run_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#-
    64-bit floating point type used for every price and indicator column.
    "double precision" is valid in DuckDB and PostgreSQL; dbt.type_float() is
    not used because it renders "float", which is 32-bit (FLOAT4) in DuckDB.
-#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'stock_warehouse')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

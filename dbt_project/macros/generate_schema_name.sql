{#-
    Models land exactly in the schema configured for their layer, behind the
    optional prefix (dbt var schema_prefix, default env var
    WAREHOUSE_SCHEMA_PREFIX): <prefix>staging,
    <prefix>intermediate, <prefix>marts (no usual "<target_schema>_" prefix).
    The raw sources are in <prefix>raw (models/staging/<domain>/_<domain>__sources.yml).
    Nodes without a custom schema fall back to the target schema (which
    already carries the prefix).
-#}
{% macro schema_prefix() -%}
    {{- var('schema_prefix', env_var('WAREHOUSE_SCHEMA_PREFIX', '')) | string | trim -}}
{%- endmacro %}

{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ schema_prefix() }}{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

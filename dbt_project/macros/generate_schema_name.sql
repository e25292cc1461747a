{#-
    Models land exactly in the schema configured for their layer
    (staging, intermediate, marts) without the usual "<target_schema>_" prefix.
    Nodes without a custom schema fall back to the target schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

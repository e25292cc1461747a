{#- Fails (one row with both counts) when model and compare_model have different row counts. -#}
{% test equal_rowcount(model, compare_model) %}

with model_rows as (

    select count(*) as n_rows from {{ model }}

),

compare_rows as (

    select count(*) as n_rows from {{ compare_model }}

)

select
    model_rows.n_rows as model_n_rows,
    compare_rows.n_rows as compare_n_rows
from model_rows
cross join compare_rows
where model_rows.n_rows <> compare_rows.n_rows

{% endtest %}

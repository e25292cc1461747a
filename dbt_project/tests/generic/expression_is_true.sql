{#-
    Fails for every row where `expression` is false. Rows where the expression
    evaluates to NULL pass (as in SQL CHECK constraints); write
    "x is not null and ..." when NULL must fail too. Use the test's `where`
    config to restrict the rows checked.
-#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not (
    {%- if column_name is not none %} {{ column_name }} {% endif %}
    {{ expression }}
)

{% endtest %}

{#-
    Trailing-window aggregates over exactly `rows` rows, for every row of a
    relation whose `row_index` column numbers each partition's rows 0, 1, 2,
    ... without gaps (bar_number). Renders a SELECT of all columns of
    `relation` plus one column per aggregate, NULL while fewer than `rows`
    rows are available (row_index < rows - 1, TA-Lib's warm-up).

    aggregates: list of {name, function ('avg', 'max' or 'min'), expression, rows}.

    DuckDB (and any adapter without its own version) uses a ROWS frame, which
    its segment trees evaluate fast. PostgreSQL has no moving-aggregate
    support for float8 avg, max or min, so a ROWS frame re-aggregates the
    whole frame for every row: O(rows) per row, ~9 s for each 252-row
    window over 619k bars. There the frame is split at block boundaries
    instead (blocks of `rows` consecutive rows, van Herk / Gil-Werman): the
    window [i - rows + 1, i] is the tail of one block (a suffix aggregate)
    plus the head of the next (a prefix aggregate), both running aggregates
    with an UNBOUNDED PRECEDING frame that PostgreSQL computes in one pass.
    Max and min are exact; avg adds two partial sums, each over fewer than
    `rows` doubles with no subtraction, so it differs from the frame's sum
    only by rounding (< 1e-11 on these prices). The helper columns
    (<name>__block_*) stay in the output: select the needed columns explicitly
    downstream.
-#}
{% macro trailing_window_aggregates(relation, partition_by, row_index, aggregates) -%}
    {%- for aggregate in aggregates -%}
        {%- if aggregate.function not in ('avg', 'max', 'min') -%}
            {%- do exceptions.raise_compiler_error(
                "trailing_window_aggregates: function must be avg, max or min, got "
                ~ aggregate.function ~ " for " ~ aggregate.name) -%}
        {%- endif -%}
        {%- if aggregate.rows is not integer or aggregate.rows < 1 -%}
            {%- do exceptions.raise_compiler_error(
                "trailing_window_aggregates: rows must be a positive integer for " ~ aggregate.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(adapter.dispatch('trailing_window_aggregates', 'stock_warehouse')(
        relation, partition_by, row_index, aggregates)) }}
{%- endmacro %}


{% macro default__trailing_window_aggregates(relation, partition_by, row_index, aggregates) %}
    select
        *
        {%- for aggregate in aggregates %},
        case
            when {{ row_index }} >= {{ aggregate.rows - 1 }}
                then {{ aggregate.function }}({{ aggregate.expression }}) over (
                    partition by {{ partition_by }}
                    order by {{ row_index }}
                    rows between {{ aggregate.rows - 1 }} preceding and current row
                )
        end as {{ aggregate.name }}
        {%- endfor %}

    from {{ relation }}
{% endmacro %}


{% macro postgres__trailing_window_aggregates(relation, partition_by, row_index, aggregates) %}
    {%- set previous_bar_window = "partition by " ~ partition_by ~ " order by " ~ row_index %}
    select
        *
        {%- for aggregate in aggregates %}
        {%- set n = aggregate.rows %}
        {%- set block = aggregate.name ~ "__block" %}
        {%- set block_start_offset = n - 1 %},
        case
            when {{ row_index }} >= {{ n - 1 }} then
            {%- if aggregate.function == 'avg' %}
                -- the window is exactly one block when it ends on a block's last row
                case
                    when {{ row_index }} % {{ n }} = {{ n - 1 }}
                        then {{ block }}_prefix_sum / nullif({{ block }}_prefix_count, 0)
                    else
                        (
                            coalesce({{ block }}_prefix_sum, 0)
                            + coalesce(lag({{ block }}_suffix_sum, {{ block_start_offset }}) over ({{ previous_bar_window }}), 0)
                        )
                        / nullif(
                            {{ block }}_prefix_count
                            + lag({{ block }}_suffix_count, {{ block_start_offset }}) over ({{ previous_bar_window }}),
                            0
                        )
                end
            {%- else %}
                {{ 'greatest' if aggregate.function == 'max' else 'least' }}(
                    {{ block }}_prefix,
                    lag({{ block }}_suffix, {{ block_start_offset }}) over ({{ previous_bar_window }})
                )
            {%- endif %}
        end as {{ aggregate.name }}
        {%- endfor %}

    from (

        select
            *
            {%- for aggregate in aggregates %}
            {%- set n = aggregate.rows %}
            {%- set block = aggregate.name ~ "__block" %}
            {%- set partition_by_block = "partition by " ~ partition_by ~ ", " ~ integer_divide(row_index, n) %}
            {%- set prefix_window = partition_by_block ~ " order by " ~ row_index ~ " rows unbounded preceding" %}
            {%- set suffix_window = partition_by_block ~ " order by " ~ row_index ~ " desc rows unbounded preceding" %}
            {%- if aggregate.function == 'avg' %},
            sum({{ aggregate.expression }}) over ({{ prefix_window }}) as {{ block }}_prefix_sum,
            count({{ aggregate.expression }}) over ({{ prefix_window }}) as {{ block }}_prefix_count,
            sum({{ aggregate.expression }}) over ({{ suffix_window }}) as {{ block }}_suffix_sum,
            count({{ aggregate.expression }}) over ({{ suffix_window }}) as {{ block }}_suffix_count
            {%- else %},
            {{ aggregate.function }}({{ aggregate.expression }}) over ({{ prefix_window }}) as {{ block }}_prefix,
            {{ aggregate.function }}({{ aggregate.expression }}) over ({{ suffix_window }}) as {{ block }}_suffix
            {%- endif %}
            {%- endfor %}

        from {{ relation }}

    ) as blocks
{% endmacro %}

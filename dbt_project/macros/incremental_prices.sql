{#-
    The incremental daily path of the price models (see dbt_project/README.md,
    "Incremental builds").

    Every run compares the bars as they are now (int_prices_daily_adjusted)
    with the bars the stored marts.fct_daily_indicators was computed from, and
    int_price_rebuild_starts keeps, per ticker, the first bar that differs: a
    new session, a re-delivered or deleted one, a corrected price, or a
    corporate action that changes the adjustment factors. The models then
    delete every stored row of such a ticker from that bar on and insert the
    recomputed rows: windows read the 260 bars before it as context, the
    recursive indicators continue from the stored state of the bar before it.
-#}

{#- Bars of context before the first recomputed bar: the longest window looks
    252 bars back (return_252d, high_52w), the golden cross one bar more. -#}
{% macro price_context_bars() -%}
    {{ return(260) }}
{%- endmacro %}


{#- The stored marts.fct_daily_indicators relation, or none on the first build
    and with --full-refresh. Looked up, not ref()'d: it is read before it is
    updated, and a ref would make a cycle. -#}
{% macro stored_daily_indicators() -%}
    {%- if not execute or flags.FULL_REFRESH -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = namespace(relation=none) -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.name == 'fct_daily_indicators' -%}
            {%- set found.relation = adapter.get_relation(
                database=node.database, schema=node.schema, identifier=node.alias) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found.relation) }}
{%- endmacro %}


{#- Pre-hook of the incremental price models: delete each rebuilt ticker's
    rows from its first changed bar on (also a deleted session's row, which no
    insert would replace). Nothing on a first build or a full refresh. -#}
{% macro delete_rebuilt_price_rows() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as target
        using {{ ref('int_price_rebuild_starts') }} as starts
        where target.ticker = starts.ticker
            and target.trade_date >= starts.rebuild_from
    {%- endif -%}
{%- endmacro %}

{#-
    Settings of the portfolio models: the dbt vars portfolio_benchmark and
    risk_free_rate (`--vars`), which default to the env vars PORTFOLIO_BENCHMARK
    and RISK_FREE_RATE (an unset PORTFOLIO_BENCHMARK means: each portfolio
    against its market's benchmark). Validated here so that a bad value
    stops the build with a message naming the setting.
-#}

{#- Trading days per year used to annualise returns, volatility and ratios. -#}
{% macro portfolio_trading_days_per_year() -%}
    {{ return(252) }}
{%- endmacro %}


{#-
    The configured benchmark, from var portfolio_benchmark (trimmed, upper case, as
    the settings normalise it): '' when unset (each portfolio is measured against
    its market's benchmark, dim_markets.benchmark), 'EQUAL_WEIGHT' (every portfolio
    against the equal-weighted universe of its currency), an index code of
    fct_index_daily (KS11, KQ11, KS200) or a ticker. Raises a compiler error when
    the value is not a ticker-shaped word.
-#}
{% macro portfolio_benchmark_id() -%}
    {%- set configured = var('portfolio_benchmark', env_var('PORTFOLIO_BENCHMARK', '')) -%}
    {%- set value = ('' if configured is none else configured | string) | trim | upper -%}
    {%- if value and not modules.re.fullmatch('[A-Z0-9][A-Z0-9._-]{0,15}', value) -%}
        {%- do exceptions.raise_compiler_error(
            "PORTFOLIO_BENCHMARK='" ~ value ~ "' is not a benchmark: use EQUAL_WEIGHT, an index (KS11, KQ11, KS200)"
            ~ " or a ticker of the universe (e.g. AAPL), or leave it empty for each market's own"
            ~ " (dbt var portfolio_benchmark, else env var PORTFOLIO_BENCHMARK)") -%}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}


{#-
    Fails the compilation (at run time, when `execute` is true) unless the
    configured benchmark is empty, EQUAL_WEIGHT, a ticker with rows in
    `companies` (a relation with a `ticker` column) or an index with rows in
    `indices` (a relation with an `index_code` column).
-#}
{% macro portfolio_assert_benchmark_known(companies, indices) -%}
    {%- set benchmark_id = portfolio_benchmark_id() -%}
    {%- if execute and benchmark_id not in ('', 'EQUAL_WEIGHT') -%}
        {%- set found = run_query(
            "select (select count(*) from " ~ companies ~ " where ticker = '" ~ benchmark_id ~ "')"
            ~ " + (select count(*) from " ~ indices ~ " where index_code = '" ~ benchmark_id ~ "')"
        ).columns[0].values()[0] -%}
        {%- if found == 0 -%}
            {%- do exceptions.raise_compiler_error(
                "PORTFOLIO_BENCHMARK='" ~ benchmark_id ~ "' is neither EQUAL_WEIGHT nor a ticker of the universe "
                ~ "nor a market index (unknown: no row in " ~ companies ~ " nor in " ~ indices
                ~ "; dbt var portfolio_benchmark, else env var PORTFOLIO_BENCHMARK)") -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#-
    The annual risk-free rate as a SQL double literal, from var risk_free_rate
    (a fraction in [0, 1): 0.02 = 2 % a year; default 0 = no risk-free rate).
-#}
{% macro portfolio_risk_free_rate() -%}
    {%- set configured = var('risk_free_rate', env_var('RISK_FREE_RATE', '0')) -%}
    {%- set raw_value = ('' if configured is none else configured | string) | trim or '0' -%}
    {%- set rate = raw_value | float(-1) -%}
    {%- if not modules.re.fullmatch('[0-9]*[.]?[0-9]+([eE][-+]?[0-9]+)?|[0-9]+[.]', raw_value) or rate < 0 or rate >= 1 -%}
        {%- do exceptions.raise_compiler_error(
            "RISK_FREE_RATE='" ~ raw_value ~ "' must be a fraction in [0, 1) such as 0.02 (2 % a year)"
            ~ " (dbt var risk_free_rate, else env var RISK_FREE_RATE)") -%}
    {%- endif -%}
    {{ return("cast(" ~ raw_value ~ " as " ~ type_double() ~ ")") }}
{%- endmacro %}

{#-
    Settings of the portfolio models: the dbt vars portfolio_benchmark and
    risk_free_rate (`--vars`), which default to the env vars PORTFOLIO_BENCHMARK
    and RISK_FREE_RATE. Validated here so that a bad value
    stops the build with a message naming the setting.
-#}

{#- Trading days per year used to annualise returns, volatility and ratios. -#}
{% macro portfolio_trading_days_per_year() -%}
    {{ return(252) }}
{%- endmacro %}


{#-
    The benchmark id of every portfolio: 'EQUAL_WEIGHT' (default) or a ticker,
    from var portfolio_benchmark (trimmed, upper case, as the settings normalise it).
    Raises a compiler error when the value is not a ticker-shaped word.
-#}
{% macro portfolio_benchmark_id() -%}
    {%- set configured = var('portfolio_benchmark', env_var('PORTFOLIO_BENCHMARK', 'EQUAL_WEIGHT')) -%}
    {%- set value = (('' if configured is none else configured | string) | trim | upper) or 'EQUAL_WEIGHT' -%}
    {%- if not modules.re.fullmatch('[A-Z0-9][A-Z0-9._-]{0,15}', value) -%}
        {%- do exceptions.raise_compiler_error(
            "PORTFOLIO_BENCHMARK='" ~ value ~ "' is not a benchmark: use EQUAL_WEIGHT or a ticker of the universe (e.g. AAPL)"
            ~ " (dbt var portfolio_benchmark, else env var PORTFOLIO_BENCHMARK)") -%}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}


{#-
    Fails the compilation (at run time, when `execute` is true) unless the
    configured benchmark is EQUAL_WEIGHT or a ticker with rows in `prices`
    (a relation with a `ticker` column).
-#}
{% macro portfolio_assert_benchmark_known(prices) -%}
    {%- set benchmark_id = portfolio_benchmark_id() -%}
    {%- if execute and benchmark_id != 'EQUAL_WEIGHT' -%}
        {%- set found = run_query(
            "select count(*) from " ~ prices ~ " where ticker = '" ~ benchmark_id ~ "'"
        ).columns[0].values()[0] -%}
        {%- if found == 0 -%}
            {%- do exceptions.raise_compiler_error(
                "PORTFOLIO_BENCHMARK='" ~ benchmark_id ~ "' is neither EQUAL_WEIGHT nor a ticker of the universe "
                ~ "(unknown ticker: no row in " ~ prices ~ "; dbt var portfolio_benchmark, else env var PORTFOLIO_BENCHMARK)") -%}
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

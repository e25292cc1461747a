{#-
    Settings of the portfolio models, read from the environment that
    pipelines/lib/settings.py passes to dbt (Settings.dbt_env), validated here
    so that a bad value stops the build with a message naming the variable.
-#}

{#- Trading days per year used to annualise returns, volatility and ratios. -#}
{% macro portfolio_trading_days_per_year() -%}
    {{ return(252) }}
{%- endmacro %}


{#-
    The benchmark id of every portfolio: 'EQUAL_WEIGHT' (default) or a ticker,
    from PORTFOLIO_BENCHMARK (trimmed, upper case, as the settings normalise it).
    Raises a compiler error when the value is not a ticker-shaped word.
-#}
{% macro portfolio_benchmark_id() -%}
    {%- set value = (env_var('PORTFOLIO_BENCHMARK', 'EQUAL_WEIGHT') | trim | upper) or 'EQUAL_WEIGHT' -%}
    {%- if not modules.re.fullmatch('[A-Z0-9][A-Z0-9._-]{0,15}', value) -%}
        {%- do exceptions.raise_compiler_error(
            "PORTFOLIO_BENCHMARK='" ~ value ~ "' is not a benchmark: use EQUAL_WEIGHT or a ticker of the universe (e.g. AAPL)") -%}
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
                ~ "(unknown ticker: no row in " ~ prices ~ ")") -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#-
    The annual risk-free rate as a SQL double literal, from RISK_FREE_RATE
    (a fraction in [0, 1): 0.02 = 2 % a year; default 0 = no risk-free rate).
-#}
{% macro portfolio_risk_free_rate() -%}
    {%- set raw_value = env_var('RISK_FREE_RATE', '0') | trim or '0' -%}
    {%- set rate = raw_value | float(-1) -%}
    {%- if not modules.re.fullmatch('[0-9]*[.]?[0-9]+([eE][-+]?[0-9]+)?|[0-9]+[.]', raw_value) or rate < 0 or rate >= 1 -%}
        {%- do exceptions.raise_compiler_error(
            "RISK_FREE_RATE='" ~ raw_value ~ "' must be a fraction in [0, 1) such as 0.02 (2 % a year)") -%}
    {%- endif -%}
    {{ return("cast(" ~ raw_value ~ " as " ~ type_double() ~ ")") }}
{%- endmacro %}

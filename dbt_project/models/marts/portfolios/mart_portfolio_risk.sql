{#-
    Risk and return of each portfolio over the sessions with a daily_return
    (fct_portfolio_daily), annualised with 252 trading days a year. With r the
    daily returns, n their count and rf_d = (1 + RISK_FREE_RATE)^(1/252) - 1:

        annualised_return     = (1 + total_return)^(252 / n) - 1
        annualised_volatility = stddev_samp(r) * sqrt(252)
        sharpe_ratio          = (mean(r) - rf_d) / stddev_samp(r) * sqrt(252)
        sortino_ratio         = (mean(r) - rf_d) / sqrt(mean(min(r - rf_d, 0)^2)) * sqrt(252)
        beta                  = covar_samp(r, r_benchmark) / var_samp(r_benchmark)

    The Sortino downside deviation is taken over all n days with target rf_d.
-#}

{%- set days_per_year = portfolio_trading_days_per_year() -%}
{%- set annualiser = "sqrt(cast(" ~ days_per_year ~ " as " ~ type_double() ~ "))" -%}

with

daily as (

    select * from {{ ref('fct_portfolio_daily') }}

),

parameters as (

    select
        {{ portfolio_risk_free_rate() }} as risk_free_rate,
        power(1 + {{ portfolio_risk_free_rate() }}, 1 / cast({{ days_per_year }} as {{ type_double() }})) - 1
            as daily_risk_free_rate

),

spans as (

    select
        portfolio,
        min(trade_date) as first_trade_date,
        max(trade_date) as as_of_date,
        min(drawdown) as max_drawdown,
        min(benchmark_drawdown) as benchmark_max_drawdown,
        sum(net_cash_flow) as net_invested

    from daily
    group by portfolio

),

return_stats as (

    select
        daily.portfolio,
        count(daily.daily_return) as trading_days,
        avg(daily.daily_return) as mean_daily_return,
        stddev_samp(daily.daily_return) as stddev_daily_return,
        sqrt(avg(
            least(daily.daily_return - parameters.daily_risk_free_rate, 0)
            * least(daily.daily_return - parameters.daily_risk_free_rate, 0)
        )) as downside_deviation,
        covar_samp(daily.daily_return, daily.benchmark_daily_return) as covariance_with_benchmark,
        var_samp(daily.benchmark_daily_return) as benchmark_variance,
        stddev_samp(daily.benchmark_daily_return) as stddev_benchmark_daily_return

    from daily
    cross join parameters
    where daily.daily_return is not null
    group by daily.portfolio

),

troughs as (

    select
        daily.portfolio,
        min(daily.trade_date) as trough_date

    from daily
    inner join spans
        on daily.portfolio = spans.portfolio
        and daily.drawdown = spans.max_drawdown
    where spans.max_drawdown < 0
    group by daily.portfolio

),

drawdown_peaks as (

    -- the last session up to the trough whose wealth index was the peak before
    -- the trough; the first session when the peak is the starting level 1
    select
        troughs.portfolio,
        troughs.trough_date,
        coalesce(
            max(case when daily.wealth_index = trough_day.peak_wealth_index then daily.trade_date end),
            min(daily.trade_date)
        ) as peak_date

    from troughs
    inner join daily as trough_day
        on troughs.portfolio = trough_day.portfolio
        and troughs.trough_date = trough_day.trade_date
    inner join daily
        on troughs.portfolio = daily.portfolio
        and daily.trade_date <= troughs.trough_date
    group by troughs.portfolio, troughs.trough_date

),

latest as (

    select daily.*

    from daily
    inner join spans
        on daily.portfolio = spans.portfolio
        and daily.trade_date = spans.as_of_date

),

final as (

    select
        spans.portfolio,
        latest.currency,
        latest.benchmark_id,
        spans.first_trade_date,
        spans.as_of_date,
        coalesce(return_stats.trading_days, 0) as trading_days,
        latest.cumulative_return as total_return,
        power(1 + latest.cumulative_return, {{ days_per_year }} / cast(return_stats.trading_days as {{ type_double() }})) - 1
            as annualised_return,
        return_stats.stddev_daily_return * {{ annualiser }} as annualised_volatility,
        (return_stats.mean_daily_return - parameters.daily_risk_free_rate)
        / nullif(return_stats.stddev_daily_return, 0) * {{ annualiser }} as sharpe_ratio,
        (return_stats.mean_daily_return - parameters.daily_risk_free_rate)
        / nullif(return_stats.downside_deviation, 0) * {{ annualiser }} as sortino_ratio,
        spans.max_drawdown,
        drawdown_peaks.peak_date as max_drawdown_peak_date,
        drawdown_peaks.trough_date as max_drawdown_trough_date,
        return_stats.covariance_with_benchmark / nullif(return_stats.benchmark_variance, 0) as beta,
        latest.benchmark_cumulative_return as benchmark_total_return,
        return_stats.stddev_benchmark_daily_return * {{ annualiser }} as benchmark_annualised_volatility,
        spans.benchmark_max_drawdown,
        parameters.risk_free_rate,
        parameters.daily_risk_free_rate,
        latest.market_value,
        latest.cost_basis,
        spans.net_invested,
        latest.total_pnl,
        latest.holding_count

    from spans
    cross join parameters
    inner join latest
        on spans.portfolio = latest.portfolio
    left join return_stats
        on spans.portfolio = return_stats.portfolio
    left join drawdown_peaks
        on spans.portfolio = drawdown_peaks.portfolio

)

select * from final

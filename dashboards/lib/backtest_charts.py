"""Plotly figures and display tables of a backtest. Pure functions (no I/O, no Streamlit).

Inputs are the frames of :class:`domain.backtests.run.BacktestResult` (polars): ``daily`` (one
row per session, oldest first: ``session`` as a date, ``equity`` 1.0 = the start,
``daily_return``, ``benchmark_equity``, ``benchmark_return``, ``drawdown``: fractions) and
``holdings``; and its ``metrics`` dict (:func:`domain.backtests.metrics.compute_metrics`).
A stored run's daily rows (:func:`dashboards.queries.backtest.stored_daily`) are turned into
the same frame by :func:`daily_frame`.

Fractions are shown as percent (axes ``.0%``, table text ``12.34%``); the drawdown's sessions
as dates (``2016-02-11``); a missing value as an em dash.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import polars as pl
from plotly.colors import qualitative

from dashboards.lib import formatting as fmt
from dashboards.lib.portfolio_charts import benchmark_label
from domain.backtests.metrics import ANNUALISATION, drawdown, monthly_returns

#: Sessions of the rolling Sharpe ratio's window (12 months).
ROLLING_WINDOW = 252
#: Column names of the monthly table (calendar months, then the compounded year).
MONTHS: tuple[str, ...] = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
YEAR_COLUMN = "Year"
STRATEGY_COLOR, BENCHMARK_COLOR = qualitative.Plotly[0], qualitative.Plotly[1]

#: The metrics table, in order: ``(metric key, label, kind)``; kind ``percent`` (a fraction),
#: ``ratio`` (a plain number), ``date`` (a session) or ``count``.
METRICS: tuple[tuple[str, str, str], ...] = (
    ("cagr", "CAGR", "percent"),
    ("annual_volatility", "Annualised volatility", "percent"),
    ("sharpe", "Sharpe ratio", "ratio"),
    ("sortino", "Sortino ratio", "ratio"),
    ("max_drawdown", "Max drawdown", "percent"),
    ("max_drawdown_peak", "Max drawdown peak", "date"),
    ("max_drawdown_trough", "Max drawdown trough", "date"),
    ("max_drawdown_recovery", "Max drawdown recovery", "date"),
    ("calmar", "Calmar ratio", "ratio"),
    ("beta", "Beta", "ratio"),
    ("alpha", "Alpha (annualised)", "percent"),
    ("information_ratio", "Information ratio", "ratio"),
    ("best_month", "Best month", "percent"),
    ("worst_month", "Worst month", "percent"),
    ("turnover_per_year", "Turnover per year", "percent"),
    ("hit_rate", "Hit rate", "percent"),
    ("rebalances", "Rebalances", "count"),
    ("sessions", "Sessions", "count"),
)
METRIC_COLUMN, VALUE_COLUMN = "Metric", "Value"


def format_metric(kind: str, value: object) -> str:
    """One metric's text: ``percent`` -> ``12.34%``, ``ratio`` -> ``1.23``, ``date`` ->
    ``2016-02-11``, ``count`` -> ``1,234``; None (undefined) -> an em dash.

    Raises:
        ValueError: an unknown ``kind``.
    """
    if kind == "percent":
        return fmt.pct(value)
    if kind == "ratio":
        return fmt.number(value)
    if kind == "date":
        return fmt.day(value)
    if kind == "count":
        return fmt.number(value, 0)
    raise ValueError(f"unknown metric kind {kind!r}")


def metrics_table(metrics: Mapping[str, object]) -> pd.DataFrame:
    """The metrics of one run as text: columns ``Metric`` (label) and ``Value``, one row per
    :data:`METRICS` entry, in that order."""
    return pd.DataFrame(
        {
            METRIC_COLUMN: [label for _, label, _ in METRICS],
            VALUE_COLUMN: [format_metric(kind, metrics.get(key)) for key, _, kind in METRICS],
        }
    )


def comparison_table(runs: Mapping[str, Mapping[str, object]]) -> pd.DataFrame:
    """The metrics of several runs side by side: column ``Metric``, then one text column per run
    (``runs``: run label -> metrics, in column order)."""
    table = pd.DataFrame({METRIC_COLUMN: [label for _, label, _ in METRICS]})
    for name, metrics in runs.items():
        table[name] = [format_metric(kind, metrics.get(key)) for key, _, kind in METRICS]
    return table


def daily_frame(frame: pd.DataFrame | pl.DataFrame) -> pl.DataFrame:
    """``frame`` (a result's daily frame, or a stored run's ``backtest_daily`` rows as pandas)
    as polars with ``session`` a date and the value columns floats."""
    daily = frame if isinstance(frame, pl.DataFrame) else pl.from_pandas(frame)
    if daily.schema["session"] != pl.Date:
        daily = daily.with_columns(pl.col("session").cast(pl.Date))
    return daily.with_columns(pl.exclude("session").cast(pl.Float64))


def _base_layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(title=title, height=height, margin={"t": 50, "b": 20, "l": 60, "r": 20},
                      hovermode="x unified", legend={"orientation": "h", "y": -0.15})  # fmt: skip
    return fig


def equity_figure(daily: pl.DataFrame, benchmark: str, log_scale: bool = False, title: str = "Equity") -> go.Figure:
    """The strategy's equity and its benchmark's (both 1.0 at the close before the first
    session) against the session; a log-scale y axis when ``log_scale`` (equal moves in percent
    look equal). ``benchmark``: the spec's benchmark (``EQUAL_WEIGHT`` is named "Equal-weight
    universe")."""
    x = daily["session"].to_list()
    fig = go.Figure(
        [
            go.Scatter(x=x, y=daily["equity"].to_list(), name="Strategy", line={"color": STRATEGY_COLOR}),
            go.Scatter(x=x, y=daily["benchmark_equity"].to_list(), name=benchmark_label(benchmark),
                       line={"color": BENCHMARK_COLOR}),
        ]
    )  # fmt: skip
    fig.update_yaxes(type="log" if log_scale else "linear", tickformat=".2f", title="Equity (start = 1)")
    return _base_layout(fig, title + (" (log scale)" if log_scale else ""))


def drawdown_figure(daily: pl.DataFrame, benchmark: str) -> go.Figure:
    """The strategy's drawdown from its running peak (filled, fractions <= 0, as percent) and its
    benchmark's (computed the same way from ``benchmark_equity``)."""
    x = daily["session"].to_list()
    bench = drawdown(daily["benchmark_equity"].to_numpy())
    fig = go.Figure(
        [
            go.Scatter(x=x, y=daily["drawdown"].to_list(), name="Strategy", fill="tozeroy",
                       line={"color": STRATEGY_COLOR}),
            go.Scatter(x=x, y=bench.tolist(), name=benchmark_label(benchmark), line={"color": BENCHMARK_COLOR}),
        ]
    )  # fmt: skip
    fig.update_yaxes(tickformat=".0%", hoverformat=".2%")
    return _base_layout(fig, "Drawdown", height=300)


def monthly_table(daily: pl.DataFrame) -> pd.DataFrame:
    """Compounded calendar-month returns (fractions) as a year x month table: index ``year``,
    columns :data:`MONTHS` (NaN: a month outside the backtest) and ``Year`` (the months of that
    year compounded)."""
    months = monthly_returns(daily.select("session", "daily_return")).to_pandas()
    table = months.pivot(index="year", columns="month", values="monthly_return").reindex(columns=range(1, 13))
    table.columns = list(MONTHS)
    table[YEAR_COLUMN] = months.groupby("year")["monthly_return"].apply(lambda r: float(np.prod(1 + r) - 1))
    table.index.name = "year"
    return table


def monthly_heatmap(table: pd.DataFrame) -> go.Figure:
    """:func:`monthly_table` as a heatmap (years down, months across; red losses, green gains,
    white 0; each cell labelled in percent)."""
    values = table[list(MONTHS)]
    text = [[fmt.pct(v, 1) if not pd.isna(v) else "" for v in row] for row in values.to_numpy()]
    limit = float(np.nanmax(np.abs(values.to_numpy(dtype=float)))) if values.notna().any().any() else 0.1
    fig = go.Figure(
        go.Heatmap(z=values.to_numpy(dtype=float), x=list(MONTHS), y=[str(y) for y in table.index], text=text,
                   texttemplate="%{text}", colorscale="RdYlGn", zmid=0, zmin=-limit, zmax=limit,
                   colorbar={"tickformat": ".0%"}, hovertemplate="%{y} %{x}: %{text}<extra></extra>")
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(title="Monthly returns", height=max(220, 40 * len(table) + 100),
                      margin={"t": 50, "b": 20, "l": 60, "r": 20})  # fmt: skip
    return fig


def rolling_sharpe(daily: pl.DataFrame, window: int = ROLLING_WINDOW) -> pl.DataFrame:
    """The Sharpe ratio of the last ``window`` daily returns at each session (risk-free rate 0,
    annualised like :func:`domain.backtests.metrics.compute_metrics`: mean / sample standard
    deviation x sqrt(252)): columns ``session``, ``rolling_sharpe`` (null for the first
    ``window - 1`` sessions and where the window's returns do not vary)."""
    returns = pl.col("daily_return")
    std = returns.rolling_std(window, ddof=1)
    sharpe = pl.when(std > 0).then(returns.rolling_mean(window) / std * math.sqrt(ANNUALISATION))
    return daily.select("session", rolling_sharpe=sharpe)


def rolling_sharpe_figure(rolling: pl.DataFrame, window: int = ROLLING_WINDOW) -> go.Figure:
    """:func:`rolling_sharpe` as a line with the zero line."""
    fig = go.Figure(
        go.Scatter(x=rolling["session"].to_list(), y=rolling["rolling_sharpe"].to_list(), name="Rolling Sharpe",
                   line={"color": STRATEGY_COLOR}, connectgaps=False)
    )  # fmt: skip
    fig.add_hline(y=0, line={"color": "gray", "width": 1})
    fig.update_yaxes(hoverformat=".2f")
    return _base_layout(fig, f"Rolling Sharpe ratio ({window} sessions, 12 months)", height=300)


def comparison_figure(curves: Mapping[str, pl.DataFrame], log_scale: bool = False) -> go.Figure:
    """The equity of several runs (``curves``: run label -> daily frame) on one chart, one colour
    each; a log-scale y axis when ``log_scale``."""
    fig = go.Figure()
    for i, (name, daily) in enumerate(curves.items()):
        fig.add_trace(go.Scatter(x=daily["session"].to_list(), y=daily["equity"].to_list(), name=name,
                                 line={"color": qualitative.Plotly[i % len(qualitative.Plotly)]}))  # fmt: skip
    fig.update_yaxes(type="log" if log_scale else "linear", tickformat=".2f", title="Equity (start = 1)")
    return _base_layout(fig, "Equity of the compared runs" + (" (log scale)" if log_scale else ""), height=420)


#: Columns of :func:`holdings_at`, in order.
HOLDING_COLUMNS: tuple[str, ...] = (
    "ticker", "company_name", "rank", "rank_value", "target_weight", "bought", "entry_price", "exit_session",
    "exit_price", "holding_return", "exit_reason",
)  # fmt: skip


def holdings_at(holdings: pl.DataFrame, session: date, names: Mapping[str, str]) -> pd.DataFrame:
    """The picks of the rebalance of ``session`` in rank order, with the company name (``names``:
    ticker -> name) and ``holding_return`` (exit price / entry price - 1, fraction; empty when
    not bought): columns :data:`HOLDING_COLUMNS`."""
    rows = holdings.filter(pl.col("rebalance_session") == session).sort("rank")
    rows = rows.with_columns(
        company_name=pl.col("ticker").replace_strict(dict(names), default=None, return_dtype=pl.String),
        holding_return=pl.col("exit_price") / pl.col("entry_price") - 1,
    )
    return rows.select(HOLDING_COLUMNS).to_pandas()


def rebalance_sessions(holdings: pl.DataFrame) -> list[date]:
    """The rebalance sessions that have picks, oldest first."""
    return sorted(holdings["rebalance_session"].unique().to_list())

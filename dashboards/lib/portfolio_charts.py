"""Plotly figures of the Portfolio page. Pure functions of DataFrames (no I/O).

Inputs are the frames of :mod:`dashboards.queries.portfolio`: :func:`~dashboards.queries.portfolio.daily`
(one row per trade date, oldest first; money in USD, returns and drawdowns as fractions) and
:func:`~dashboards.queries.portfolio.sector_allocation`. Fractions are drawn as percent axes.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

PORTFOLIO_COLOR = "#1f77b4"
BENCHMARK_COLOR = "#7f7f7f"
INVESTED_COLOR = "#ff7f0e"

#: Row order of :func:`performance_figure`'s panels.
PANELS: tuple[str, ...] = ("Market value (USD)", "Cumulative return (TWR)", "Drawdown")


def benchmark_label(benchmark_id: str | None) -> str:
    """Display name of a benchmark id (``EQUAL_WEIGHT`` or a ticker)."""
    if not benchmark_id:
        return "Benchmark"
    return "Equal-weight universe" if benchmark_id == "EQUAL_WEIGHT" else str(benchmark_id)


def performance_figure(daily: pd.DataFrame) -> go.Figure:
    """Three stacked panels sharing the date axis.

    1. Market value (USD) and net amount invested (cumulative ``net_cash_flow``: buys minus sales
       and dividends taken out).
    2. Cumulative time-weighted return of the portfolio and of its benchmark over the same days.
    3. Drawdown of both from their running peaks (<= 0).

    Traces, in order: market value, net invested, portfolio return, benchmark return,
    portfolio drawdown, benchmark drawdown.
    """
    label = benchmark_label(daily["benchmark_id"].dropna().iloc[0] if daily["benchmark_id"].notna().any() else None)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.05, subplot_titles=PANELS,
                        row_heights=[0.4, 0.35, 0.25])  # fmt: skip
    x = daily["trade_date"]
    fig.add_trace(go.Scatter(x=x, y=daily["market_value"], name="Market value", line={"color": PORTFOLIO_COLOR}), 1, 1)
    fig.add_trace(
        go.Scatter(x=x, y=daily["net_cash_flow"].cumsum(), name="Net invested", line={"color": INVESTED_COLOR, "dash": "dot"}),
        1,
        1,
    )
    fig.add_trace(go.Scatter(x=x, y=daily["cumulative_return"], name="Portfolio", line={"color": PORTFOLIO_COLOR}), 2, 1)
    fig.add_trace(
        go.Scatter(x=x, y=daily["benchmark_cumulative_return"], name=label, line={"color": BENCHMARK_COLOR}), 2, 1
    )
    fig.add_trace(
        go.Scatter(x=x, y=daily["drawdown"], name="Portfolio drawdown", fill="tozeroy", line={"color": PORTFOLIO_COLOR},
                   showlegend=False),  # fmt: skip
        3,
        1,
    )
    fig.add_trace(
        go.Scatter(x=x, y=daily["benchmark_drawdown"], name=f"{label} drawdown", line={"color": BENCHMARK_COLOR},
                   showlegend=False),  # fmt: skip
        3,
        1,
    )
    fig.update_yaxes(tickprefix="$", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", row=2, col=1)
    fig.update_yaxes(tickformat=".0%", row=3, col=1)
    fig.update_layout(height=720, margin={"t": 40, "b": 20}, hovermode="x unified", legend={"orientation": "h"})
    return fig


def allocation_figure(allocation: pd.DataFrame) -> go.Figure:
    """Donut of ``weight`` by ``sector`` (one slice per row; hover shows the USD market value)."""
    fig = go.Figure(
        go.Pie(
            labels=allocation["sector"].fillna("Unknown"),
            values=allocation["market_value"],
            hole=0.45,
            sort=False,
            hovertemplate="%{label}: %{percent} ($%{value:,.0f})<extra></extra>",
        )
    )
    fig.update_layout(
        height=380, margin={"t": 30, "b": 10, "l": 10, "r": 10}, legend={"orientation": "h", "y": -0.05}
    )
    return fig

"""Plotly figures of the Portfolio page. Pure functions of DataFrames (no I/O).

Inputs are the frames of :mod:`dashboards.queries.portfolio`: :func:`~dashboards.queries.portfolio.daily`
(one row per trade date, oldest first; money in the portfolio's currency, returns and drawdowns
as fractions) and :func:`~dashboards.queries.portfolio.sector_allocation`. Fractions are drawn as
percent axes, money with the currency's symbol and decimals.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from dashboards.lib import formatting as fmt
from dashboards.lib.markets import EQUAL_WEIGHT

#: Row order of :func:`performance_figure`'s panels (the first is followed by the currency).
PANELS: tuple[str, ...] = ("Market value", "Cumulative return (TWR)", "Drawdown")
#: The series of :func:`performance_figure`, in trace order, and their colours: one colour each,
#: from plotly's qualitative ``Plotly`` palette, so that every legend entry names one line.
SERIES: tuple[str, ...] = (
    "market_value", "net_invested", "portfolio_return", "benchmark_return", "portfolio_drawdown", "benchmark_drawdown",
)  # fmt: skip
SERIES_COLORS: dict[str, str] = dict(zip(SERIES, qualitative.Plotly, strict=False))


def benchmark_label(benchmark_id: str | None) -> str:
    """Display name of a benchmark id (``EQUAL_WEIGHT`` or a ticker)."""
    if not benchmark_id:
        return "Benchmark"
    return "Equal-weight universe" if benchmark_id == EQUAL_WEIGHT else str(benchmark_id)


def performance_figure(daily: pd.DataFrame, currency: str = "USD") -> go.Figure:
    """Three stacked panels sharing the date axis.

    1. Market value (in ``currency``, the portfolio's) and net amount invested (cumulative ``net_cash_flow``: buys minus sales
       and dividends taken out).
    2. Cumulative time-weighted return of the portfolio and of its benchmark over the same days.
    3. Drawdown of both from their running peaks (<= 0).

    Traces, in order (:data:`SERIES`): market value, net invested, portfolio return, benchmark
    return, portfolio drawdown, benchmark drawdown; each in its own colour
    (:data:`SERIES_COLORS`) and listed in the legend (a click hides a line).
    """
    label = benchmark_label(daily["benchmark_id"].dropna().iloc[0] if daily["benchmark_id"].notna().any() else None)
    titles = (f"{PANELS[0]} ({currency})", *PANELS[1:])
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.05, subplot_titles=titles,
                        row_heights=[0.4, 0.35, 0.25])  # fmt: skip
    x = daily["trade_date"]
    lines = [  # (series, name, values, panel row, extra Scatter arguments)
        ("market_value", "Market value", daily["market_value"], 1, {}),
        ("net_invested", "Net invested", daily["net_cash_flow"].cumsum(), 1, {"dash": "dot"}),
        ("portfolio_return", "Portfolio return", daily["cumulative_return"], 2, {}),
        ("benchmark_return", f"{label} return", daily["benchmark_cumulative_return"], 2, {}),
        ("portfolio_drawdown", "Portfolio drawdown", daily["drawdown"], 3, {"fill": "tozeroy"}),
        ("benchmark_drawdown", f"{label} drawdown", daily["benchmark_drawdown"], 3, {}),
    ]
    for series, name, values, row, extra in lines:
        line = {"color": SERIES_COLORS[series], **({"dash": extra["dash"]} if "dash" in extra else {})}
        fig.add_trace(go.Scatter(x=x, y=values, name=name, line=line, fill=extra.get("fill"), showlegend=True), row, 1)
    fig.update_yaxes(tickprefix=fmt.currency_symbol(currency), hoverformat=f",.{fmt.money_decimals(currency)}f",
                     row=1, col=1)  # fmt: skip
    fig.update_yaxes(tickformat=".0%", row=2, col=1)
    fig.update_yaxes(tickformat=".0%", row=3, col=1)
    fig.update_layout(height=720, margin={"t": 40, "b": 20}, hovermode="x unified", showlegend=True,
                      legend={"orientation": "h"})  # fmt: skip
    return fig


def allocation_figure(allocation: pd.DataFrame, currency: str = "USD") -> go.Figure:
    """Donut of ``weight`` by ``sector`` (one slice per row; hover shows the market value in
    ``currency``)."""
    fig = go.Figure(
        go.Pie(
            labels=allocation["sector"].fillna("Unknown"),
            values=allocation["market_value"],
            hole=0.45,
            sort=False,
            hovertemplate=f"%{{label}}: %{{percent}} ({fmt.currency_symbol(currency)}%{{value:,.0f}})<extra></extra>",
        )
    )
    fig.update_layout(
        height=380, margin={"t": 30, "b": 10, "l": 10, "r": 10}, legend={"orientation": "h", "y": -0.05}
    )
    return fig

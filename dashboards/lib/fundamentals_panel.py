"""Stock page panel: valuation ratios from SEC filings over time, and quarters as first reported.

:func:`valuation_figure` is a pure function of a :func:`dashboards.queries.stock.valuation_history`
frame; :func:`render` draws the whole panel with Streamlit, money in the currency of the ticker's
market and dates on its exchange's sessions.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from dashboards.lib import formatting as fmt
from dashboards.lib import tables
from dashboards.lib.charts import session_rangebreaks
from dashboards.lib.stock_reads import StockReads
from dashboards.queries import stock as queries
from domain.calendar import EXCHANGE

#: Row order of :func:`valuation_figure`'s panels.
VALUATION_PANELS: tuple[str, ...] = ("P/E and P/B", "ROE and net margin (%)")


def valuation_figure(history: pd.DataFrame, exchange: str = EXCHANGE) -> go.Figure:
    """Two panels sharing the date axis: PER and PBR (ratios), ROE and net margin (percent).

    Gaps stay gaps: a day with a NULL ratio (missing or non-positive input) is not drawn. The
    date axis shows the sessions of ``exchange`` only, like the price chart
    (:func:`dashboards.lib.charts.session_rangebreaks`).
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06, subplot_titles=VALUATION_PANELS)
    x = history["trade_date"]
    fig.add_trace(go.Scatter(x=x, y=history["pe_ratio"], name="P/E (TTM diluted EPS)", mode="lines"), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=history["pb_ratio"], name="P/B", mode="lines"), row=1, col=1)
    for column, name in (("roe", "ROE (TTM)"), ("net_margin", "Net margin (TTM)")):
        values = pd.to_numeric(history[column], errors="coerce") * 100
        fig.add_trace(go.Scatter(x=x, y=values, name=name, mode="lines"), row=2, col=1)
    fig.update_layout(height=460, margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"orientation": "h"},
                      hovermode="x unified")  # fmt: skip
    fig.update_xaxes(rangebreaks=session_rangebreaks(x, exchange))
    fig.update_yaxes(title_text="ratio", hoverformat=".2f", row=1, col=1)
    fig.update_yaxes(title_text="%", ticksuffix="%", hoverformat=".1f", row=2, col=1)
    return fig


def _quarter_table(quarters: pd.DataFrame, currency: str) -> pd.DataFrame:
    def compact(column: str) -> pd.Series:
        return quarters[column].map(lambda v: fmt.money_compact(v, currency))

    return pd.DataFrame(
        {
            "Quarter end": quarters["period_end"].map(fmt.day),
            "Filed": quarters["first_reported_date"].map(fmt.day),
            "Revenue": compact("quarter_revenue"),
            "Net income": compact("quarter_net_income"),
            "Diluted EPS": [
                fmt.money(v, currency) + (" *" if derived else "")
                for v, derived in zip(quarters["quarter_eps_diluted"], quarters["eps_diluted_is_derived"], strict=True)
            ],
            "Operating cash flow": compact("quarter_operating_cash_flow"),
            "TTM EPS": quarters["ttm_eps_diluted"].map(lambda v: fmt.money(v, currency)),
            "Equity": compact("stockholders_equity"),
        }
    )


def render(
    reads: StockReads,
    ticker: str,
    start: date,
    end: date,
    currency: str = "USD",
    exchange: str = EXCHANGE,
    vendor_snapshot: bool = True,
) -> None:
    """The panel for ``ticker`` over ``start..end`` (a caption when there are no filings), read
    through the page's cached ``reads``; money in ``currency``, dates on the sessions of
    ``exchange``; ``vendor_snapshot``: the ticker's ratios above come from the vendor snapshot."""
    st.subheader("Valuation from SEC filings (point in time)")
    history = reads(queries.valuation_history, ticker, start, end)
    if history.empty:
        st.caption(
            f"No SEC filings for {ticker} in the warehouse"
            + (
                ": the P/E and P/B above are the vendor snapshot of the financials file."
                if vendor_snapshot
                else ", and no vendor snapshot either: it has no market cap, P/E or P/B here."
            )
        )
        return
    last = history.iloc[-1].to_dict()
    cols = st.columns(6)
    cols[0].metric(f"P/E ({fmt.day(last['trade_date'])})", fmt.number(last["pe_ratio"]))
    cols[1].metric("P/B", fmt.number(last["pb_ratio"]))
    cols[2].metric("ROE", fmt.pct(last["roe"]))
    cols[3].metric("Debt / equity", fmt.number(last["debt_to_equity"]))
    cols[4].metric("Net margin", fmt.pct(last["net_margin"]))
    cols[5].metric("Revenue growth YoY", fmt.pct(last["revenue_growth_yoy"], signed=True))
    reasons = [last[c] for c in ("pe_ratio_null_reason", "pb_ratio_null_reason", "roe_null_reason") if last.get(c)]
    st.caption(
        f"TTM diluted EPS {fmt.money(last['ttm_eps_diluted'], currency)} from filings known on "
        f"{fmt.day(last['knowledge_date'])}; per-share figures on the split basis of the prices."
        + (f" Missing: {'; '.join(dict.fromkeys(reasons))}." if reasons else "")
    )
    st.plotly_chart(valuation_figure(history, exchange), key="valuation_chart", config={"displaylogo": False})
    with st.expander("Facts used on the last day (concept, period end, accession number)"):
        for label, column in (
            ("TTM diluted EPS", "ttm_eps_fact_refs"),
            ("TTM net income", "ttm_net_income_fact_refs"),
            ("Stockholders' equity", "stockholders_equity_fact_ref"),
            ("Shares outstanding", "shares_outstanding_fact_ref"),
        ):
            st.markdown(f"**{label}**: {fmt.text(last.get(column))}")
    quarters = reads(queries.quarterly_fundamentals, ticker)
    if not quarters.empty:
        st.markdown("**Quarters as first reported** (\\* EPS derived as fiscal year minus nine months)")
        st.dataframe(_quarter_table(quarters, currency), hide_index=True, placeholder=tables.EMPTY_CELL)

"""Stock page panel: the ticker against its market's benchmark index over the sessions shown.

The benchmark is the markets seed's (``KOSPI -> KS11``, ``KOSDAQ -> KQ11``; the US market's is the
equal-weight universe, no index, so no panel: :func:`dashboards.lib.markets.benchmark_index`); its
closes come from ``marts.fct_index_daily`` (:func:`dashboards.queries.stock.index_history`). Both
series are cumulative returns from the first session they share
(:func:`dashboards.lib.charts.relative_returns`), on the exchange's session axis. A warehouse
without that table (built before the index prices) gets a caption saying so.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards.lib import charts
from dashboards.lib import formatting as fmt
from dashboards.lib.markets import benchmark_index
from dashboards.lib.stock_reads import StockReads
from dashboards.queries import stock as queries
from domain.markets import Market


def render(reads: StockReads, ticker: str, history: pd.DataFrame, market: Market) -> None:
    """The panel for ``ticker`` (of ``market``) over the sessions of ``history`` (a frame like
    :func:`dashboards.queries.stock.price_history`), read through the page's cached ``reads``."""
    code = benchmark_index(market.code)
    if code is None or history.empty:
        return
    first, last = (pd.Timestamp(history["trade_date"].iloc[i]).date() for i in (0, -1))
    index = reads(queries.index_history, code, first, last)
    if index is None:
        st.caption(f"Benchmark {code}: this warehouse has no index prices yet (marts.fct_index_daily).")
        return
    relative = charts.relative_returns(history, index)
    if relative.empty:
        st.caption(f"Benchmark {code}: no index prices between {first} and {last}.")
        return
    name = str(index["index_name"].dropna().iloc[0]) if index["index_name"].notna().any() else code
    st.subheader(f"Against the {name} index")
    start, end = (fmt.day(relative["trade_date"].iloc[i]) for i in (0, -1))
    cols = st.columns(3)
    stock_return, index_return = relative["stock"].iloc[-1], relative["index"].iloc[-1]
    cols[0].metric(f"{ticker} return", fmt.pct(stock_return, signed=True))
    cols[1].metric(f"{name} return", fmt.pct(index_return, signed=True))
    cols[2].metric("Difference", fmt.pct(stock_return - index_return, signed=True), help="in percentage points")
    st.caption(f"{len(relative)} sessions from {start} to {end}, both from their close on {start}.")
    st.plotly_chart(charts.benchmark_figure(relative, ticker, name, market.exchange_calendar), key="stock_benchmark",
                    config={"displaylogo": False})  # fmt: skip

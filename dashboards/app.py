"""Entry point of the Streamlit app: ``streamlit run dashboards/app.py``.

Declares the pages (Screener, Stock, Portfolio, Alerts, Backtest) with ``st.navigation`` and draws the frame
shared by every page: the market data date of each market (the last trading day with prices,
from ``marts.dim_companies``) in bold, the build time and run of ``meta.build_info`` below it in
small print, or a friendly message when the warehouse has not been built yet. The app reads the
published DuckDB snapshot, or the PostgreSQL warehouse when ``WAREHOUSE_URL`` is
set, always read-only (see :mod:`domain.warehouse.readers`; settings and reader: :mod:`dashboards.lib.context`).

The page scripts live in ``views/``, not ``pages/``: a ``pages/`` folder next to
the entry point switches Streamlit to its legacy folder-based navigation, which
runs a page script without this frame.
"""

from __future__ import annotations

import streamlit as st

from dashboards.lib import context
from dashboards.lib import formatting as fmt
from dashboards.queries import build
from domain.warehouse.readers import DATABASE_ERRORS, BuildInfo, Reader, WarehouseNotBuiltError


def _data_as_of(reader: Reader, info: BuildInfo | None) -> None:
    """Sidebar: "<market> market data as of <last trade date>" per market in bold (the latest
    trading day with prices), then the build time and run in small print."""
    try:
        markets = build.market_dates(reader)
    except DATABASE_ERRORS as exc:
        st.sidebar.caption(f"Market data date unknown: {exc}")
        markets = None
    if markets == []:
        st.sidebar.markdown("**No market data yet**")
    for market in markets or ():
        st.sidebar.markdown(
            f":material/event: **{fmt.market_name(market.market)} market data as of {fmt.day(market.last_trade_date)}**"
        )
    if info is None:
        st.sidebar.caption(f"Build time unknown (empty `{reader.table('meta', 'build_info')}`)")
    else:
        st.sidebar.caption(f"Warehouse built {info.built_at:%Y-%m-%d %H:%M} UTC · run `{info.run_id}`")


st.set_page_config(page_title="Stock screener", page_icon=":material/query_stats:", layout="wide")

SCREENER_PAGE = st.Page("views/screener.py", title="Screener", icon=":material/filter_alt:", default=True)
STOCK_PAGE = st.Page("views/stock.py", title="Stock", icon=":material/candlestick_chart:")
PORTFOLIO_PAGE = st.Page("views/portfolio.py", title="Portfolio", icon=":material/account_balance_wallet:")
ALERTS_PAGE = st.Page("views/alerts.py", title="Alerts", icon=":material/notifications:")
BACKTEST_PAGE = st.Page("views/backtest.py", title="Backtest", icon=":material/history:")

page = st.navigation([SCREENER_PAGE, STOCK_PAGE, PORTFOLIO_PAGE, ALERTS_PAGE, BACKTEST_PAGE])

settings = context.settings()
reader = context.reader()
try:
    info = build.build_info(reader)
except WarehouseNotBuiltError:
    st.title("Stock screener")
    if settings.backend == "postgres":
        st.info(
            "The warehouse has not been built yet: run `make build` to build it (expected table "
            f"`{reader.table('meta', 'build_info')}` in {reader.describe()}).",
            icon=":material/hourglass_empty:",
        )
    else:
        st.info(
            "No warehouse snapshot yet: run `make build` to build the warehouse and publish "
            f"its snapshot (expected at `{settings.snapshot_path}`).",
            icon=":material/hourglass_empty:",
        )
    st.stop()
except DATABASE_ERRORS as exc:
    st.title("Stock screener")
    if settings.backend == "postgres":
        st.error(
            f"Could not read {reader.describe()}: {exc}. "
            "Check `WAREHOUSE_URL` and that the server is running, or run `make build`."
        )
    else:
        st.error(f"Could not read {reader.describe()}: {exc}. Run `make build` to publish a new one.")
    st.stop()


_data_as_of(reader, info)
page.run()

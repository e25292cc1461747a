"""Entry point of the Streamlit app: ``streamlit run dashboards/app.py``.

Declares the pages (Screener, Stock) with ``st.navigation`` and draws the frame
shared by every page: the "data as of" line from the snapshot's
``meta.build_info``, or a friendly message when no snapshot has been built yet.
The app only ever reads the published snapshot (see :mod:`dashboards.lib.warehouse`).

The page scripts live in ``views/``, not ``pages/``: a ``pages/`` folder next to
the entry point switches Streamlit to its legacy folder-based navigation, which
runs a page script without this frame.
"""

from __future__ import annotations

import duckdb
import streamlit as st

from dashboards.lib import warehouse

st.set_page_config(page_title="Stock screener", page_icon=":material/query_stats:", layout="wide")

SCREENER_PAGE = st.Page("views/screener.py", title="Screener", icon=":material/filter_alt:", default=True)
STOCK_PAGE = st.Page("views/stock.py", title="Stock", icon=":material/candlestick_chart:")

page = st.navigation([SCREENER_PAGE, STOCK_PAGE])

try:
    info = warehouse.build_info()
except warehouse.SnapshotMissingError:
    st.title("Stock screener")
    st.info(
        "No warehouse snapshot yet: run `make build` to build the warehouse and publish "
        f"its snapshot (expected at `{warehouse.snapshot_path()}`).",
        icon=":material/hourglass_empty:",
    )
    st.stop()
except duckdb.Error as exc:
    st.title("Stock screener")
    st.error(
        f"The warehouse snapshot at `{warehouse.snapshot_path()}` could not be read: {exc}. "
        "Run `make build` to publish a new one."
    )
    st.stop()

if info is None:
    st.sidebar.caption("Data as of: unknown (empty `meta.build_info`)")
else:
    st.sidebar.caption(f"Data as of {info.built_at:%Y-%m-%d %H:%M} UTC · run `{info.run_id}`")

page.run()

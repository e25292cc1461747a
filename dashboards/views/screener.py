"""Screener page: filter ``marts.mart_screener_latest`` (latest row per ticker).

Filters sit in the sidebar in display units (market cap in USD billions,
dividend yield / returns / distance from the 52-week high in percent); ranges
are open intervals ("over" / "under"). Choosing a preset writes its values into
the filter widgets; editing any filter afterwards switches the preset menu to
"Custom". The result table is sortable and downloadable as CSV (warehouse
units: fractions and USD). Selecting a table row (or picking a ticker below the
table) and pressing "Open chart" opens it on the Stock page (``?ticker=XYZ``).
"""

from __future__ import annotations

import time
from datetime import date

import streamlit as st

from dashboards.lib import filter_form as ff
from dashboards.lib import screens, warehouse

CUSTOM = "Custom"
KEY_PRESET = "scr_preset"
KEY_TABLE = "scr_table"
STOCK_PAGE = "views/stock.py"

TREND_LABELS = {"any": "Any", "above": "Above", "below": "Below"}


def _apply_preset() -> None:
    name = st.session_state[KEY_PRESET]
    if name == CUSTOM:
        return
    values = ff.widget_values(screens.PRESETS[name], st.session_state.get("_scr_sectors_available"))
    for key, value in values.items():
        st.session_state[key] = value


def _mark_custom() -> None:
    st.session_state[KEY_PRESET] = CUSTOM


def _init_state(available_sectors: list[str]) -> None:
    st.session_state["_scr_sectors_available"] = available_sectors
    st.session_state.setdefault(KEY_PRESET, screens.NO_PRESET)
    defaults = ff.widget_values(screens.PRESETS[screens.NO_PRESET], available_sectors)
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)
    # a warehouse without some sector must not leave it selected
    kept = [s for s in st.session_state[ff.KEY_SECTORS] if s in available_sectors]
    if kept != list(st.session_state[ff.KEY_SECTORS]):
        st.session_state[ff.KEY_SECTORS] = kept


def _range_inputs(field: ff.RangeField) -> None:
    st.markdown(f"**{field.label}**")
    low, high = st.columns(2)
    common = {"value": None, "step": field.step, "format": "%g", "on_change": _mark_custom, "persist_state": "session"}
    low.number_input("over", key=field.min_key, placeholder="any", **common)
    high.number_input("under", key=field.max_key, placeholder="any", **common)


def _minimum_input(label: str, key: str, *, step: float | int, help: str) -> None:
    """An optional lower bound (empty = any); integer steps give a whole-number input."""
    st.number_input(
        label,
        key=key,
        value=None,
        min_value=0 if isinstance(step, int) else 0.0,
        step=step,
        **({} if isinstance(step, int) else {"format": "%g"}),
        placeholder="any",
        help=help,
        on_change=_mark_custom,
        persist_state="session",
    )


def _trend_radio(label: str, key: str) -> None:
    st.radio(
        label,
        list(TREND_LABELS),
        format_func=TREND_LABELS.__getitem__,
        key=key,
        horizontal=True,
        on_change=_mark_custom,
        persist_state="session",
    )


def _filters(available_sectors: list[str]) -> None:
    with st.sidebar:
        st.header("Filters")
        st.text_input(
            "Ticker or company contains", key=ff.KEY_TEXT, on_change=_mark_custom, persist_state="session"
        )
        st.multiselect(
            "Sector",
            available_sectors,
            key=ff.KEY_SECTORS,
            placeholder="All sectors",
            on_change=_mark_custom,
            persist_state="session",
        )
        by_field = {f.spec_field: f for f in ff.RANGE_FIELDS}
        with st.expander("Fundamentals", expanded=True):
            for name in ("market_cap", "pe_ratio", "pb_ratio", "dividend_yield"):
                _range_inputs(by_field[name])
            st.caption("From SEC filings (companies without filings never match):")
            for name in ("roe", "debt_to_equity", "net_margin", "revenue_growth_yoy"):
                _range_inputs(by_field[name])
        with st.expander("Technicals", expanded=True):
            _range_inputs(by_field["rsi_14"])
            _trend_radio("Close vs SMA 50", ff.KEY_SMA50)
            _trend_radio("Close vs SMA 200", ff.KEY_SMA200)
            _minimum_input(
                "Max % below 52-week high",
                ff.KEY_BELOW_HIGH,
                step=1.0,
                help="5 keeps stocks within 5 % of their 52-week high.",
            )
            _minimum_input(
                "Min relative volume", ff.KEY_RELVOL, step=0.1, help="Today's volume / 20-day average volume."
            )
            st.checkbox("New 52-week high today", key=ff.KEY_NEW_HIGH, on_change=_mark_custom, persist_state="session")
            st.checkbox(
                "Golden cross (SMA 50 over SMA 200) in last 20 days",
                key=ff.KEY_GOLDEN,
                on_change=_mark_custom,
                persist_state="session",
            )
        with st.expander("Returns (%)", expanded=False):
            for window in screens.RETURN_WINDOWS:
                _range_inputs(by_field[f"return_{window}"])
        with st.expander("News (7 days)", expanded=False):
            _minimum_input(
                "Min news articles",
                ff.KEY_NEWS_MIN,
                step=1,
                help="Articles tagged with the ticker in the 7 calendar days ending on its latest trade date.",
            )
            _range_inputs(by_field["news_sentiment_7d"])


COLUMN_CONFIG = {
    "ticker": st.column_config.TextColumn("Ticker", pinned=True),
    "company_name": st.column_config.TextColumn("Company"),
    "sector": st.column_config.TextColumn("Sector"),
    "trade_date": st.column_config.DateColumn("Date", format="YYYY-MM-DD"),
    "close": st.column_config.NumberColumn("Close", format="dollar"),
    **{
        f"return_{w}": st.column_config.NumberColumn(f"Ret {w}", format="percent")
        for w in screens.RETURN_WINDOWS
    },
    "rsi_14": st.column_config.NumberColumn("RSI 14", format="%.1f"),
    "sma_50": st.column_config.NumberColumn("SMA 50", format="dollar"),
    "sma_200": st.column_config.NumberColumn("SMA 200", format="dollar"),
    "pct_from_high_52w": st.column_config.NumberColumn("From 52w high", format="percent"),
    "relative_volume": st.column_config.NumberColumn("Rel vol", format="%.2f"),
    "market_cap": st.column_config.NumberColumn("Market cap (USD)", format="compact"),
    "pe_ratio": st.column_config.NumberColumn("P/E", format="%.2f"),
    "pb_ratio": st.column_config.NumberColumn("P/B", format="%.2f"),
    "dividend_yield": st.column_config.NumberColumn("Div yield", format="percent"),
    "eps": st.column_config.NumberColumn("EPS", format="%.2f"),
    "roe": st.column_config.NumberColumn("ROE", format="percent"),
    "debt_to_equity": st.column_config.NumberColumn("Debt/equity", format="%.2f"),
    "net_margin": st.column_config.NumberColumn("Net margin", format="percent"),
    "revenue_growth_yoy": st.column_config.NumberColumn("Revenue growth", format="percent"),
    "valuation_source": st.column_config.TextColumn(
        "Ratios from", help="sec_filings: computed from SEC filings known on the date; vendor_snapshot: financials file"
    ),
    "new_high_52w": st.column_config.CheckboxColumn("New 52w high"),
    "golden_cross_20d": st.column_config.CheckboxColumn("Golden cross 20d"),
    "news_count_7d": st.column_config.NumberColumn("News 7d", format="%d"),
    "news_sentiment_7d": st.column_config.NumberColumn("News sentiment 7d", format="%.2f"),
}


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_") or "screen"


st.title("Screener")

available = warehouse.sectors()
_init_state(available)

preset_names = [*screens.PRESETS, CUSTOM]
top_left, top_right = st.columns([2, 1])
with top_left:
    st.selectbox("Preset screen", preset_names, key=KEY_PRESET, on_change=_apply_preset, persist_state="session")
    chosen = st.session_state[KEY_PRESET]
    st.caption(screens.PRESET_DESCRIPTIONS.get(chosen, "Your own combination of filters."))
with top_right:
    st.selectbox(
        "Sort by",
        list(screens.SORT_COLUMNS),
        format_func=screens.SORT_COLUMNS.__getitem__,
        key=ff.KEY_SORT_BY,
        persist_state="session",
    )
    st.toggle("Descending", key=ff.KEY_SORT_DESC, persist_state="session")

_filters(available)

try:
    spec = ff.spec_from_widgets(st.session_state)
except (ValueError, TypeError) as exc:
    st.error(f"Check the filters: {exc}")
    st.stop()

started = time.perf_counter()
result = warehouse.run_screen(spec)
elapsed_ms = (time.perf_counter() - started) * 1000
total = warehouse.universe_size()

count_col, download_col = st.columns([3, 1], vertical_alignment="bottom")
count_col.markdown(f"**{len(result)}** of {total} stocks match")
count_col.caption(f"Query: {elapsed_ms:.1f} ms")
label = chosen if chosen != CUSTOM else "custom"
download_col.download_button(
    "Download CSV",
    data=result.to_csv(index=False),
    file_name=f"screen_{_slug(label)}_{date.today():%Y%m%d}.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
    help="All matching rows; returns, yields and distances as fractions, market cap in USD.",
    disabled=result.empty,
)

if result.empty:
    st.info("No stock matches these filters. Loosen a filter or choose another preset.")
    st.stop()

event = st.dataframe(
    result,
    key=KEY_TABLE,
    hide_index=True,
    column_config=COLUMN_CONFIG,
    on_select="rerun",
    selection_mode="single-row",
    height=min(38 + 35 * len(result), 640),
)

selected_rows = list(event.selection.rows) if event is not None else []
selected = result.iloc[selected_rows[0]]["ticker"] if selected_rows and selected_rows[0] < len(result) else None

tickers = result["ticker"].tolist()
open_col, button_col = st.columns([3, 1], vertical_alignment="bottom")
with open_col:
    open_ticker = st.selectbox(
        "Open a ticker on the Stock page (or select a table row)",
        tickers,
        index=tickers.index(selected) if selected in tickers else 0,
    )
with button_col:
    if st.button("Open chart", icon=":material/candlestick_chart:", type="primary", key="scr_open"):
        st.switch_page(STOCK_PAGE, query_params={"ticker": open_ticker})

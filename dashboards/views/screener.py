"""Screener page: filter ``marts.mart_screener_latest`` (latest row per ticker).

The market selector (US, KOSPI, KOSDAQ, All markets: the markets of the seed that have rows)
limits the screen: every filter applies within the chosen market(s), and the result count is
out of their tickers. Filters sit in the sidebar, one per filter of the column registry
(:mod:`domain.screens.columns`), in display units (market cap in the large unit of the market's
currency, USD bn or KRW 억; fractions in percent); ranges are open intervals ("over" / "under"),
each input labelled with its field (:func:`dashboards.lib.filter_form.widget_label`). Over
markets of two currencies the market-cap filter is off (no exchange rate). Choosing a preset
writes its values into the filter widgets, and its market when it names one; editing any filter
afterwards (or choosing another market than the preset's) switches the preset menu to "Custom".

The result table shows ticker and company first (then market and currency when the table holds
several currencies), then the columns the active screen sorts and filters on, then the columns
chosen under "Columns" (:func:`dashboards.lib.tables.column_order`); money is in the market's
currency (``$``, ``₩``), missing values are empty cells. The table is sortable and downloadable
as CSV (every result column plus market and currency, warehouse units: fractions, money in the
row's currency). Selecting a table row (or picking a ticker below the table) and pressing "Open
chart" opens it on the Stock page (``?ticker=XYZ``).
"""

from __future__ import annotations

import time
from datetime import date

import streamlit as st

from dashboards.lib import context, tables
from dashboards.lib import filter_form as ff
from dashboards.lib import filter_widgets as fw
from dashboards.lib import formatting as fmt
from dashboards.lib import markets as market_notes
from dashboards.queries import build
from dashboards.queries import screener as queries
from domain import screens
from domain.markets import markets as known_markets

CUSTOM = "Custom"
KEY_PRESET = "scr_preset"
KEY_TABLE = "scr_table"
KEY_COLUMNS = "scr_columns"
KEY_CURRENCY = "_scr_currency"  # the currency the money widgets' values are in
KEY_AVAILABLE_MARKETS = "_scr_markets_available"
STOCK_PAGE = "views/stock.py"

#: Form sections: registry group -> (title, expanded, caption).
SECTIONS = (
    ("fundamentals", "Fundamentals", True, None),
    ("filings", "From SEC filings", True, "Companies without filings never match these."),
    ("technicals", "Technicals", True, None),
    ("returns", "Returns", False, None),
    ("news", "News (7 days)", False, None),
)


def market_options() -> list[str]:
    """The market selector's options: every market of the markets seed, then :data:`ff.ALL_MARKETS`."""
    return [*known_markets(), ff.ALL_MARKETS]


def screen_currency(market: str, available_markets: list[str]) -> str | None:
    """The currency of a screen over ``market`` (a market code, or ``All markets``: the
    ``available_markets``, those with rows), or None when those markets have several currencies."""
    chosen = available_markets if market == ff.ALL_MARKETS else [market]
    currencies = {fmt.market_currency(code) for code in chosen}
    return currencies.pop() if len(currencies) == 1 else None


def _currency_now(market: str) -> str | None:
    return screen_currency(market, st.session_state.get(KEY_AVAILABLE_MARKETS, []))


def _clear_money_widgets_unless(currency: str | None) -> None:
    """The money filters' values are in the previous currency: clear them when it changes."""
    if st.session_state.get(KEY_CURRENCY, currency) != currency:
        for key in ff.money_widget_keys():
            st.session_state[key] = None
    st.session_state[KEY_CURRENCY] = currency


def _apply_preset() -> None:
    name = st.session_state[KEY_PRESET]
    if name == CUSTOM:
        return
    preset = screens.presets()[name]
    market = ff.market_choice(preset.markets) if preset.markets else st.session_state[ff.KEY_MARKET]
    currency = _currency_now(market)
    values = ff.widget_values(preset, st.session_state.get("_scr_sectors_available"), currency)
    for key, value in values.items():
        st.session_state[key] = value
    st.session_state[KEY_CURRENCY] = currency


def _mark_custom() -> None:
    st.session_state[KEY_PRESET] = CUSTOM


def _on_market() -> None:
    """Another market: money filters restart empty in a new currency; a preset meant for other
    markets no longer describes the screen."""
    market = st.session_state[ff.KEY_MARKET]
    _clear_money_widgets_unless(_currency_now(market))
    preset = screens.presets().get(st.session_state.get(KEY_PRESET, CUSTOM))
    if preset is not None and preset.markets and ff.market_choice(preset.markets) != market:
        _mark_custom()


def _init_state(available_markets: list[str], available_sectors: list[str]) -> None:
    st.session_state[KEY_AVAILABLE_MARKETS] = available_markets
    st.session_state["_scr_sectors_available"] = available_sectors
    if st.session_state.get(ff.KEY_MARKET) not in market_options():  # first run, or a market the seed lost
        st.session_state[ff.KEY_MARKET] = ff.ALL_MARKETS
    _clear_money_widgets_unless(_currency_now(st.session_state[ff.KEY_MARKET]))
    st.session_state.setdefault(KEY_PRESET, screens.NO_PRESET)
    st.session_state.setdefault(KEY_COLUMNS, list(tables.DEFAULT_COLUMNS))
    # a column chosen before the registry lost it cannot stay chosen
    result_columns = set(screens.registry().result_columns)
    if not set(st.session_state[KEY_COLUMNS]) <= result_columns:
        st.session_state[KEY_COLUMNS] = [c for c in st.session_state[KEY_COLUMNS] if c in result_columns]
    defaults = ff.widget_values(screens.presets()[screens.NO_PRESET], available_sectors)
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)
    # a warehouse without some sector must not leave it selected
    kept = [s for s in st.session_state[ff.KEY_SECTORS] if s in available_sectors]
    if kept != list(st.session_state[ff.KEY_SECTORS]):
        st.session_state[ff.KEY_SECTORS] = kept


def _reset_columns() -> None:
    st.session_state[KEY_COLUMNS] = list(tables.DEFAULT_COLUMNS)


def _column_chooser(registry: screens.Registry, currency: str | None) -> None:
    """The "Columns" multiselect: which further result columns the table shows, in this order."""
    options = [c for c in registry.result_columns if c not in tables.LEAD_COLUMNS]
    st.multiselect(
        "Columns",
        options,
        format_func=lambda name: tables.header(registry[name], currency),
        key=KEY_COLUMNS,
        placeholder="Only the screen's own columns",
        persist_state="session",
        help="Ticker, company and the columns the screen sorts or filters on always come first.",
    )
    st.button("Default columns", key="scr_columns_reset", on_click=_reset_columns, icon=":material/restart_alt:")


def _filters(available_sectors: list[str], registry: screens.Registry, currency: str | None) -> None:
    with st.sidebar:
        st.header("Filters")
        st.text_input(ff.LABEL_TEXT, key=ff.KEY_TEXT, on_change=_mark_custom, persist_state="session")
        st.multiselect(ff.LABEL_SECTORS, available_sectors, key=ff.KEY_SECTORS, placeholder="All sectors",
                       on_change=_mark_custom, persist_state="session")  # fmt: skip
        fw.filter_sections(registry.filters.values(), SECTIONS, currency, on_change=_mark_custom)


def _market_notes(spec: screens.ScreenSpec, available_markets: list[str], currency: str | None) -> None:
    """Captions on what the chosen markets mean for the result: amounts of several currencies
    are sorted apart; the Korean universe is the listing of its last day (survivorship)."""
    chosen = list(spec.markets) or available_markets
    if currency is None and screens.currency_order(spec) is not None:
        order = ", then ".join(dict.fromkeys(fmt.market_currency(code) for code in chosen))
        st.caption(
            f":material/currency_exchange: Sorted by {registry[spec.sort_by].label.lower()} within each currency "
            f"({order}): amounts in different currencies are not compared. The market-cap filter needs one currency."
        )
    biased = [code for code in chosen if market_notes.has_survivorship_bias(code)]
    if biased:
        dates = [m.last_trade_date for m in build.market_dates(reader) if m.market in biased]
        st.caption(f":material/info: {market_notes.survivorship_note(biased, max(dates, default=None))}")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_") or "screen"


st.title("Screener")

reader = context.reader()
registry = screens.registry()
available_markets = queries.markets(reader)
market = st.session_state.get(ff.KEY_MARKET)
available = queries.sectors(reader, [market] if market in known_markets() else [])
_init_state(available_markets, available)
currency = _currency_now(st.session_state[ff.KEY_MARKET])

preset_names = [*screens.preset_names(), CUSTOM]
market_col, preset_col, sort_col = st.columns([1, 2, 1])
with market_col:
    st.selectbox(ff.LABEL_MARKET, market_options(), key=ff.KEY_MARKET, on_change=_on_market,
                 format_func=lambda code: code if code == ff.ALL_MARKETS else fmt.market_name(code),
                 persist_state="session")  # fmt: skip
with preset_col:
    st.selectbox("Preset screen", preset_names, key=KEY_PRESET, on_change=_apply_preset, persist_state="session")
    chosen = st.session_state[KEY_PRESET]
    st.caption(screens.PRESET_DESCRIPTIONS.get(chosen, "Your own combination of filters."))
with sort_col:
    sort_columns = registry.sort_columns
    st.selectbox("Sort by", list(sort_columns), format_func=sort_columns.__getitem__, key=ff.KEY_SORT_BY,
                 persist_state="session")  # fmt: skip
    st.toggle("Descending", key=ff.KEY_SORT_DESC, persist_state="session")

_filters(available, registry, currency)

try:
    spec = ff.spec_from_widgets(st.session_state, registry, currency)
except (ValueError, TypeError) as exc:
    st.error(f"Check the filters: {exc}")
    st.stop()

started = time.perf_counter()
result = tables.with_currency(queries.run_screen(reader, spec))
elapsed_ms = (time.perf_counter() - started) * 1000
total = queries.universe_size(reader, spec.markets)

count_col, columns_col, download_col = st.columns([4, 1, 1], vertical_alignment="bottom")
count_col.markdown(
    f"**{len(result)}** of {total} {fmt.noun(total, 'stock')} {fmt.noun(len(result), 'matches', 'match')}"
)
with columns_col.popover("Columns", icon=":material/view_column:", width="stretch"):
    _column_chooser(registry, currency)
count_col.caption(f"Query: {elapsed_ms:.1f} ms")
_market_notes(spec, available_markets, currency)
label = chosen if chosen != CUSTOM else "custom"
download_col.download_button(
    "Download CSV",
    data=result.to_csv(index=False),
    file_name=f"screen_{_slug(label)}_{date.today():%Y%m%d}.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
    help="All matching rows; returns, yields and distances as fractions, prices and market cap in the currency "
    "of the row's market (columns market and currency).",
    disabled=result.empty,
)

if result.empty:
    st.info("No stock matches these filters. Loosen a filter or choose another preset.")
    st.stop()

if "fundamentals_known_on_trade_date" in result.columns:
    ahead = int(result["fundamentals_known_on_trade_date"].eq(False).sum())  # NULL (no fundamentals) is not False
    if ahead:
        st.caption(
            f":material/warning: {ahead} of these rows {fmt.noun(ahead, 'shows', 'show')} fundamentals dated "
            "after their price (a vendor snapshot published later: look-ahead). Tick *Fundamentals known on price date* "
            "under Fundamentals for a point-in-time screen."
        )

lead = tables.LEAD_COLUMNS if currency else (*tables.LEAD_COLUMNS, screens.MARKET_COLUMN, tables.CURRENCY_COLUMN)
shown_columns = tables.column_order(spec, st.session_state[KEY_COLUMNS], lead)
shown_values = tables.display_values(result, registry, currency)
event = st.dataframe(
    # every result column stays in the data (reordered: shown ones first); column_order hides the rest
    shown_values[[*shown_columns, *(c for c in shown_values.columns if c not in shown_columns)]],
    column_order=shown_columns,
    key=KEY_TABLE,
    hide_index=True,
    column_config=tables.registry_column_config(registry, list(result.columns), currency),
    placeholder=tables.EMPTY_CELL,
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

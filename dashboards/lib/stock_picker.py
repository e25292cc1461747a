"""The Stock page's choice of ticker: the URL value (``?ticker=``), the search box and the picker.

The picker is a selectbox of plain tickers bound to the URL query parameter ``ticker``. Before it
is drawn, a new URL value or a new search (:func:`dashboards.lib.stock_ticker.search`: ticker,
KRX code with or without its leading zeros, or company name) that names one company puts its
ticker into the picker's state; one that names several companies is remembered and listed to
choose from (:data:`KEY_MATCHES`, :func:`render`), one that names none is reported. A URL value
or a search is applied once, so a later pick in the picker is not undone by a URL that has not
caught up with it yet.
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from dashboards.lib.stock_ticker import company_labels, resolve_ticker, search

KEY_TICKER = "ticker"  # also the query-parameter name (options stay plain tickers: the URL
# value of a bound selectbox is matched against the formatted option)
KEY_URL_TICKER = "_stock_url_ticker"  # the last URL ticker applied to the picker
KEY_SEARCH = "stock_search"
KEY_SEARCH_SEEN = "_stock_search_seen"  # the last search applied to the picker
KEY_MATCHES = "_stock_matches"  # (query, tickers) of a search that named several companies, or none
KEY_CHOICE = "stock_choice"


def markdown_text(value: str, limit: int = 40) -> str:
    """``value`` (from the URL or the search box) shown literally in Markdown: formatting and link
    characters escaped, cut to ``limit`` characters."""
    cut = value if len(value) <= limit else value[: limit - 1] + "…"
    return re.sub(r"([\\`*_\[\]()<>#~$|!{}])", r"\\\1", cut)


def _show_matches(query: str, found: list[str]) -> None:
    """Remember a search that named several companies (or none), to list them."""
    st.session_state[KEY_MATCHES] = (query, found)
    st.session_state.pop(KEY_CHOICE, None)  # a choice among earlier matches is not one of these


def apply_url_ticker(companies: pd.DataFrame) -> str | None:
    """Before the picker exists: put the ticker a new URL value names, in the warehouse's
    spelling (``nvda`` -> ``NVDA``, ``5930`` -> ``005930``, ``삼성전자`` -> ``005930``), into the
    picker's state, or None when it names no ticker or several companies (listed to choose
    from). Returns the URL value when it names nothing at all, else None.
    """
    requested = st.query_params.get(KEY_TICKER)
    if not requested or requested == st.session_state.get(KEY_URL_TICKER):
        return None
    st.session_state[KEY_URL_TICKER] = requested
    found = resolve_ticker(requested, companies["ticker"].tolist())
    matches = [found] if found is not None else search(requested, companies)
    st.session_state[KEY_TICKER] = matches[0] if len(matches) == 1 else None  # else the placeholder
    if len(matches) > 1:
        _show_matches(requested, matches)
    return requested if not matches else None


def apply_search(companies: pd.DataFrame) -> None:
    """Before the picker exists: a new search that names one company picks its ticker; one that
    names several, or none, is remembered to be listed (:data:`KEY_MATCHES`)."""
    query = (st.session_state.get(KEY_SEARCH) or "").strip()
    if query == st.session_state.get(KEY_SEARCH_SEEN, ""):
        return
    st.session_state[KEY_SEARCH_SEEN] = query
    st.session_state.pop(KEY_MATCHES, None)
    if not query:
        return
    found = search(query, companies)
    if len(found) == 1:
        st.session_state[KEY_TICKER] = found[0]
    else:
        _show_matches(query, found)


def _on_choice() -> None:
    chosen = st.session_state.get(KEY_CHOICE)
    if chosen:
        st.session_state[KEY_TICKER] = chosen
        st.session_state.pop(KEY_MATCHES, None)


def _matches(labels: dict[str, str]) -> None:
    """The companies the last search or URL named, to choose from; or that it named none."""
    pending = st.session_state.get(KEY_MATCHES)
    if not pending:
        return
    query, found = pending
    if not found:
        st.warning(f"No ticker, KRX code or company name matches {markdown_text(query)}.")
        return
    st.selectbox(
        f"{len(found)} companies match {markdown_text(query)}: choose one",
        found,
        index=None,
        format_func=labels.__getitem__,
        key=KEY_CHOICE,
        on_change=_on_choice,
        placeholder="Choose a company",
    )


def render(companies: pd.DataFrame, default: str) -> tuple[str | None, str | None]:
    """The search box, the picker and the matches of ``companies`` (a frame like
    :func:`dashboards.queries.stock.companies`); the picker starts on ``default`` when the
    warehouse has it (else its first ticker). Returns ``(ticker, unknown)``: the chosen ticker
    (None: none chosen yet) and the URL value that names nothing (None when it names something)."""
    tickers = companies["ticker"].tolist()
    unknown = apply_url_ticker(companies)
    apply_search(companies)
    if unknown is None and KEY_TICKER not in st.session_state:
        st.session_state[KEY_TICKER] = default if default in tickers else tickers[0]
    search_col, picker_col = st.columns([2, 1], vertical_alignment="bottom")
    search_col.text_input(
        "Search: ticker, KRX code or company name",
        key=KEY_SEARCH,
        placeholder="AAPL, 005930, 5930, 삼성전자, apple",
        help="A KRX code may be typed without its leading zeros (5930 = 005930); a part of a company name lists "
        "every company it matches.",
    )
    ticker = picker_col.selectbox(
        "Ticker", tickers, index=None, placeholder="Choose a ticker", key=KEY_TICKER, bind="query-params"
    )
    _matches(company_labels(companies))
    return ticker, unknown

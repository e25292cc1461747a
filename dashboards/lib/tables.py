"""Streamlit table settings derived from the column registry (:mod:`domain.screens.columns`):
one header, format and help text per registered column, used by every table that shows
screener columns; and which columns the screener table shows, in which order
(:func:`column_order`).

Money columns are in the currency of the rows' market. A table of one currency formats them in
it (:func:`dashboards.lib.formatting.table_money`: ``$172.50``, ``₩83,000``; market cap compact in
USD, in 억 for KRW, with the unit in the header); a table of several currencies shows them as
plain numbers beside a currency column (:data:`CURRENCY_COLUMN`), never one unlabelled mix.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
import streamlit as st

from dashboards.lib import formatting as fmt
from domain.screens import MARKET_COLUMN, Registry, ScreenerColumn, ScreenSpec

#: What ``st.dataframe`` shows for a missing value: an empty cell, not the word "None".
EMPTY_CELL = ""

#: The first columns of the screener table, always shown.
LEAD_COLUMNS = ("ticker", "company_name")

#: Column the app adds to a screen's result: the currency of the row's market (ISO 4217).
CURRENCY_COLUMN = "currency"

#: Further columns of the screener table until the user chooses others (after the screen's own).
DEFAULT_COLUMNS = (
    "sector", "trade_date", "close", "return_1d", "return_21d", "return_252d",
    "rsi_14", "market_cap", "pe_ratio", "dividend_yield",
)  # fmt: skip


def _money(column: ScreenerColumn, currency: str | None) -> fmt.TableMoney | None:
    """How the table shows ``column`` when it is money (None otherwise)."""
    return fmt.table_money(currency, large=column.format == "compact") if column.is_money else None


def header(column: ScreenerColumn, currency: str | None = "USD") -> str:
    """The table header: the label, with the unit of a money column whose cells carry no
    currency sign (``Market cap (USD)``, ``Market cap (KRW 억)``) in a table of one ``currency``."""
    money = _money(column, currency)
    return f"{column.label} ({money.unit})" if money is not None and money.unit else column.label


def column_config(column: ScreenerColumn, currency: str | None = "USD") -> Any:
    """The ``st.column_config`` entry of one registered column in a table of ``currency`` (None:
    several currencies)."""
    help_text = column.description or None
    if column.unit == "flag":
        return st.column_config.CheckboxColumn(header(column), help=help_text)
    if column.unit == "date":
        return st.column_config.DateColumn(header(column), format="YYYY-MM-DD", help=help_text)
    if column.unit == "text":
        return st.column_config.TextColumn(header(column), help=help_text, pinned=column.name == "ticker")
    money = _money(column, currency)
    number_format = money.format if money is not None else column.format
    return st.column_config.NumberColumn(header(column, currency), format=number_format, help=help_text)


def registry_column_config(
    registry: Registry, names: list[str] | None = None, currency: str | None = "USD"
) -> dict[str, Any]:
    """``column_config`` for the registered columns among ``names`` (default: all) in a table of
    ``currency`` (None: several), plus the market and currency columns when among ``names``."""
    wanted = set(names) if names is not None else None
    config: dict[str, Any] = {
        MARKET_COLUMN: st.column_config.TextColumn("Market", help="Market of the ticker (US, KOSPI, KOSDAQ)"),
        CURRENCY_COLUMN: st.column_config.TextColumn("Currency", help="Currency of the row's prices and market cap"),
    }
    config = {name: value for name, value in config.items() if wanted is None or name in wanted}
    return config | {c.name: column_config(c, currency) for c in registry if wanted is None or c.name in wanted}


def with_currency(result: pd.DataFrame) -> pd.DataFrame:
    """``result`` (rows with a :data:`~domain.screens.MARKET_COLUMN`) with :data:`CURRENCY_COLUMN`,
    each row's market's currency, after the market column."""
    frame = result.copy()
    currencies = frame[MARKET_COLUMN].map(fmt.market_currency)
    frame.insert(frame.columns.get_loc(MARKET_COLUMN) + 1, CURRENCY_COLUMN, currencies)
    return frame


def display_values(result: pd.DataFrame, registry: Registry, currency: str | None) -> pd.DataFrame:
    """``result`` as a table of ``currency`` shows it: money columns in a large unit scaled to it
    (KRW market cap in 억); the frame is a copy, ``result`` (warehouse units) is unchanged."""
    frame = result.copy()
    for column in registry:
        money = _money(column, currency)
        if money is not None and money.factor != 1 and column.name in frame:
            frame[column.name] = frame[column.name] * money.factor
    return frame


def screen_columns(spec: ScreenSpec) -> tuple[str, ...]:
    """The result columns ``spec`` sorts and filters on, most telling first: the sort column,
    then the column of each set filter in registry order (a close-vs-SMA filter brings ``close``
    and the SMA, a sector choice ``sector``); without :data:`LEAD_COLUMNS` and repeats."""
    reg = spec.registry
    names = [spec.sort_by]
    for key, column in reg.filters.items():
        if key in spec.filters:
            names += ["close", column.name] if column.filter == "trend" else [column.name]
    if spec.sectors:
        names.append("sector")
    result = set(reg.result_columns)
    return tuple(dict.fromkeys(n for n in names if n in result and n not in LEAD_COLUMNS))


def column_order(spec: ScreenSpec, chosen: Iterable[str], lead: Iterable[str] = LEAD_COLUMNS) -> list[str]:
    """The screener table's visible columns, left to right: ``lead`` (:data:`LEAD_COLUMNS`, plus
    market and currency in a table of several markets), then :func:`screen_columns` of ``spec``
    (always shown), then the ``chosen`` columns in the given order; no repeats.

    Raises:
        ValueError: a chosen name is not a result column of the registry (names it).
    """
    result = spec.registry.result_columns
    chosen = list(chosen)
    unknown = [n for n in chosen if n not in result]
    if unknown:
        raise ValueError(f"unknown screener columns {unknown}; result columns: {', '.join(result)}")
    return list(dict.fromkeys([*lead, *screen_columns(spec), *chosen]))

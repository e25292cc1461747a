"""Streamlit table settings derived from the column registry (:mod:`domain.screens.columns`):
one header, format and help text per registered column, used by every table that shows
screener columns; and which columns the screener table shows, in which order
(:func:`column_order`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import streamlit as st

from domain.screens import Registry, ScreenerColumn, ScreenSpec

#: What ``st.dataframe`` shows for a missing value: an empty cell, not the word "None".
EMPTY_CELL = ""

#: The first columns of the screener table, always shown.
LEAD_COLUMNS = ("ticker", "company_name")

#: Further columns of the screener table until the user chooses others (after the screen's own).
DEFAULT_COLUMNS = (
    "sector", "trade_date", "close", "return_1d", "return_21d", "return_252d",
    "rsi_14", "market_cap", "pe_ratio", "dividend_yield",
)  # fmt: skip


def header(column: ScreenerColumn) -> str:
    """The table header: the label, with ``(USD)`` for money shown compact (no currency sign)."""
    return f"{column.label} (USD)" if column.unit == "usd" and column.format == "compact" else column.label


def column_config(column: ScreenerColumn) -> Any:
    """The ``st.column_config`` entry of one registered column."""
    help_text = column.description or None
    if column.unit == "flag":
        return st.column_config.CheckboxColumn(header(column), help=help_text)
    if column.unit == "date":
        return st.column_config.DateColumn(header(column), format="YYYY-MM-DD", help=help_text)
    if column.unit == "text":
        return st.column_config.TextColumn(header(column), help=help_text, pinned=column.name == "ticker")
    return st.column_config.NumberColumn(header(column), format=column.format, help=help_text)


def registry_column_config(registry: Registry, names: list[str] | None = None) -> dict[str, Any]:
    """``column_config`` for the registered columns among ``names`` (default: all)."""
    wanted = set(names) if names is not None else None
    return {c.name: column_config(c) for c in registry if wanted is None or c.name in wanted}


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


def column_order(spec: ScreenSpec, chosen: Iterable[str]) -> list[str]:
    """The screener table's visible columns, left to right: :data:`LEAD_COLUMNS`, then
    :func:`screen_columns` of ``spec`` (always shown), then the ``chosen`` columns in the given
    order; no repeats.

    Raises:
        ValueError: a chosen name is not a result column of the registry (names it).
    """
    result = spec.registry.result_columns
    chosen = list(chosen)
    unknown = [n for n in chosen if n not in result]
    if unknown:
        raise ValueError(f"unknown screener columns {unknown}; result columns: {', '.join(result)}")
    return list(dict.fromkeys([*LEAD_COLUMNS, *screen_columns(spec), *chosen]))

"""Streamlit table settings derived from the column registry (:mod:`domain.screens.columns`):
one header, format and help text per registered column, used by every table that shows
screener columns."""

from __future__ import annotations

from typing import Any

import streamlit as st

from domain.screens import Registry, ScreenerColumn

#: What ``st.dataframe`` shows for a missing value: an empty cell, not the word "None".
EMPTY_CELL = ""


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

"""The SQL a :class:`~domain.screens.spec.ScreenSpec` compiles to (``?`` placeholders).

Values typed by the user only ever travel as parameters; the only identifiers placed in the SQL
text are registered column names (:mod:`domain.screens.columns`; the sort column is checked
against the registry's sort whitelist) and the table name the caller passes (from
configuration, never from user input). The compiler is pure: it reads no settings. ``dialect``
only changes how text is ordered (:func:`domain.warehouse.sql.text_order`: code point order on
both backends).

Comparison semantics: a ``range`` filter is an *open* interval, ``min < x < max`` ("over" /
"under" as in most screeners, so "P/E < 15" excludes 15 itself); ``minimum`` and ``max_below``
filters are inclusive; rows whose value is NULL never pass a filter that is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.screens.spec import Range, ScreenSpec, Trend
from domain.warehouse.sql import Dialect, text_order

#: Table a screen reads unless the caller passes another one.
SCREENER_TABLE = "marts.mart_screener_latest"


@dataclass(frozen=True)
class ScreenQuery:
    """SQL text with ``?`` placeholders and the values to bind, in order."""

    sql: str
    params: list[Any]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def build_where(spec: ScreenSpec) -> tuple[list[str], list[Any]]:
    """The WHERE conditions (ANDed) and their parameters for ``spec``, filters in registry order."""
    conds: list[str] = []
    params: list[Any] = []
    text = spec.text.strip()
    if text:
        pattern = f"%{_escape_like(text)}%"
        conds.append("(ticker ILIKE ? ESCAPE '\\' OR company_name ILIKE ? ESCAPE '\\')")
        params += [pattern, pattern]
    if spec.sectors:
        conds.append(f"sector IN ({', '.join('?' for _ in spec.sectors)})")
        params += list(spec.sectors)
    values = spec.filters
    for key, column in spec.registry.filters.items():
        if key not in values:
            continue
        value = values[key]
        name = column.name
        if column.filter == "range":
            assert isinstance(value, Range)
            if value.min is not None:
                conds.append(f"{name} > ?")
                params.append(value.min)
            if value.max is not None:
                conds.append(f"{name} < ?")
                params.append(value.max)
        elif column.filter == "minimum":
            conds.append(f"{name} >= ?")
            params.append(value)
        elif column.filter == "max_below":
            conds.append(f"{name} >= ?")
            params.append(-value)
        elif column.filter == "flag":
            conds.append(name)
        elif column.filter == "trend":
            conds.append(f"close {'>' if value is Trend.ABOVE else '<'} {name}")
    return conds, params


def _sort_key(column: str, spec: ScreenSpec, dialect: Dialect) -> str:
    return text_order(column, dialect) if spec.registry[column].unit == "text" else column


def build_screen_query(spec: ScreenSpec, *, table: str = SCREENER_TABLE, dialect: Dialect = "duckdb") -> ScreenQuery:
    """Compile ``spec`` to ``SELECT <result columns> FROM <table> ...`` (result columns: the
    registry's, in order).

    Raises:
        ValueError: the sort column is not a registered sort column, or unknown ``dialect``.
    """
    registry = spec.registry
    if spec.sort_by not in registry.sort_columns:  # re-checked: the whitelist is what keeps SQL safe
        raise ValueError(f"cannot sort by {spec.sort_by!r}")
    conds, params = build_where(spec)
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    direction = "DESC" if spec.descending else "ASC"
    order = f" ORDER BY {_sort_key(spec.sort_by, spec, dialect)} {direction} NULLS LAST"
    if spec.sort_by != "ticker":
        order += f", {text_order('ticker', dialect)} ASC"
    sql = f"SELECT {', '.join(registry.result_columns)} FROM {table}{where}{order}"
    if spec.limit is not None:
        sql += " LIMIT ?"
        params.append(spec.limit)
    return ScreenQuery(sql=sql, params=params)


def build_count_query(spec: ScreenSpec, *, table: str = SCREENER_TABLE) -> ScreenQuery:
    """``SELECT count(*) AS n`` of the rows of ``table`` matching ``spec`` (sort and limit ignored)."""
    conds, params = build_where(spec)
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    return ScreenQuery(sql=f"SELECT count(*) AS n FROM {table}{where}", params=params)

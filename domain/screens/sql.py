"""The SQL a :class:`~domain.screens.spec.ScreenSpec` compiles to (``?`` placeholders).

Values typed by the user only ever travel as parameters; the only identifiers placed in the SQL
text are registered column names (:mod:`domain.screens.columns`; the sort column is checked
against the registry's sort whitelist) and the table name the caller passes (from
configuration, never from user input); the only literals, the market codes of the currency
grouping below, come from the markets seed (quoted by :func:`domain.warehouse.sql.string_literal`). The compiler is pure: it reads no settings. ``dialect``
only changes how text is ordered (:func:`domain.warehouse.sql.text_order`: code point order on
both backends).

Comparison semantics: a ``range`` filter is an *open* interval, ``min < x < max`` ("over" /
"under" as in most screeners, so "P/E < 15" excludes 15 itself); ``minimum`` and ``max_below``
filters are inclusive; rows whose value is NULL never pass a filter that is set. The spec's
markets are a ``market IN (...)`` condition, so every filter applies within them.

Money columns hold amounts in the currency of the row's market (USD, KRW). A screen sorted by a
money column (market cap, close, ...) over markets of more than one currency is ordered by
currency first, in the markets seed's order (USD rows, then KRW rows), then by the column:
amounts in different currencies are never compared with each other (there is no exchange rate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.markets import markets as known_markets
from domain.screens.spec import Range, ScreenSpec, Trend
from domain.warehouse.sql import Dialect, string_literal, text_order

#: Table a screen reads unless the caller passes another one.
SCREENER_TABLE = "marts.mart_screener_latest"

#: Column of the screener table naming the row's market (a code of :mod:`domain.markets`); a
#: screen's result always has it, so a reader knows each row's currency.
MARKET_COLUMN = "market"


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
    if spec.markets:
        conds.append(f"{MARKET_COLUMN} IN ({', '.join('?' for _ in spec.markets)})")
        params += list(spec.markets)
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


def currency_order(spec: ScreenSpec) -> str | None:
    """The leading ORDER BY key that keeps the rows of one currency together (``CASE market WHEN
    'US' THEN 0 WHEN 'KOSPI' THEN 1 ... END``: ranks of the currencies in the markets seed's
    order), or None when ``spec`` is not sorted by a money column or its markets (all markets
    when none is named) share one currency."""
    if not spec.registry[spec.sort_by].is_money:
        return None
    seed = known_markets()
    chosen = [seed[code] for code in (spec.markets or tuple(seed))]
    ranks = {currency: rank for rank, currency in enumerate(dict.fromkeys(m.currency for m in seed.values()))}
    if len({m.currency for m in chosen}) < 2:
        return None
    whens = " ".join(f"WHEN {string_literal(m.code)} THEN {ranks[m.currency]}" for m in chosen)
    return f"CASE {MARKET_COLUMN} {whens} END"


def build_screen_query(spec: ScreenSpec, *, table: str = SCREENER_TABLE, dialect: Dialect = "duckdb") -> ScreenQuery:
    """Compile ``spec`` to ``SELECT <result columns>, market FROM <table> ...`` (result columns:
    the registry's, in order; then :data:`MARKET_COLUMN` unless the registry has it), ordered by
    :func:`currency_order` first when it applies.

    Raises:
        ValueError: the sort column is not a registered sort column, or unknown ``dialect``.
    """
    registry = spec.registry
    if spec.sort_by not in registry.sort_columns:  # re-checked: the whitelist is what keeps SQL safe
        raise ValueError(f"cannot sort by {spec.sort_by!r}")
    conds, params = build_where(spec)
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    direction = "DESC" if spec.descending else "ASC"
    keys = [f"{_sort_key(spec.sort_by, spec, dialect)} {direction} NULLS LAST"]
    by_currency = currency_order(spec)
    if by_currency is not None:
        keys.insert(0, f"{by_currency} ASC NULLS LAST")
    if spec.sort_by != "ticker":
        keys.append(f"{text_order('ticker', dialect)} ASC")
    columns = [*registry.result_columns, *([] if MARKET_COLUMN in registry.result_columns else [MARKET_COLUMN])]
    sql = f"SELECT {', '.join(columns)} FROM {table}{where} ORDER BY {', '.join(keys)}"
    if spec.limit is not None:
        sql += " LIMIT ?"
        params.append(spec.limit)
    return ScreenQuery(sql=sql, params=params)


def build_count_query(spec: ScreenSpec, *, table: str = SCREENER_TABLE) -> ScreenQuery:
    """``SELECT count(*) AS n`` of the rows of ``table`` matching ``spec`` (sort and limit ignored)."""
    conds, params = build_where(spec)
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    return ScreenQuery(sql=f"SELECT count(*) AS n FROM {table}{where}", params=params)

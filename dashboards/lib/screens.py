"""Typed stock screens and the parameterised SQL they compile to.

A :class:`ScreenSpec` describes one screen over ``marts.mart_screener_latest``
(one row per ticker on its latest trade date) in the warehouse's own units:

* returns (``return_1d`` ... ``return_252d``), ``dividend_yield`` and
  ``pct_from_high_52w`` are **fractions** (0.03 = 3 %),
* ``market_cap`` is **USD**, ``pe_ratio``/``pb_ratio``/``debt_to_equity``/``rsi_14``/
  ``relative_volume`` are plain ratios (RSI 0-100); ``roe``, ``net_margin`` and
  ``revenue_growth_yoy`` are **fractions** computed from SEC filings (NULL, hence never
  passing a set bound, for companies without filings; ``valuation_source`` says which
  rows carry filing-based ratios and which the vendor snapshot's),
* ``news_count_7d`` is a number of articles and ``news_sentiment_7d`` a mean headline
  score in [-1, 1], both over the 7 calendar days ending on the row's trade date.

The UI converts from its display units (USD billions, percent) before building
a spec (see :mod:`dashboards.lib.filter_form`).

:func:`build_screen_query` turns a spec into SQL with ``?`` placeholders and a
parameter list (:mod:`dashboards.lib.warehouse` converts them to ``%s`` for
PostgreSQL). Values typed by the user only ever travel as parameters; the only
identifiers placed in the SQL text are column names from the fixed tables below
(the sort column is checked against :data:`SORT_COLUMNS`) and the table name the
caller passes (the app passes the schema from configuration, never user input).
The builder is pure: it reads no settings. ``dialect`` only changes how text is
ordered: on PostgreSQL text sort keys get ``COLLATE "C"`` so both backends order
by code point whatever the database's collation is.

Comparison semantics: a :class:`Range` is an *open* interval, ``min < x < max``
("over"/"under" as in most screeners, so "P/E < 15" excludes 15 itself). Rows
whose value is NULL never pass a bound that is set. The 52-week-high and
relative-volume filters are inclusive (``>=``), and so is the minimum news count.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal

#: Table a screen reads unless the caller passes another one (the app passes
#: ``<prefix>marts.mart_screener_latest`` from settings, see ``warehouse.table``).
SCREENER_TABLE = "marts.mart_screener_latest"

#: SQL dialects the builder knows (they differ only in text ordering).
Dialect = Literal["duckdb", "postgres"]

#: Text columns that may be sort keys; ordered by code point on every backend.
TEXT_COLUMNS: frozenset[str] = frozenset({"ticker", "company_name", "sector"})

#: Suffix of a text sort key per dialect: DuckDB orders text by code point already.
_TEXT_ORDER: Mapping[str, str] = MappingProxyType({"duckdb": "", "postgres": ' COLLATE "C"'})

#: Return windows of the mart (``return_<window>`` columns, fractions).
RETURN_WINDOWS: tuple[str, ...] = ("1d", "5d", "21d", "63d", "126d", "252d")

#: Columns a screen returns, in display order.
RESULT_COLUMNS: tuple[str, ...] = (
    "ticker", "company_name", "sector", "trade_date", "close",
    "market_cap", "pe_ratio", "pb_ratio", "dividend_yield", "eps",
    "roe", "debt_to_equity", "net_margin", "revenue_growth_yoy", "valuation_source",
    "rsi_14", "return_1d", "return_5d", "return_21d", "return_63d", "return_126d", "return_252d",
    "sma_50", "sma_200", "pct_from_high_52w", "relative_volume",
    "new_high_52w", "golden_cross_20d", "news_count_7d", "news_sentiment_7d",
)  # fmt: skip

#: Whitelist of sort columns: column name -> label shown in the UI.
SORT_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "market_cap": "Market cap",
        "ticker": "Ticker",
        "company_name": "Company",
        "sector": "Sector",
        "close": "Close",
        "return_1d": "Return 1d",
        "return_5d": "Return 5d",
        "return_21d": "Return 21d (1m)",
        "return_63d": "Return 63d (3m)",
        "return_126d": "Return 126d (6m)",
        "return_252d": "Return 252d (1y)",
        "rsi_14": "RSI 14",
        "pct_from_high_52w": "Distance from 52w high",
        "relative_volume": "Relative volume",
        "pe_ratio": "P/E",
        "pb_ratio": "P/B",
        "dividend_yield": "Dividend yield",
        "eps": "EPS",
        "roe": "ROE",
        "debt_to_equity": "Debt / equity",
        "net_margin": "Net margin",
        "revenue_growth_yoy": "Revenue growth YoY",
        "news_count_7d": "News articles (7d)",
        "news_sentiment_7d": "News sentiment (7d)",
    }
)


class Trend(StrEnum):
    """Close relative to a moving average: ``above`` = close > SMA, ``below`` = close < SMA."""

    ANY = "any"
    ABOVE = "above"
    BELOW = "below"


def _check_number(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number or None, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Range:
    """Open interval ``min < value < max``; a ``None`` bound is unbounded."""

    min: float | None = None
    max: float | None = None

    def __post_init__(self) -> None:
        lo = _check_number("min", self.min)
        hi = _check_number("max", self.max)
        if lo is not None and hi is not None and lo >= hi:
            raise ValueError(f"range minimum {lo:g} must be below its maximum {hi:g}")
        object.__setattr__(self, "min", lo)
        object.__setattr__(self, "max", hi)

    @property
    def is_set(self) -> bool:
        """True if at least one bound is set."""
        return self.min is not None or self.max is not None


#: Spec fields that are :class:`Range` filters -> mart column they bound.
RANGE_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "market_cap": "market_cap",
        "pe_ratio": "pe_ratio",
        "pb_ratio": "pb_ratio",
        "dividend_yield": "dividend_yield",
        "roe": "roe",
        "debt_to_equity": "debt_to_equity",
        "net_margin": "net_margin",
        "revenue_growth_yoy": "revenue_growth_yoy",
        "rsi_14": "rsi_14",
        **{f"return_{w}": f"return_{w}" for w in RETURN_WINDOWS},
        "news_sentiment_7d": "news_sentiment_7d",
    }
)


@dataclass(frozen=True)
class ScreenSpec:
    """One screen over ``marts.mart_screener_latest`` (warehouse units, see module doc).

    Attributes:
        text: case-insensitive substring of ticker or company name ('' = any);
            matched literally (``%`` and ``_`` are not wildcards).
        sectors: keep only these sectors (empty = all).
        market_cap: USD.
        pe_ratio, pb_ratio: price/earnings and price/book.
        dividend_yield: fraction (0.03 = 3 %).
        roe, net_margin, revenue_growth_yoy: fractions, from SEC filings.
        debt_to_equity: total liabilities / stockholders' equity, from SEC filings.
        rsi_14: RSI(14), 0-100.
        return_1d ... return_252d: trailing returns, fractions.
        vs_sma_50, vs_sma_200: close above/below the 50/200-day SMA.
        max_below_high_52w: keep rows at most this fraction below the 52-week
            high (``pct_from_high_52w >= -value``; 0.05 = within 5 %).
        min_relative_volume: ``relative_volume >= value`` (volume / 20-day average).
        new_high_52w: only rows flagged ``new_high_52w``.
        golden_cross_20d: only rows flagged ``golden_cross_20d``.
        min_news_count_7d: ``news_count_7d >= value`` (articles in the 7 days ending on the
            trade date; 1 = "in the news").
        news_sentiment_7d: mean headline sentiment of those articles, -1..1 (NULL, hence
            never passing a set bound, when there are none).
        sort_by: a key of :data:`SORT_COLUMNS`; ``descending`` its direction.
            NULLs sort last, ties by ticker.
        limit: maximum number of rows (None = all).
    """

    text: str = ""
    sectors: tuple[str, ...] = ()
    market_cap: Range = field(default_factory=Range)
    pe_ratio: Range = field(default_factory=Range)
    pb_ratio: Range = field(default_factory=Range)
    dividend_yield: Range = field(default_factory=Range)
    roe: Range = field(default_factory=Range)
    debt_to_equity: Range = field(default_factory=Range)
    net_margin: Range = field(default_factory=Range)
    revenue_growth_yoy: Range = field(default_factory=Range)
    rsi_14: Range = field(default_factory=Range)
    return_1d: Range = field(default_factory=Range)
    return_5d: Range = field(default_factory=Range)
    return_21d: Range = field(default_factory=Range)
    return_63d: Range = field(default_factory=Range)
    return_126d: Range = field(default_factory=Range)
    return_252d: Range = field(default_factory=Range)
    vs_sma_50: Trend = Trend.ANY
    vs_sma_200: Trend = Trend.ANY
    max_below_high_52w: float | None = None
    min_relative_volume: float | None = None
    new_high_52w: bool = False
    golden_cross_20d: bool = False
    min_news_count_7d: int | None = None
    news_sentiment_7d: Range = field(default_factory=Range)
    sort_by: str = "market_cap"
    descending: bool = True
    limit: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise TypeError("text must be a string")
        sectors = tuple(self.sectors)
        if not all(isinstance(s, str) for s in sectors):
            raise TypeError("sectors must be strings")
        object.__setattr__(self, "sectors", sectors)
        for name in RANGE_COLUMNS:
            if not isinstance(getattr(self, name), Range):
                raise TypeError(f"{name} must be a Range")
        object.__setattr__(self, "vs_sma_50", Trend(self.vs_sma_50))
        object.__setattr__(self, "vs_sma_200", Trend(self.vs_sma_200))
        below = _check_number("max_below_high_52w", self.max_below_high_52w)
        if below is not None and below < 0:
            raise ValueError("max_below_high_52w must be >= 0 (a fraction below the high)")
        object.__setattr__(self, "max_below_high_52w", below)
        object.__setattr__(
            self, "min_relative_volume", _check_number("min_relative_volume", self.min_relative_volume)
        )
        news_min = _check_number("min_news_count_7d", self.min_news_count_7d)
        if news_min is not None and (news_min < 0 or not news_min.is_integer()):
            raise ValueError("min_news_count_7d must be a whole number >= 0")
        object.__setattr__(self, "min_news_count_7d", None if news_min is None else int(news_min))
        if self.sort_by not in SORT_COLUMNS:
            raise ValueError(f"cannot sort by {self.sort_by!r}; allowed: {', '.join(SORT_COLUMNS)}")
        if self.limit is not None and (
            isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1
        ):
            raise ValueError("limit must be a positive integer or None")


@dataclass(frozen=True)
class ScreenQuery:
    """SQL text with ``?`` placeholders and the values to bind, in order."""

    sql: str
    params: list[Any]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def build_where(spec: ScreenSpec) -> tuple[list[str], list[Any]]:
    """The WHERE conditions (ANDed) and their parameters for ``spec``."""
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
    for name, column in RANGE_COLUMNS.items():
        rng: Range = getattr(spec, name)
        if rng.min is not None:
            conds.append(f"{column} > ?")
            params.append(rng.min)
        if rng.max is not None:
            conds.append(f"{column} < ?")
            params.append(rng.max)
    for trend, sma in ((spec.vs_sma_50, "sma_50"), (spec.vs_sma_200, "sma_200")):
        if trend is Trend.ABOVE:
            conds.append(f"close > {sma}")
        elif trend is Trend.BELOW:
            conds.append(f"close < {sma}")
    if spec.max_below_high_52w is not None:
        conds.append("pct_from_high_52w >= ?")
        params.append(-spec.max_below_high_52w)
    if spec.min_relative_volume is not None:
        conds.append("relative_volume >= ?")
        params.append(spec.min_relative_volume)
    if spec.new_high_52w:
        conds.append("new_high_52w")
    if spec.golden_cross_20d:
        conds.append("golden_cross_20d")
    if spec.min_news_count_7d is not None:
        conds.append("news_count_7d >= ?")
        params.append(spec.min_news_count_7d)
    return conds, params


def _sort_key(column: str, dialect: Dialect) -> str:
    if dialect not in _TEXT_ORDER:
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    return column + (_TEXT_ORDER[dialect] if column in TEXT_COLUMNS else "")


def build_screen_query(spec: ScreenSpec, *, table: str = SCREENER_TABLE, dialect: Dialect = "duckdb") -> ScreenQuery:
    """Compile ``spec`` to ``SELECT <RESULT_COLUMNS> FROM <table> ...``.

    ``table`` is the (schema-qualified) screener mart; it comes from configuration,
    never from user input. ``dialect`` picks the text ordering (see module doc).
    """
    if spec.sort_by not in SORT_COLUMNS:  # re-checked: the whitelist is what keeps SQL safe
        raise ValueError(f"cannot sort by {spec.sort_by!r}")
    conds, params = build_where(spec)
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    direction = "DESC" if spec.descending else "ASC"
    order = f" ORDER BY {_sort_key(spec.sort_by, dialect)} {direction} NULLS LAST"
    if spec.sort_by != "ticker":
        order += f", {_sort_key('ticker', dialect)} ASC"
    sql = f"SELECT {', '.join(RESULT_COLUMNS)} FROM {table}{where}{order}"
    if spec.limit is not None:
        sql += " LIMIT ?"
        params.append(spec.limit)
    return ScreenQuery(sql=sql, params=params)


def build_count_query(spec: ScreenSpec, *, table: str = SCREENER_TABLE) -> ScreenQuery:
    """``SELECT count(*) AS n`` of the rows of ``table`` matching ``spec`` (sort and limit ignored)."""
    conds, params = build_where(spec)
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    return ScreenQuery(sql=f"SELECT count(*) AS n FROM {table}{where}", params=params)


# --------------------------------------------------------------------------- presets

#: Label of the "no preset" entry (all stocks, default sort).
NO_PRESET = "All stocks"

#: Named preset screens, in menu order.
PRESETS: Mapping[str, ScreenSpec] = MappingProxyType(
    {
        NO_PRESET: ScreenSpec(),
        "Oversold above SMA200": ScreenSpec(
            rsi_14=Range(max=30), vs_sma_200=Trend.ABOVE, sort_by="rsi_14", descending=False
        ),
        "New 52-week highs": ScreenSpec(new_high_52w=True, sort_by="relative_volume"),
        "Golden cross (20d)": ScreenSpec(golden_cross_20d=True, sort_by="return_21d"),
        "Value: P/E < 15 and dividend yield > 3 %": ScreenSpec(
            pe_ratio=Range(max=15), dividend_yield=Range(min=0.03), sort_by="dividend_yield"
        ),
        "Momentum": ScreenSpec(
            return_63d=Range(min=0.10),
            return_252d=Range(min=0.20),
            vs_sma_50=Trend.ABOVE,
            vs_sma_200=Trend.ABOVE,
            sort_by="return_252d",
        ),
        "Overbought (RSI > 70)": ScreenSpec(rsi_14=Range(min=70), sort_by="rsi_14"),
        "Near 52-week high on heavy volume": ScreenSpec(
            max_below_high_52w=0.05, min_relative_volume=1.5, sort_by="relative_volume"
        ),
        "Quality (filings): ROE > 15 % and debt/equity < 2": ScreenSpec(
            roe=Range(min=0.15), debt_to_equity=Range(max=2.0), sort_by="roe"
        ),
    }
)

#: One-line description of each preset (shown under the preset menu).
PRESET_DESCRIPTIONS: Mapping[str, str] = MappingProxyType(
    {
        NO_PRESET: "No filter: every ticker, largest market cap first.",
        "Oversold above SMA200": "RSI(14) < 30 and close > 200-day SMA (pullback in an uptrend).",
        "New 52-week highs": "Latest session made a new 52-week high.",
        "Golden cross (20d)": "SMA 50 crossed above SMA 200 within the last 20 sessions.",
        "Value: P/E < 15 and dividend yield > 3 %": "P/E under 15 and dividend yield over 3 %.",
        "Momentum": "3-month return > 10 %, 1-year return > 20 %, close above SMA 50 and SMA 200.",
        "Overbought (RSI > 70)": "RSI(14) over 70.",
        "Near 52-week high on heavy volume": "Within 5 % of the 52-week high with relative volume >= 1.5.",
        "Quality (filings): ROE > 15 % and debt/equity < 2": (
            "TTM ROE over 15 % and total liabilities under twice equity, from SEC filings "
            "(companies without filings never match)."
        ),
    }
)


def preset(name: str) -> ScreenSpec:
    """The preset spec called ``name`` (KeyError if unknown)."""
    return PRESETS[name]


def spec_fields() -> tuple[str, ...]:
    """Names of the fields of :class:`ScreenSpec`."""
    return tuple(f.name for f in fields(ScreenSpec))


def with_sort(spec: ScreenSpec, sort_by: str, descending: bool) -> ScreenSpec:
    """Copy of ``spec`` with another (validated) sort."""
    return replace(spec, sort_by=sort_by, descending=descending)

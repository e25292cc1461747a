"""The screen model: a typed, validated screen over ``marts.mart_screener_latest``.

A :class:`ScreenSpec` holds a text search, a market list, a sector list, a sort and a limit, and one value per
*filter key* of the column registry (:mod:`domain.screens.columns`); which keys exist, and what
kind of value each takes, comes from the registry, not from this module:

==============  ====================================  ==========================================
filter kind     value                                 SQL (see :mod:`domain.screens.sql`)
==============  ====================================  ==========================================
``range``       :class:`Range` (open interval)        ``min < column < max``
``minimum``     number (whole for ``count`` columns)  ``column >= value``
``flag``        bool (False = not applied)            ``column`` (true)
``trend``       :class:`Trend`                        ``close > column`` / ``close < column``
``max_below``   number >= 0                           ``column >= -value``
==============  ====================================  ==========================================

Values are in the warehouse's units (fractions for returns, yields and distances; money in the
currency of the row's market, USD or KRW); the app's form converts from its display units. The
markets (codes of :mod:`domain.markets`: ``US``, ``KOSPI``, ``KOSDAQ``) limit the screen to their
rows, so every filter applies within them; a preset names the markets it is meant for. Rows whose value is NULL never pass
a filter that is set.

Construction takes the filters as keywords, ``ScreenSpec(rsi_14=Range(max=30),
vs_sma_200=Trend.ABOVE, sort_by="rsi_14", descending=False)``, and reading one is an attribute
(``spec.rsi_14``; an unset filter reads as its empty value). :func:`spec_from_mapping` builds a
spec from plain data (YAML of alert rules and presets).

Raises (construction): ``TypeError``/``ValueError`` naming the filter at fault.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.markets import markets as known_markets
from domain.screens.columns import Registry, ScreenerColumn, registry


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


def _check_markets(markets: Any) -> tuple[str, ...]:
    """``markets`` as a tuple of market codes in the markets seed's order, without repeats.

    Raises:
        TypeError: not a list or tuple of strings.
        ValueError: a code that is not a market of the seed (names the known ones).
    """
    if isinstance(markets, str) or not isinstance(markets, (list, tuple)):
        raise TypeError(f"markets must be a list of market codes, got {markets!r}")
    if not all(isinstance(m, str) for m in markets):
        raise TypeError("markets must be strings")
    known = known_markets()
    unknown = [m for m in markets if m not in known]
    if unknown:
        raise ValueError(f"unknown markets {unknown}; markets: {', '.join(known)}")
    return tuple(code for code in known if code in markets)


def empty_value(column: ScreenerColumn) -> Any:
    """The value of a filter that is not applied."""
    return {"range": Range(), "flag": False, "trend": Trend.ANY}.get(column.filter or "", None)


def _filter_value(key: str, column: ScreenerColumn, value: Any) -> Any:
    """``value`` checked and normalised for the filter ``key``."""
    kind = column.filter
    if kind == "range":
        if not isinstance(value, Range):
            raise TypeError(f"{key} must be a Range")
        return value
    if kind == "flag":
        if not isinstance(value, bool):
            raise TypeError(f"{key} must be true or false")
        return value
    if kind == "trend":
        try:
            return Trend(value)
        except ValueError:
            raise ValueError(f"{key} must be one of {', '.join(t.value for t in Trend)}, got {value!r}") from None
    number = _check_number(key, value)
    if number is None:
        return None
    if kind == "max_below" and number < 0:
        raise ValueError(f"{key} must be >= 0 (a fraction below the {column.label.lower()})")
    if kind == "minimum" and column.unit == "count":
        if number < 0 or not number.is_integer():
            raise ValueError(f"{key} must be a whole number >= 0")
        return int(number)
    return number


class ScreenSpec:
    """One screen over ``marts.mart_screener_latest`` (see the module docstring). Immutable.

    Attributes:
        text: case-insensitive substring of ticker or company name ('' = any); matched
            literally (``%`` and ``_`` are not wildcards).
        markets: keep only rows of these markets (codes of :func:`domain.markets.markets`,
            kept in the seed's order; empty = every market).
        sectors: keep only these sectors (empty = all).
        sort_by: a sort column of the registry; ``descending`` its direction. NULLs sort last,
            ties by ticker.
        limit: maximum number of rows (None = all).
        <filter key>: one per filter of the registry.
    """

    __slots__ = ("_filters", "_registry", "descending", "limit", "markets", "sectors", "sort_by", "text")

    def __init__(
        self,
        *,
        text: str = "",
        markets: tuple[str, ...] | list[str] = (),
        sectors: tuple[str, ...] | list[str] = (),
        sort_by: str = "market_cap",
        descending: bool = True,
        limit: int | None = None,
        _registry: Registry | None = None,
        **filters: Any,
    ) -> None:
        reg = _registry or registry()
        if not isinstance(text, str):
            raise TypeError("text must be a string")
        markets = _check_markets(markets)
        sectors = tuple(sectors)
        if not all(isinstance(s, str) for s in sectors):
            raise TypeError("sectors must be strings")
        known = reg.filters
        values: dict[str, Any] = {}
        for key, value in filters.items():
            column = known.get(key)
            if column is None:
                raise ValueError(f"unknown screen filter {key!r}; filters: {', '.join(known)}")
            value = _filter_value(key, column, value)
            if value != empty_value(column):
                values[key] = value
        if sort_by not in reg.sort_columns:
            raise ValueError(f"cannot sort by {sort_by!r}; allowed: {', '.join(reg.sort_columns)}")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValueError("limit must be a positive integer or None")
        for name, value in (("text", text), ("markets", markets), ("sectors", sectors), ("sort_by", sort_by),
                            ("descending", bool(descending)), ("limit", limit),
                            ("_filters", tuple(sorted(values.items()))), ("_registry", reg)):  # fmt: skip
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("ScreenSpec is immutable: use replace()")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        column = self._registry.filters.get(name)
        if column is None:
            raise AttributeError(f"ScreenSpec has no filter {name!r}")
        return dict(self._filters).get(name, empty_value(column))

    @property
    def registry(self) -> Registry:
        """The column registry this spec was validated against."""
        return self._registry

    @property
    def filters(self) -> dict[str, Any]:
        """The filters that are set (key -> value), in key order."""
        return dict(self._filters)

    def _key(self) -> tuple:
        return (self.text, self.markets, self.sectors, self.sort_by, self.descending, self.limit, self._filters)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ScreenSpec) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        parts = [f"{k}={v!r}" for k, v in self._filters]
        if self.text:
            parts.insert(0, f"text={self.text!r}")
        if self.sectors:
            parts.insert(0, f"sectors={self.sectors!r}")
        if self.markets:
            parts.insert(0, f"markets={self.markets!r}")
        parts += [f"sort_by={self.sort_by!r}", f"descending={self.descending}"]
        if self.limit is not None:
            parts.append(f"limit={self.limit}")
        return f"ScreenSpec({', '.join(parts)})"

    def replace(self, **changes: Any) -> ScreenSpec:
        """A copy with some fields or filters replaced (validated again)."""
        values: dict[str, Any] = {"text": self.text, "markets": self.markets, "sectors": self.sectors,
                                  "sort_by": self.sort_by, "descending": self.descending, "limit": self.limit,
                                  **dict(self._filters)}  # fmt: skip
        values.update(changes)
        return ScreenSpec(_registry=self._registry, **values)


def spec_fields(reg: Registry | None = None) -> tuple[str, ...]:
    """Every name a spec (or an alert rule's ``filters`` mapping) accepts."""
    reg = reg or registry()
    return ("text", "markets", "sectors", *reg.filters, "sort_by", "descending", "limit")


def with_sort(spec: ScreenSpec, sort_by: str, descending: bool) -> ScreenSpec:
    """Copy of ``spec`` with another (validated) sort."""
    return spec.replace(sort_by=sort_by, descending=descending)


def spec_from_mapping(filters: Mapping[str, Any], reg: Registry | None = None) -> ScreenSpec:
    """A :class:`ScreenSpec` from plain data (YAML): ranges as ``{min: .., max: ..}``, ``markets``
    and ``sectors`` lists, trends ``above``/``below``, other values as the spec takes them.

    Raises:
        ValueError: unknown field, or a value the spec rejects (names the field).
    """
    reg = reg or registry()
    allowed = spec_fields(reg)
    known = reg.filters
    kwargs: dict[str, Any] = {}
    for name, value in filters.items():
        if name not in allowed:
            raise ValueError(f"unknown screen field {name!r}; allowed: {', '.join(allowed)}")
        column = known.get(name)
        if column is not None and column.filter == "range":
            if not isinstance(value, Mapping) or not set(value) <= {"min", "max"}:
                raise ValueError(f"screen field {name!r} must be a mapping with min and/or max, got {value!r}")
            try:
                value = Range(**value)
            except (TypeError, ValueError) as error:
                raise ValueError(f"screen field {name!r}: {error}") from None
        elif name in ("markets", "sectors"):
            value = tuple(value) if isinstance(value, (list, tuple)) else value
        kwargs[name] = value
    try:
        return ScreenSpec(_registry=reg, **kwargs)
    except (TypeError, ValueError) as error:
        raise ValueError(f"invalid screen filters: {error}") from None


def spec_to_mapping(spec: ScreenSpec) -> dict[str, Any]:
    """The plain-data form of ``spec`` that :func:`spec_from_mapping` reads back (set values
    only; ranges as ``{min, max}`` without unset bounds, trends as text)."""
    data: dict[str, Any] = {}
    if spec.text:
        data["text"] = spec.text
    if spec.markets:
        data["markets"] = list(spec.markets)
    if spec.sectors:
        data["sectors"] = list(spec.sectors)
    for key, value in spec.filters.items():
        if isinstance(value, Range):
            data[key] = {k: v for k, v in (("min", value.min), ("max", value.max)) if v is not None}
        elif isinstance(value, Trend):
            data[key] = value.value
        else:
            data[key] = value
    data["sort_by"] = spec.sort_by
    data["descending"] = spec.descending
    if spec.limit is not None:
        data["limit"] = spec.limit
    return data

"""Text formatting of warehouse values for display (missing values render as an em dash), counted
nouns (``1 article`` / ``2 articles``) and market names."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import pandas as pd

MISSING = "—"

#: Display names of the markets, keyed by market code (``dim_companies.market``): the
#: ``display_name`` column of the dbt seed ``markets`` (``dim_markets``); a market without an entry
#: shows its code.
MARKET_NAMES = {"US": "US", "KOSPI": "KOSPI (Korea)", "KOSDAQ": "KOSDAQ (Korea)"}


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def number(value: Any, decimals: int = 2) -> str:
    """Plain number with thousands separators, e.g. ``1,234.57``."""
    if _missing(value):
        return MISSING
    return f"{float(value):,.{decimals}f}"


def usd(value: Any, decimals: int = 2) -> str:
    """Price in USD, e.g. ``$172.50``."""
    if _missing(value):
        return MISSING
    return f"${float(value):,.{decimals}f}"


def usd_compact(value: Any) -> str:
    """Large USD amount (market cap) in T/B/M, e.g. ``$1.23T``, ``$45.6B``."""
    if _missing(value):
        return MISSING
    v = float(value)
    for divisor, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if abs(v) >= divisor:
            return f"${v / divisor:,.2f}{suffix}"
    return f"${v:,.0f}"


def pct(fraction: Any, decimals: int = 2, signed: bool = False) -> str:
    """A fraction as percent, e.g. ``0.0312 -> 3.12%`` (``+3.12%`` if ``signed``)."""
    if _missing(fraction):
        return MISSING
    v = float(fraction) * 100
    if not math.isfinite(v):
        return MISSING
    return f"{v:+.{decimals}f}%" if signed else f"{v:.{decimals}f}%"


def shares(value: Any) -> str:
    """Share volume in K/M/B, e.g. ``12.3M``."""
    if _missing(value):
        return MISSING
    v = float(value)
    for divisor, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(v) >= divisor:
            return f"{v / divisor:,.1f}{suffix}"
    return f"{v:,.0f}"


def day(value: Any) -> str:
    """A date as ``YYYY-MM-DD``."""
    if _missing(value):
        return MISSING
    if isinstance(value, (datetime, date)):
        return value.strftime("%Y-%m-%d")
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def text(value: Any) -> str:
    """A string value, or the missing marker."""
    return MISSING if _missing(value) else str(value)


def by_format(value: Any, display_format: str | None, unit: str = "ratio", signed: bool = False) -> str:
    """``value`` as text in a registry display format (:mod:`domain.screens.columns`):
    ``dollar`` -> :func:`usd`, ``percent`` -> :func:`pct` (with a sign when ``signed``),
    ``compact`` -> :func:`usd_compact` (money) or :func:`shares`, ``%.Nf`` / ``%d`` ->
    :func:`number`; booleans as yes/no."""
    if _missing(value):
        return MISSING
    if unit == "flag":
        return "yes" if bool(value) else "no"
    if unit == "date":
        return day(value)
    if display_format is None or unit == "text":
        return text(value)
    if display_format == "dollar":
        return usd(value)
    if display_format == "percent":
        return pct(value, signed=signed)
    if display_format == "compact":
        return usd_compact(value) if unit == "usd" else shares(value)
    if display_format == "%d":
        return number(value, 0)
    if display_format.startswith("%.") and display_format.endswith("f"):
        return number(value, int(display_format[2:-1]))
    return text(value)


def noun(count: int, singular: str, plural: str | None = None) -> str:
    """The form of a noun (or verb) that agrees with ``count``: ``singular`` for exactly 1,
    else ``plural`` (default ``singular + "s"``), e.g. ``noun(1, "article") -> "article"``.

    Raises:
        TypeError: ``count`` is not a whole number.
    """
    if isinstance(count, bool) or not float(count).is_integer():
        raise TypeError(f"count must be a whole number, got {count!r}")
    return singular if int(count) == 1 else (plural if plural is not None else f"{singular}s")


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``count`` with its agreeing noun and thousands separators: ``1 article``,
    ``1,204 articles`` (``plural`` as in :func:`noun`)."""
    return f"{int(count):,} {noun(count, singular, plural)}"


def market_name(code: str) -> str:
    """Display name of a market code (``KOSPI -> KOSPI (Korea)``), the code itself when unknown."""
    return MARKET_NAMES.get(code, code)

"""Text formatting of warehouse values for display (missing values render as an em dash)."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import pandas as pd

MISSING = "—"


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

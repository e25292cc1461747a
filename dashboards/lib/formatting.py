"""Text formatting of warehouse values for display (missing values render as an em dash): numbers,
percentages, dates, money in a market's currency, counted nouns (``1 article`` / ``2 articles``)
and market names.

Money. Each market's currency and the decimals of its amounts come from the markets seed
(:mod:`domain.markets`: USD 2, KRW 0); currency symbols and the compact notation of large amounts
from CLDR, through Babel. Prices: ``$172.50``, ``₩83,000``. Large amounts (market caps): US dollars
in English compact notation with two decimals (``$2.41B``, ``$1.2T``), Korean won in the units
Korean readers use, 조 (10^12) and 억 (10^8), with one decimal (``₩495.5조``, ``₩3115억``). In
sortable tables a large-amount column stays a number: USD in Streamlit's compact notation, KRW
in 억 (the unit of the screener's market-cap filter, :func:`domain.screens.large_money_unit`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from babel.numbers import format_compact_currency, format_currency, get_currency_symbol

from domain import markets as market_seed
from domain.markets import markets
from domain.screens import MONEY_UNITS, large_money_unit

MISSING = "—"

#: Locale of the app's text (English): currency symbols and digit grouping.
APP_LOCALE = "en_US"

#: Compact notation of large amounts per currency, ``(locale, fraction digits)``: the won in
#: Korean units (조, 억); any other currency in English (K, M, B, T) with two decimals.
COMPACT_NOTATION: dict[str, tuple[str, int]] = {"KRW": ("ko_KR", 1)}

#: Streamlit's own number formats for a currency (``st.column_config.NumberColumn``); other
#: currencies get a printf format with their symbol and decimals (``₩%,.0f``).
STREAMLIT_CURRENCY_FORMATS: dict[str, str] = {"USD": "dollar", "EUR": "euro", "JPY": "yen"}


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


# ----------------------------------------------------------------------------- markets and currencies


def market_name(code: str) -> str:
    """Display name of a market code from the markets seed (``KOSPI -> KOSPI (Korea)``), the code
    itself when the seed does not have it."""
    found = markets().get(code)
    return found.display_name if found is not None else code


def market_currency(code: str) -> str:
    """ISO 4217 currency of the market ``code`` (``US -> USD``, ``KOSPI -> KRW``).

    Raises:
        KeyError: not a market of the seed (the message lists the known ones).
    """
    return market_seed.market(code).currency


def money_decimals(currency: str) -> int:
    """Decimals of amounts in ``currency`` (``money_decimals`` of the seed's markets: USD 2, KRW 0).

    Raises:
        KeyError: no market of the seed has that currency.
    """
    for market in markets().values():
        if market.currency == currency:
            return market.money_decimals
    raise KeyError(f"no market of the markets seed has the currency {currency!r}")


def currency_symbol(currency: str) -> str:
    """The symbol of ``currency`` in the app's locale (CLDR): ``$``, ``₩``."""
    return get_currency_symbol(currency, locale=APP_LOCALE)


# ----------------------------------------------------------------------------- money


def money(value: Any, currency: str) -> str:
    """An amount in ``currency`` with its symbol and the currency's decimals
    (:func:`money_decimals`), e.g. ``$172.50``, ``₩83,000``, ``-$1,234.50``.

    Raises:
        KeyError: no market of the seed has that currency.
    """
    if _missing(value) or not math.isfinite(float(value)):
        return MISSING
    decimals = money_decimals(currency)
    pattern = "¤#,##0" + ("." + "0" * decimals if decimals else "")
    return format_currency(float(value), currency, format=pattern, locale=APP_LOCALE, currency_digits=False)


def usd(value: Any) -> str:
    """An amount in US dollars, e.g. ``$172.50`` (:func:`money` in ``USD``)."""
    return money(value, "USD")


def money_compact(value: Any, currency: str) -> str:
    """A large amount (market cap, revenue) in ``currency`` in compact notation: English units
    with two decimals (``$2.41B``, ``$1.2T``), the won in Korean units with one decimal
    (``₩495.5조``, ``₩3115억``; :data:`COMPACT_NOTATION`)."""
    if _missing(value) or not math.isfinite(float(value)):
        return MISSING
    locale, digits = COMPACT_NOTATION.get(currency, (APP_LOCALE, 2))
    return format_compact_currency(float(value), currency, locale=locale, fraction_digits=digits)


@dataclass(frozen=True)
class TableMoney:
    """How a table shows a money column of one currency: the ``st.column_config`` number
    ``format``, the ``unit`` its header names (empty when the cells carry the symbol) and the
    ``factor`` the values are multiplied by for display (1 unless the column is in a large unit)."""

    format: str
    unit: str = ""
    factor: float = 1.0


def table_money(currency: str | None, large: bool = False) -> TableMoney:
    """Table format of a money column in ``currency``; ``large``: a large-amount column (market
    cap). Prices: Streamlit's currency format (``dollar``) or the symbol and decimals
    (``₩%,.0f``). Large amounts: compact for currencies read in English units (``2.4B``, header
    ``USD``), otherwise in the currency's large unit (KRW: ``4,954,920`` in 억, header ``KRW 억``).
    ``currency`` None (a table of several currencies, beside a currency column): plain numbers
    with digit grouping, compact for large amounts."""
    if currency is None:
        return TableMoney("compact" if large else "localized")
    if not large:
        decimals = money_decimals(currency)
        return TableMoney(STREAMLIT_CURRENCY_FORMATS.get(currency, f"{currency_symbol(currency)}%,.{decimals}f"))
    if currency not in COMPACT_NOTATION:
        return TableMoney("compact", currency)
    size, label = large_money_unit(currency)
    return TableMoney("%,.0f", label, 1 / size)


# ----------------------------------------------------------------------------- other units


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


def by_format(
    value: Any, display_format: str | None, unit: str = "ratio", signed: bool = False, currency: str = "USD"
) -> str:
    """``value`` as text in a registry display format (:mod:`domain.screens.columns`):
    ``dollar`` -> :func:`money`, ``percent`` -> :func:`pct` (with a sign when ``signed``),
    ``compact`` -> :func:`money_compact` (money) or :func:`shares`, ``%.Nf`` / ``%d`` ->
    :func:`number`; booleans as yes/no. Money units are amounts in ``currency`` (the row's
    market's)."""
    if _missing(value):
        return MISSING
    if unit == "flag":
        return "yes" if bool(value) else "no"
    if unit == "date":
        return day(value)
    if display_format is None or unit == "text":
        return text(value)
    if display_format == "dollar":
        return money(value, currency)
    if display_format == "percent":
        return pct(value, signed=signed)
    if display_format == "compact":
        return money_compact(value, currency) if unit in MONEY_UNITS else shares(value)
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

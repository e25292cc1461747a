"""Event rows: identity, message, and the outbox rows that go with them.

An event is identified by ``(rule_id, ticker, trade_date)``; ``event_id`` is the first 20 hex
digits of SHA-256 of ``rule_id|ticker|trade_date`` (ISO date), so evaluating the same day twice
cannot store or send the same event twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime

import polars as pl

from domain.alerts.rules import AlertRule, RuleType
from domain.screens import registry

EVENT_SCHEMA = {
    "event_id": pl.Utf8,
    "rule_id": pl.Utf8,
    "rule_type": pl.Utf8,
    "ticker": pl.Utf8,
    "trade_date": pl.Date,
    "observed_value": pl.Float64,
    "threshold": pl.Float64,
    "message": pl.Utf8,
    "fired_at": pl.Datetime("us"),
}
DELIVERY_SCHEMA = {
    "event_id": pl.Utf8,
    "channel": pl.Utf8,
    "status": pl.Utf8,
    "attempts": pl.Int32,
    "last_error": pl.Utf8,
    "last_attempt_at": pl.Datetime("us"),
    "next_attempt_at": pl.Datetime("us"),
    "delivered_at": pl.Datetime("us"),
}


def by_unit(value: float, unit: str) -> str:
    """A value in an event message: percent for fractions, 2 decimals otherwise."""
    return f"{value * 100:.2f} %" if unit == "fraction" else f"{value:.2f}"


def event_id(rule_id: str, ticker: str, trade_date: date) -> str:
    """20 hex digits of SHA-256 of ``rule_id|ticker|YYYY-MM-DD``."""
    return hashlib.sha256(f"{rule_id}|{ticker}|{trade_date.isoformat()}".encode()).hexdigest()[:20]


def event_message(rule: AlertRule, ticker: str, trade_date: date, observed: float | None,
                  threshold: float | None) -> str:  # fmt: skip
    """One sentence with the values, ending with the rule id (what every channel sends)."""
    day = trade_date.isoformat()
    close = f" (close {observed:.2f} USD)" if observed is not None else ""
    match rule.type:
        case RuleType.PRICE_ABOVE:
            text = f"{ticker} closed at {observed:.2f} USD on {day}, above {threshold:.2f} USD"
        case RuleType.PRICE_BELOW:
            text = f"{ticker} closed at {observed:.2f} USD on {day}, below {threshold:.2f} USD"
        case RuleType.PRICE_CROSS_ABOVE_SMA:
            text = (f"{ticker} crossed above its {rule.window}-day SMA on {day}: adjusted close "
                    f"{observed:.2f} USD > SMA {threshold:.2f} USD")  # fmt: skip
        case RuleType.PRICE_CROSS_BELOW_SMA:
            text = (f"{ticker} crossed below its {rule.window}-day SMA on {day}: adjusted close "
                    f"{observed:.2f} USD < SMA {threshold:.2f} USD")  # fmt: skip
        case RuleType.RSI_ABOVE:
            text = f"{ticker} RSI(14) rose above {threshold:g} on {day}: {observed:.1f}"
        case RuleType.RSI_BELOW:
            text = f"{ticker} RSI(14) fell below {threshold:g} on {day}: {observed:.1f}"
        case RuleType.VOLUME_SPIKE:
            text = f"{ticker} traded {observed:.2f}x its 20-day average volume on {day} (level {threshold:g}x)"
        case RuleType.INDICATOR_ABOVE | RuleType.INDICATOR_BELOW:
            column = registry()[rule.column]
            side = "rose above" if rule.type == RuleType.INDICATOR_ABOVE else "fell below"
            value = by_unit(observed, column.unit)
            text = f"{ticker} {column.label} {side} {threshold:g} on {day}: {value}"
        case RuleType.SCREEN_ENTER:
            text = f"{ticker} entered the screen {rule.screen_label!r} on {day}{close}"
        case RuleType.SCREEN_EXIT:
            text = f"{ticker} left the screen {rule.screen_label!r} on {day}{close}"
    return f"{text} [rule {rule.id}]"


def event_rows(rule: AlertRule, found: Iterable[tuple[str, date, float | None, float | None]],
               fired_at: datetime) -> pl.DataFrame:  # fmt: skip
    """Events of ``rule`` from ``(ticker, trade_date, observed_value, threshold)`` tuples
    (columns :data:`EVENT_SCHEMA`; ``fired_at`` naive UTC)."""
    rows = [
        (event_id(rule.id, ticker, day), rule.id, str(rule.type), ticker, day, observed, threshold,
         event_message(rule, ticker, day, observed, threshold), fired_at)  # fmt: skip
        for ticker, day, observed, threshold in found
    ]
    return pl.DataFrame(rows, schema=EVENT_SCHEMA, orient="row")


def delivery_rows(rule: AlertRule, events: pl.DataFrame, fired_at: datetime) -> pl.DataFrame:
    """One pending outbox row per event and channel of ``rule``, due at ``fired_at``
    (columns :data:`DELIVERY_SCHEMA`)."""
    rows = [
        (event, channel, "pending", 0, None, None, fired_at, None)
        for event in events["event_id"]
        for channel in rule.channels
    ]
    return pl.DataFrame(rows, schema=DELIVERY_SCHEMA, orient="row")

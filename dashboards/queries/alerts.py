"""Reads of the alert tables for the Alerts page (read-only, through a :class:`~domain.warehouse.readers.Reader`).

``alerts.alert_events`` holds one row per fired event (a rule's condition crossing from false to
true for a ticker on a trade_date, or a ticker entering/leaving a screen);
``alerts.alert_deliveries`` one row per (event, channel) with its delivery status. Both are
written by the ``alerts_evaluate`` Dagster job (see README "Alerts"); before its first run the
tables do not exist and the functions here return empty frames.
"""

from __future__ import annotations

import pandas as pd

from dashboards.queries import is_missing_table
from domain.warehouse.readers import DATABASE_ERRORS, Reader

#: Columns of :func:`recent_events`. ``observed_value`` is in the rule's unit (USD for prices,
#: 0-100 for RSI, a multiple of the 20-day average for relative volume); ``deliveries`` reads
#: like ``log: delivered; webhook: pending (2 attempts: HTTP 500)``.
EVENT_COLUMNS: tuple[str, ...] = (
    "fired_at", "trade_date", "rule_id", "rule_type", "ticker", "observed_value", "threshold", "message", "deliveries",
)  # fmt: skip


def recent_events(reader: Reader, limit: int = 200, rule_id: str | None = None) -> pd.DataFrame:
    """The latest ``limit`` events (by trade_date, then fired_at), newest first, optionally of one
    rule. Columns: :data:`EVENT_COLUMNS` (``fired_at`` UTC)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError("limit must be a positive integer")
    text_order = reader.text_order("e.rule_id")
    aggregate = (
        "string_agg(d.channel || ': ' || d.status || CASE WHEN d.status <> 'delivered' AND d.last_error IS NOT NULL "
        "THEN ' (' || CAST(d.attempts AS VARCHAR) || ' attempts: ' || d.last_error || ')' ELSE '' END, '; ' "
        "ORDER BY d.channel)"
    )
    where = "WHERE e.rule_id = ?" if rule_id else ""
    params: list = [rule_id] if rule_id else []
    sql = (
        "SELECT e.fired_at, e.trade_date, e.rule_id, e.rule_type, e.ticker, e.observed_value, e.threshold, e.message, "
        f"{aggregate} AS deliveries "
        f"FROM {reader.table('alerts', 'alert_events')} e "
        f"LEFT JOIN {reader.table('alerts', 'alert_deliveries')} d ON d.event_id = e.event_id {where} "
        "GROUP BY e.event_id, e.fired_at, e.trade_date, e.rule_id, e.rule_type, e.ticker, e.observed_value, "
        "e.threshold, e.message "
        f"ORDER BY e.trade_date DESC, e.fired_at DESC, {text_order}, e.ticker LIMIT ?"
    )
    try:
        return reader.query(sql, [*params, limit])
    except DATABASE_ERRORS as exc:
        if is_missing_table(exc):
            return pd.DataFrame(columns=list(EVENT_COLUMNS))
        raise


def event_counts(reader: Reader) -> pd.DataFrame:
    """``rule_id, events, last_trade_date, pending_deliveries`` per rule that has fired."""
    sql = (
        "SELECT e.rule_id, count(DISTINCT e.event_id) AS events, max(e.trade_date) AS last_trade_date, "
        "count(d.event_id) FILTER (WHERE d.status = 'pending') AS pending_deliveries "
        f"FROM {reader.table('alerts', 'alert_events')} e "
        f"LEFT JOIN {reader.table('alerts', 'alert_deliveries')} d ON d.event_id = e.event_id GROUP BY e.rule_id"
    )
    try:
        return reader.query(sql)
    except DATABASE_ERRORS as exc:
        if is_missing_table(exc):
            return pd.DataFrame(columns=["rule_id", "events", "last_trade_date", "pending_deliveries"])
        raise

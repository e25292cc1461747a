"""DDL of the alert tables in ``<prefix>alerts`` (valid on DuckDB and PostgreSQL): the alerts' operational
state (outbox, rule state) in a schema of their own, apart from ``marts``, the BI contract.

They are written by the ``alerts/alert_events`` asset, not by dbt: dbt neither creates nor drops
them (``dbt build`` only replaces the relations of its own models), so they survive every build
and the snapshot copies them with the rest of the warehouse. Timestamps are UTC (``timestamp``
without zone, in UTC), as everywhere in the warehouse.

``alert_events`` — one row per fired event (primary key ``event_id``), insert-only:

==============  ==================================================================================
event_id        20 hex digits: SHA-256 of ``rule_id|ticker|trade_date`` (a rerun cannot fire twice)
rule_id         the rule's id (``ALERT_RULES_FILE``)
rule_type       ``price_above``, ``rsi_above``, ``screen_enter``, ... (the rule's type when it fired)
ticker          the ticker the event is about
trade_date      the trading day on which the condition became true (screens: the ticker's latest
                trade_date in ``mart_screener_latest``, or the mart's latest date when it is gone)
observed_value  close (price rules, USD), adjusted close (SMA rules, USD), RSI(14) (0-100),
                relative volume (ratio), or the close for screen rules (NULL if gone)
threshold       the rule's level, or the SMA value on that day (USD); NULL for screen rules
message         one sentence with the values, as sent to every channel
fired_at        when the evaluation that found it ran
==============  ==================================================================================

``alert_deliveries`` — the outbox, one row per (event_id, channel), inserted with its event in the
same transaction: ``status`` (``pending`` | ``delivered``), ``attempts`` (sends tried),
``last_error`` (the last failure, NULL once delivered), ``last_attempt_at``, ``next_attempt_at``
(when a pending delivery is due; NULL once delivered), ``delivered_at``.

``alert_rule_state`` — one row per rule evaluated at least once: ``rule_type``, ``fingerprint``
(:meth:`AlertRule.fingerprint`: a different value means the rule was edited), ``watermark``
(last trade_date evaluated), ``evaluated_at``.

``alert_screen_members`` — membership of each screen rule's screen at its last evaluation: one
row per (rule_id, ticker) with the ticker's ``trade_date`` in the screener mart and
``recorded_at``.
"""

from __future__ import annotations

from domain.warehouse import Warehouse


def events_table(warehouse: Warehouse) -> str:
    """Qualified name of ``alerts.alert_events``."""
    return warehouse.table("alerts", "alert_events")


def deliveries_table(warehouse: Warehouse) -> str:
    """Qualified name of ``alerts.alert_deliveries``."""
    return warehouse.table("alerts", "alert_deliveries")


def rule_state_table(warehouse: Warehouse) -> str:
    """Qualified name of ``alerts.alert_rule_state``."""
    return warehouse.table("alerts", "alert_rule_state")


def screen_members_table(warehouse: Warehouse) -> str:
    """Qualified name of ``alerts.alert_screen_members``."""
    return warehouse.table("alerts", "alert_screen_members")


def ensure_alert_tables(warehouse: Warehouse) -> None:
    """Create the alerts schema and the four alert tables if they do not exist (idempotent)."""
    warehouse.ensure_schema("alerts")
    warehouse.execute(
        f"""create table if not exists {events_table(warehouse)} (
            event_id varchar not null primary key,
            rule_id varchar not null,
            rule_type varchar not null,
            ticker varchar not null,
            trade_date date not null,
            observed_value double precision,
            threshold double precision,
            message varchar not null,
            fired_at timestamp not null
        )"""
    )
    warehouse.execute(
        f"""create table if not exists {deliveries_table(warehouse)} (
            event_id varchar not null,
            channel varchar not null,
            status varchar not null,
            attempts integer not null,
            last_error varchar,
            last_attempt_at timestamp,
            next_attempt_at timestamp,
            delivered_at timestamp,
            primary key (event_id, channel)
        )"""
    )
    warehouse.execute(
        f"""create table if not exists {rule_state_table(warehouse)} (
            rule_id varchar not null primary key,
            rule_type varchar not null,
            fingerprint varchar not null,
            watermark date not null,
            evaluated_at timestamp not null
        )"""
    )
    warehouse.execute(
        f"""create table if not exists {screen_members_table(warehouse)} (
            rule_id varchar not null,
            ticker varchar not null,
            trade_date date,
            recorded_at timestamp not null,
            primary key (rule_id, ticker)
        )"""
    )

"""The outbox: send every due pending delivery, record each result at once, retry with backoff.

A delivery (``alerts.alert_deliveries``, one row per event and channel) is *due* when its status is
``pending`` and ``next_attempt_at <= now``. :func:`deliver_due` tries them oldest first:

* success: ``status = 'delivered'``, ``delivered_at = now``, ``attempts + 1``, ``last_error`` and
  ``next_attempt_at`` cleared;
* failure (including a channel that is not configured): still ``pending``, ``attempts + 1``,
  ``last_error`` = the error, ``next_attempt_at = now + ALERT_RETRY_MINUTES * 2**(attempts - 1)``
  minutes (attempts counted after this one: 5, 10, 20, ... minutes by default), at most
  :data:`MAX_BACKOFF` (6 hours). A delivery is retried until it succeeds.

Each result is written (one ``UPDATE``) right after its attempt, before the next send: a crash
never loses a pending delivery, and re-sends at most the one delivery whose send had succeeded
but whose result was not yet written (at-least-once).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import polars as pl

from domain.warehouse import Warehouse
from pipelines.defs.alerts.channels import Channel, ChannelNotConfigured
from pipelines.defs.alerts.tables import deliveries_table, events_table

MAX_BACKOFF = timedelta(hours=6)


def utc_now() -> datetime:
    """Now, naive UTC (the warehouse's timestamp convention)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def next_attempt_at(now: datetime, attempts: int, retry_minutes: int) -> datetime:
    """When to retry after ``attempts`` failed attempts: ``now + retry_minutes * 2**(attempts - 1)``
    minutes, at most :data:`MAX_BACKOFF`."""
    return now + min(timedelta(minutes=retry_minutes * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


@dataclass
class DeliveryReport:
    """What :func:`deliver_due` did: counts, counts per channel (``{channel: {delivered, failed}}``)
    and one line per failure (``event_id/channel: error``)."""

    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    per_channel: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    not_configured: set[str] = field(default_factory=set)

    def _count(self, channel: str, outcome: str) -> None:
        counts = self.per_channel.setdefault(channel, {"delivered": 0, "failed": 0})
        counts[outcome] += 1


def due_deliveries(warehouse: Warehouse, now: datetime) -> pl.DataFrame:
    """Pending deliveries due at ``now`` joined with their events, oldest first: the delivery
    columns ``channel, attempts, next_attempt_at`` and every column of alert_events."""
    return warehouse.fetch_frame(
        f"""select d.channel, d.attempts, d.next_attempt_at, e.*
        from {deliveries_table(warehouse)} as d
        join {events_table(warehouse)} as e on e.event_id = d.event_id
        where d.status = 'pending' and d.next_attempt_at <= ?
        order by d.next_attempt_at, e.trade_date, e.rule_id, e.ticker, d.channel""",
        [now],
    )


def due_count(warehouse: Warehouse, now: datetime) -> int:
    """Number of pending deliveries due at ``now`` (0 when the outbox table does not exist yet)."""
    schema, name = deliveries_table(warehouse).split(".")
    exists = warehouse.fetch_frame(
        "select count(*) as n from information_schema.tables where table_schema = ? and table_name = ?", [schema, name]
    )["n"][0]
    if not exists:
        return 0
    return int(warehouse.fetch_frame(
        f"select count(*) as n from {deliveries_table(warehouse)} where status = 'pending' and next_attempt_at <= ?", [now]
    )["n"][0])  # fmt: skip


def deliver_due(warehouse: Warehouse, channels: Mapping[str, Channel], retry_minutes: int,
                clock: Callable[[], datetime] = utc_now) -> DeliveryReport:  # fmt: skip
    """Attempt every delivery due at ``clock()`` (see the module docstring); ``clock`` returns
    naive UTC and is read again for each attempt's timestamps."""
    report = DeliveryReport()
    update = f"""update {deliveries_table(warehouse)}
        set status = ?, attempts = ?, last_error = ?, last_attempt_at = ?, next_attempt_at = ?, delivered_at = ?
        where event_id = ? and channel = ?"""
    for row in due_deliveries(warehouse, clock()).iter_rows(named=True):
        name, attempts = row["channel"], row["attempts"] + 1
        report.attempted += 1
        try:
            channel = channels.get(name)
            if channel is None:
                raise ChannelNotConfigured(f"unknown channel {name!r}; known: {', '.join(channels)}")
            channel.send(row)
        except Exception as error:  # any failure of a channel is recorded, never lost
            now = clock()
            message = f"{type(error).__name__}: {error}"[:1000]
            warehouse.execute(update, ["pending", attempts, message, now,
                                       next_attempt_at(now, attempts, retry_minutes), None, row["event_id"], name])  # fmt: skip
            report.failed += 1
            report._count(name, "failed")
            report.errors.append(f"{row['event_id']}/{name}: {message}")
            if isinstance(error, ChannelNotConfigured):
                report.not_configured.add(name)
        else:
            now = clock()
            warehouse.execute(update, ["delivered", attempts, None, now, None, now, row["event_id"], name])
            report.delivered += 1
            report._count(name, "delivered")
    return report

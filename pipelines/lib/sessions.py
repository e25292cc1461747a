"""The price load's window: the exchange sessions of :mod:`domain.calendar` a run loads.

``raw/prices_daily`` is not a Dagster-partitioned asset: a run loads any range of sessions
``first..last`` (run config, ``python -m pipelines.build --partition-range``) and records one
materialization, where daily partitions cost two event-log writes per session (planned and
materialized: 2,518 writes and about 28 s for a 1,259-session backfill on the SQLite instance,
measured for issue 12). The sessions a run loaded are in ``raw.price_load_reconciliation``.

Every function takes the exchange calendar's name (``XNYS`` default, ``XKRX``); "today" is the
date in that exchange's time zone.
"""

from __future__ import annotations

from datetime import date, datetime

from domain.calendar import EXCHANGE, exchange_calendar, next_session_after, sessions_between


def today_in_exchange_timezone(exchange: str = EXCHANGE) -> date:
    """Today's date in the exchange's time zone (the day of the session that may be trading now)."""
    return datetime.now(exchange_calendar(exchange).tz).date()


def latest_session(today: date | None = None, exchange: str = EXCHANGE) -> date:
    """The last session on or before ``today`` (default: today in the exchange's time zone):
    today's session once the day has started, as the evening schedule loads it."""
    today = today or today_in_exchange_timezone(exchange)
    return exchange_calendar(exchange).date_to_session(today.isoformat(), direction="previous").date()


def session_span(history_start: date, today: date | None = None, exchange: str = EXCHANGE) -> tuple[date, date]:
    """Calendar days ``[first, end)`` a price may be dated in: the first session on or after
    ``history_start`` to the session after :func:`latest_session`. A price dated outside is
    rejected with a reason (see :mod:`pipelines.defs.prices.reconciliation`)."""
    first = sessions_between(history_start, next_session_after(history_start, exchange), exchange)[0]
    return first, next_session_after(latest_session(today, exchange), exchange)


def is_session(day: date, exchange: str = EXCHANGE) -> bool:
    """``day`` is a session of the exchange."""
    return exchange_calendar(exchange).is_session(day.isoformat())

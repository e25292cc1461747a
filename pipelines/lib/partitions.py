"""Dagster partitions over the exchange sessions of :mod:`domain.calendar`."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

import pandas as pd
from dagster import TimeWindowPartitionsDefinition

from domain.calendar import EXCHANGE_TIMEZONE, HISTORY_START, exchange_calendar, next_session_after


def _non_session_weekdays() -> list[datetime]:
    calendar = exchange_calendar()
    weekdays = pd.bdate_range(HISTORY_START, calendar.last_session)
    sessions = set(calendar.sessions_in_range(pd.Timestamp(HISTORY_START), calendar.last_session))
    return [day.to_pydatetime() for day in weekdays if day not in sessions]


@cache
def trading_day_partitions() -> TimeWindowPartitionsDefinition:
    """One partition per XNYS session from 2013-02-08 to today (keys ``YYYY-MM-DD``).

    Weekday cron partitions with the exchange holidays excluded; ``end_offset=1`` makes
    today's partition available once the day has started, so the evening schedule can
    load the session that just closed.
    """
    return TimeWindowPartitionsDefinition(
        start=HISTORY_START.isoformat(),
        fmt="%Y-%m-%d",
        cron_schedule="0 0 * * 1-5",
        timezone=EXCHANGE_TIMEZONE,
        end_offset=1,
        exclusions=_non_session_weekdays(),
    )


def partition_span() -> tuple[date, date]:
    """Calendar days ``[first, end)`` the partitions cover: the first partition's session to the
    session after the last partition (today's, once it has started). A price dated outside
    belongs to no partition (see :mod:`pipelines.defs.prices.reconciliation`)."""
    partitions = trading_day_partitions()
    first = date.fromisoformat(partitions.get_first_partition_key())
    last = date.fromisoformat(partitions.get_last_partition_key())
    return first, next_session_after(last)

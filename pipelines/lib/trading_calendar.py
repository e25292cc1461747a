"""Exchange trading days (``exchange-calendars``) and the Dagster partitions built on them.

The calendar is XNYS (NYSE) by default; sessions are dates (the exchange's local day).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

import exchange_calendars as xc
import pandas as pd
from dagster import TimeWindowPartitionsDefinition

EXCHANGE = "XNYS"
EXCHANGE_TIMEZONE = "America/New_York"
HISTORY_START = date(2013, 2, 8)  # first trading day of the bundled S&P 500 file


@cache
def exchange_calendar() -> xc.ExchangeCalendar:
    """The exchange calendar from a year before ``HISTORY_START`` (room to look back) to
    exchange-calendars' default end (about a year ahead of today)."""
    return xc.get_calendar(EXCHANGE, start=pd.Timestamp(HISTORY_START) - pd.DateOffset(years=1))


def sessions_between(first: date, last: date) -> list[date]:
    """Exchange sessions ``first <= d <= last`` (calendar days in, trading days out)."""
    calendar = exchange_calendar()
    first = max(first, calendar.first_session.date())
    last = min(last, calendar.last_session.date())
    if first > last:
        return []
    return [ts.date() for ts in calendar.sessions_in_range(pd.Timestamp(first), pd.Timestamp(last))]


def next_session_after(day: date) -> date:
    """The first session strictly after ``day``."""
    following = pd.Timestamp(day) + pd.Timedelta(days=1)
    return exchange_calendar().date_to_session(following, direction="next").date()


def previous_session_before(day: date) -> date:
    """The last session strictly before ``day``."""
    preceding = pd.Timestamp(day) - pd.Timedelta(days=1)
    return exchange_calendar().date_to_session(preceding, direction="previous").date()


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

"""Exchange trading days (``exchange-calendars``): the XNYS (NYSE) sessions the prices, the
portfolio files and the price load's window follow. Sessions are dates (the exchange's local day)."""

from __future__ import annotations

from datetime import date
from functools import cache

import exchange_calendars as xc
import pandas as pd

EXCHANGE = "XNYS"
EXCHANGE_TIMEZONE = "America/New_York"
HISTORY_START = date(2013, 2, 8)  # first trading day of the bundled S&P 500 file (default HISTORY_START)
#: The calendar covers sessions from here: the earliest ``HISTORY_START`` a deployment may set.
CALENDAR_START = date(1995, 1, 3)


@cache
def exchange_calendar() -> xc.ExchangeCalendar:
    """The exchange calendar from :data:`CALENDAR_START` to exchange-calendars' default end
    (about a year ahead of today)."""
    return xc.get_calendar(EXCHANGE, start=pd.Timestamp(CALENDAR_START))


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

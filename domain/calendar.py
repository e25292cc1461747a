"""Exchange trading days (``exchange-calendars``): the sessions the prices, the portfolio files and
the price load's window follow. Sessions are dates (the exchange's local day). Every function
takes the exchange calendar's name (``exchange``: ``XNYS`` for the US market, ``XKRX`` for KOSPI
and KOSDAQ; a market's calendar is in :mod:`domain.markets`), XNYS by default."""

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
def exchange_calendar(exchange: str = EXCHANGE) -> xc.ExchangeCalendar:
    """The exchange calendar ``exchange`` (an exchange-calendars name such as ``XNYS``) from
    :data:`CALENDAR_START` to exchange-calendars' default end (about a year ahead of today).

    Raises:
        exchange_calendars.errors.InvalidCalendarName: an unknown calendar name.
    """
    return xc.get_calendar(exchange, start=pd.Timestamp(CALENDAR_START))


def sessions_between(first: date, last: date, exchange: str = EXCHANGE) -> list[date]:
    """Exchange sessions ``first <= d <= last`` (calendar days in, trading days out)."""
    calendar = exchange_calendar(exchange)
    first = max(first, calendar.first_session.date())
    last = min(last, calendar.last_session.date())
    if first > last:
        return []
    return [ts.date() for ts in calendar.sessions_in_range(pd.Timestamp(first), pd.Timestamp(last))]


def next_session_after(day: date, exchange: str = EXCHANGE) -> date:
    """The first session strictly after ``day``."""
    following = pd.Timestamp(day) + pd.Timedelta(days=1)
    return exchange_calendar(exchange).date_to_session(following, direction="next").date()


def previous_session_before(day: date, exchange: str = EXCHANGE) -> date:
    """The last session strictly before ``day``."""
    preceding = pd.Timestamp(day) - pd.Timedelta(days=1)
    return exchange_calendar(exchange).date_to_session(preceding, direction="previous").date()

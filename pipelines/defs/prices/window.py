"""The sessions a run of ``raw/prices_daily`` loads: its run config, else the source's whole span.

A run loads the sessions ``first..last`` (:class:`~pipelines.defs.prices.assets.PricesConfig`
``first_session`` / ``last_session``; ``python -m pipelines.build --partition-range
FIRST...LAST``; the weekday schedule sets both to the session that just closed). Left out, they
default to the source's span: the first session on or after ``HISTORY_START`` to the latest
session the CSV file holds (Yahoo: today's session once it has started), so a run with no
config is the full history load.
"""

from __future__ import annotations

from datetime import date

from domain.calendar import next_session_after
from pipelines.defs.prices.reader import latest_trade_date
from pipelines.lib.resources import PriceSourceResource
from pipelines.lib.sessions import is_session, latest_session, session_span


class WindowError(ValueError):
    """A requested window that is not a range of sessions inside the span (message names the field)."""


def source_sessions(price_source: PriceSourceResource, today: date | None = None) -> tuple[date, date]:
    """First and last session of the source's full history: ``HISTORY_START``'s session to the
    CSV file's latest trade date (clamped to today's session), or to today's session for Yahoo.

    Raises:
        MalformedFileError, FileNotFoundError: the CSV cannot be read (its ``date`` column only).
    """
    first, end = session_span(date.fromisoformat(price_source.history_start), today)
    last = latest_session(today)
    if price_source.source != "yahoo":
        latest = latest_trade_date(price_source.prices_csv)
        if latest is not None and latest < last:
            last = max(first, _session_on_or_before(latest))
    return first, last


def _session_on_or_before(day: date) -> date:
    return day if is_session(day) else latest_session(day)


def resolve_window(
    price_source: PriceSourceResource,
    first_session: str | None,
    last_session: str | None,
    today: date | None = None,
) -> tuple[date, date]:
    """``[first, end)`` in calendar days for the sessions ``first_session..last_session``
    (``YYYY-MM-DD``; each defaults to :func:`source_sessions`); ``end`` is the session after
    ``last_session``, so a weekend- or holiday-dated row falls into the window, where the
    calendar rule rejects it.

    Raises:
        WindowError: a key that is not a date or not a session, ``first > last``, or a session
            outside ``HISTORY_START`` .. today's session.
    """
    span_first, span_end = session_span(date.fromisoformat(price_source.history_start), today)
    default_first, default_last = (None, None)
    if first_session is None or last_session is None:
        default_first, default_last = source_sessions(price_source, today)
    first = _session(first_session, "first_session") if first_session else default_first
    last = _session(last_session, "last_session") if last_session else default_last
    if first > last:
        raise WindowError(f"first_session {first} is after last_session {last}")
    if first < span_first or last >= span_end:
        raise WindowError(
            f"sessions {first}..{last} are outside the span a price may be dated in "
            f"({span_first} (HISTORY_START) .. today's session {latest_session(today)})"
        )
    return first, next_session_after(last)


def _session(value: str, field: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise WindowError(f"{field} {value!r} is not a date (YYYY-MM-DD)") from None
    if not is_session(day):
        raise WindowError(f"{field} {day} is not an XNYS session (a weekend or an exchange holiday)")
    return day

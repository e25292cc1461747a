"""The sessions a run of ``raw/prices_daily`` loads per price feed: its run config, else the
feed source's whole span, on the feed's exchange calendar (XNYS for ``us``, XKRX for ``krx``).

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
from pipelines.defs.prices.feeds import PriceFeed, price_feed
from pipelines.defs.prices.reader import latest_trade_date
from pipelines.lib.resources import KoreanMarketFilesResource, PriceSourceResource
from pipelines.lib.sessions import is_session, latest_session, session_span


class WindowError(ValueError):
    """A requested window that is not a range of sessions inside the span (message names the field)."""


def _source_file(price_source: PriceSourceResource, feed: PriceFeed, krx_files: KoreanMarketFilesResource | None):
    """The feed's CSV file, or None when it reads an HTTP source (Yahoo)."""
    if feed.name == "krx":
        if krx_files is None:
            raise ValueError("the krx price feed needs the krx_files resource (KRX_PRICES_CSV)")
        return krx_files.prices_csv
    return None if price_source.source == "yahoo" else price_source.prices_csv


def source_sessions(
    price_source: PriceSourceResource,
    today: date | None = None,
    feed: PriceFeed | None = None,
    krx_files: KoreanMarketFilesResource | None = None,
) -> tuple[date, date]:
    """First and last session (on the feed's calendar; default feed ``us``) of the source's full
    history: ``HISTORY_START``'s session to the CSV file's latest trade date (clamped to today's
    session), or to today's session for Yahoo.

    Raises:
        MalformedFileError, FileNotFoundError: the CSV cannot be read (its ``date`` column only).
    """
    feed = feed or price_feed("us")
    first, end = session_span(date.fromisoformat(price_source.history_start), today, feed.exchange)
    last = latest_session(today, feed.exchange)
    path = _source_file(price_source, feed, krx_files)
    if path is not None:
        latest = latest_trade_date(path)
        if latest is not None and latest < last:
            last = max(first, _session_on_or_before(latest, feed.exchange))
    return first, last


def _session_on_or_before(day: date, exchange: str) -> date:
    return day if is_session(day, exchange) else latest_session(day, exchange)


def resolve_window(
    price_source: PriceSourceResource,
    first_session: str | None,
    last_session: str | None,
    today: date | None = None,
    feed: PriceFeed | None = None,
    krx_files: KoreanMarketFilesResource | None = None,
) -> tuple[date, date]:
    """``[first, end)`` in calendar days for the sessions ``first_session..last_session``
    (``YYYY-MM-DD``; each defaults to :func:`source_sessions`); ``end`` is the session after
    ``last_session``, so a weekend- or holiday-dated row falls into the window, where the
    calendar rule rejects it.

    Raises:
        WindowError: a key that is not a date or not a session, ``first > last``, or a session
            outside ``HISTORY_START`` .. today's session.
    """
    feed = feed or price_feed("us")
    span_first, span_end = session_span(date.fromisoformat(price_source.history_start), today, feed.exchange)
    default_first, default_last = (None, None)
    if first_session is None or last_session is None:
        default_first, default_last = source_sessions(price_source, today, feed, krx_files)
    first = _session(first_session, "first_session", feed.exchange) if first_session else default_first
    last = _session(last_session, "last_session", feed.exchange) if last_session else default_last
    if first > last:
        raise WindowError(f"first_session {first} is after last_session {last}")
    if first < span_first or last >= span_end:
        raise WindowError(
            f"sessions {first}..{last} are outside the span a price may be dated in "
            f"({span_first} (HISTORY_START) .. today's session {latest_session(today, feed.exchange)})"
        )
    return first, next_session_after(last, feed.exchange)


def _session(value: str, field: str, exchange: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise WindowError(f"{field} {value!r} is not a date (YYYY-MM-DD)") from None
    if not is_session(day, exchange):
        raise WindowError(f"{field} {day} is not an {exchange} session (a weekend or an exchange holiday)")
    return day

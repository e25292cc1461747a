"""Price feeds: where each market's daily bars come from, and the calendar they follow.

A feed is one source of bars for one or more markets that share an exchange calendar: ``us``
(market ``US``, XNYS; ``PRICE_SOURCE``: the CSV file ``PRICES_CSV`` or Yahoo) and ``krx``
(markets ``KOSPI`` and ``KOSDAQ``, XKRX; the CSV file ``KRX_PRICES_CSV``). Every feed writes into the
one ``raw.prices_daily`` table (column ``market``); a run of ``raw/prices_daily`` loads the feeds of
its config (default all), each on its own calendar: its window, its completeness check, its rows of
the quarantine and of the reconciliation (column ``price_feed``). Markets, calendars and time
zones are data (:mod:`domain.markets`); a new market is a seed row, a feed entry here and its
reader in :mod:`pipelines.defs.prices.sources`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from domain.markets import markets


@dataclass(frozen=True)
class PriceFeed:
    """A price feed: ``name`` (``us``, ``krx``), the ``markets`` its rows may belong to (codes
    of the markets seed), their shared exchange calendar ``exchange`` (``XNYS``, ``XKRX``)."""

    name: str
    markets: tuple[str, ...]
    exchange: str
    #: Regular expression every ticker of the feed matches (validation rule ``ticker_format``);
    #: None: any ticker. KRX codes are 6 characters (digits, newer ones letters too): a code read
    #: as a number loses its leading zeros (``5930``) and is quarantined, not loaded as a new ticker.
    ticker_pattern: str | None = None

    @property
    def time_zone(self) -> str:
        """IANA time zone of the feed's markets (``America/New_York``, ``Asia/Seoul``)."""
        return markets()[self.markets[0]].time_zone


def _feed(name: str, codes: tuple[str, ...], ticker_pattern: str | None = None) -> PriceFeed:
    calendars = {markets()[code].exchange_calendar for code in codes}
    if len(calendars) != 1:
        raise ValueError(f"price feed {name}: its markets {codes} follow different calendars {sorted(calendars)}")
    return PriceFeed(name, codes, calendars.pop(), ticker_pattern)


@cache
def price_feeds() -> dict[str, PriceFeed]:
    """Every price feed, keyed by name, in load order (``us``, ``krx``)."""
    return {feed.name: feed for feed in (_feed("us", ("US",)), _feed("krx", ("KOSPI", "KOSDAQ"), r"^[0-9A-Z]{6}$"))}


def price_feed(name: str) -> PriceFeed:
    """The feed ``name``.

    Raises:
        KeyError: an unknown feed (the message lists the known ones).
    """
    feeds = price_feeds()
    if name not in feeds:
        raise KeyError(f"unknown price feed {name!r}; known feeds: {', '.join(feeds)}")
    return feeds[name]

"""What the pages say about a market beyond its name and currency (those are in
:mod:`dashboards.lib.formatting`): whether its benchmark is an index, and the survivorship note
of the Korean universe.

The bundled KRX prices cover the companies of one listing, that of the last day of the prices
(2022-05-16): a company delisted before that day is absent from the whole history, so screens,
charts and back-tests over the past look better than they were. The note names the markets and
the listing's date, the market's latest trade date in the warehouse.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from dashboards.lib import formatting as fmt
from domain.markets import markets

#: Exchange calendars whose universe is one listing's companies (survivorship bias): KRX.
SURVIVORSHIP_CALENDARS = frozenset({"XKRX"})

#: The benchmark of the markets seed that is no index: the equal-weighted universe the portfolio
#: marts compute (the US market's); every other benchmark is an index code of ``marts.fct_index_daily``.
EQUAL_WEIGHT = "EQUAL_WEIGHT"


def benchmark_index(market: str) -> str | None:
    """The index code of the benchmark of ``market`` (``KOSPI -> KS11``), or None when its
    benchmark is :data:`EQUAL_WEIGHT` or the code is not a market of the seed."""
    found = markets().get(market)
    return found.benchmark if found is not None and found.benchmark != EQUAL_WEIGHT else None


def has_survivorship_bias(market: str) -> bool:
    """True when the universe of ``market`` (a code of the markets seed) is one listing's
    companies (:data:`SURVIVORSHIP_CALENDARS`); False for an unknown code."""
    found = markets().get(market)
    return found is not None and found.exchange_calendar in SURVIVORSHIP_CALENDARS


def survivorship_note(market_codes: Iterable[str], listing_date: date | None) -> str | None:
    """The note for the biased markets among ``market_codes`` (None when there is none), e.g.
    ``The KOSPI universe is the KRX listing of 2022-05-16: companies delisted before then are
    absent, so past results look better than they were.``; ``listing_date``: the markets'
    latest trade date (None: "its last day")."""
    biased = [code for code in dict.fromkeys(market_codes) if has_survivorship_bias(code)]
    if not biased:
        return None
    when = f"of {fmt.day(listing_date)}" if listing_date is not None else "of its last day"
    return (
        f"The {' and '.join(biased)} universe is the KRX listing {when}: companies delisted before then are absent, "
        "so past results look better than they were."
    )

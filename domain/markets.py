"""The markets the warehouse knows, as data: the dbt seed ``dbt_project/seeds/reference/markets.csv``.

One row per market (``US``, ``KOSPI``, ``KOSDAQ``): its exchange calendar (an exchange-calendars
name: ``XNYS``, ``XKRX``), currency (ISO 4217), time zone (IANA), local close and data-ready times,
benchmark (``EQUAL_WEIGHT`` or an index code such as ``KS11``), decimals of money amounts in its
currency (USD 2, KRW 0) and display name. dbt builds ``marts.dim_markets`` from the same file; the
pipelines (calendars, schedules) and the app (currency formats, market names) read it here, so a
new market is a new row, not a new code path.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import time
from functools import cache
from pathlib import Path

MARKETS_SEED = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "reference" / "markets.csv"


@dataclass(frozen=True)
class Market:
    """One row of the markets seed (see the module docstring for the fields' meaning)."""

    code: str
    display_name: str
    exchange_calendar: str
    currency: str
    time_zone: str
    close_time_local: time
    data_ready_time_local: time
    benchmark: str
    money_decimals: int


@cache
def markets(path: Path = MARKETS_SEED) -> dict[str, Market]:
    """Every market of the seed, keyed by its code, in file order.

    Raises:
        FileNotFoundError: the seed file is missing.
        ValueError: a row lacks a field or has an unparsable time or number (names file and row).
    """
    found: dict[str, Market] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                market = Market(
                    code=row["market"],
                    display_name=row["display_name"],
                    exchange_calendar=row["exchange_calendar"],
                    currency=row["currency"],
                    time_zone=row["time_zone"],
                    close_time_local=time.fromisoformat(row["close_time_local"]),
                    data_ready_time_local=time.fromisoformat(row["data_ready_time_local"]),
                    benchmark=row["benchmark"],
                    money_decimals=int(row["money_decimals"]),
                )
            except (KeyError, TypeError, ValueError) as error:
                raise ValueError(f"{path}, line {line}: {error}") from None
            found[market.code] = market
    return found


def market(code: str) -> Market:
    """The market ``code`` (``US``, ``KOSPI``, ...).

    Raises:
        KeyError: not a market of the seed (the message lists the known ones).
    """
    known = markets()
    if code not in known:
        raise KeyError(f"unknown market {code!r}; the markets seed has {', '.join(known)}")
    return known[code]

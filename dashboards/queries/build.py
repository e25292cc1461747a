"""Reads of the frame every page shares: which build the app shows, and how recent its market
data is (the last trading day with prices, per market)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from domain.warehouse.readers import BuildInfo, Reader

#: Column of ``marts.dim_companies`` naming each ticker's market (a market code of
#: ``marts.dim_markets``: ``US``, ``KOSPI``, ``KOSDAQ``). A warehouse without it holds one
#: market: :data:`DEFAULT_MARKET`.
MARKET_COLUMN = "market"

#: The market of every ticker when ``marts.dim_companies`` has no :data:`MARKET_COLUMN` (a
#: warehouse built before markets were data): the US market, the only one loaded then.
DEFAULT_MARKET = "US"


@dataclass(frozen=True)
class MarketDate:
    """How recent one market's prices are: ``market`` (market code), ``last_trade_date`` (the
    latest trading day with a price bar of any of its tickers, exchange-local date) and
    ``tickers`` (number of tickers of the market)."""

    market: str
    last_trade_date: date
    tickers: int


def build_info(reader: Reader) -> BuildInfo | None:
    """The ``meta.build_info`` row, or None if it is empty.

    Raises:
        domain.warehouse.readers.WarehouseNotBuiltError: there is no build to read.
    """
    return reader.build_info()


def market_dates(reader: Reader) -> list[MarketDate]:
    """The last trading day with prices of each market, from ``marts.dim_companies``
    (``last_trade_date`` per ticker), one entry per market, sorted by market code.

    Markets come from ``dim_companies.market`` when the warehouse has that column, otherwise
    every ticker belongs to :data:`DEFAULT_MARKET`. Markets without any dated ticker are left out
    (an empty warehouse gives ``[]``).

    Raises:
        domain.warehouse.readers.DATABASE_ERRORS: the table cannot be read.
    """
    table = reader.table("marts", "dim_companies")
    per_market = MARKET_COLUMN in reader.query(f"SELECT * FROM {table} LIMIT 0").columns
    market = MARKET_COLUMN if per_market else "CAST(? AS VARCHAR)"
    frame = reader.query(
        f"SELECT {market} AS market, max(last_trade_date) AS last_trade_date, count(*) AS tickers "
        f"FROM {table} GROUP BY 1 ORDER BY 1",
        None if per_market else [DEFAULT_MARKET],
    )
    return [
        MarketDate(
            market=str(row.market), last_trade_date=pd.Timestamp(row.last_trade_date).date(), tickers=int(row.tickers)
        )
        for row in frame.itertuples(index=False)
        if not pd.isna(row.market) and not pd.isna(row.last_trade_date)
    ]

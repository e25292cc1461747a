"""Reads of the Screener page: ``marts.mart_screener_latest`` (one row per ticker on its latest
trade date, with its ``market``), its markets, and the sector list of ``marts.dim_companies``."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from domain.markets import markets as known_markets
from domain.screens import MARKET_COLUMN, ScreenSpec, build_screen_query
from domain.warehouse.readers import Reader


def _in_markets(markets: Sequence[str]) -> tuple[str, list[str]]:
    """``WHERE market IN (...)`` and its parameters, or no condition for every market."""
    if not markets:
        return "", []
    return f" WHERE {MARKET_COLUMN} IN ({', '.join('?' for _ in markets)})", list(markets)


def markets(reader: Reader) -> list[str]:
    """Codes of the markets with at least one row in ``marts.mart_screener_latest``, in the markets
    seed's order (:func:`domain.markets.markets`: US, KOSPI, KOSDAQ); a code the seed does not
    know is left out."""
    frame = reader.query(
        f"SELECT {MARKET_COLUMN} AS market FROM {reader.table('marts', 'mart_screener_latest')} GROUP BY 1"
    )
    present = {str(code) for code in frame["market"].dropna()}
    return [code for code in known_markets() if code in present]


def sectors(reader: Reader, markets: Sequence[str] = ()) -> list[str]:
    """Distinct non-null sectors of ``marts.dim_companies`` (of the tickers of ``markets``; all
    when empty), sorted by code point."""
    where, params = _in_markets(markets)
    not_null = f"{' AND' if where else ' WHERE'} sector IS NOT NULL"
    frame = reader.query(
        f"SELECT sector FROM {reader.table('marts', 'dim_companies')}{where}{not_null} "
        f"GROUP BY sector ORDER BY {reader.text_order('sector')}",
        params,
    )
    return [str(s) for s in frame["sector"]]


def universe_size(reader: Reader, markets: Sequence[str] = ()) -> int:
    """Number of rows (tickers) of ``markets`` (all when empty) in ``marts.mart_screener_latest``."""
    where, params = _in_markets(markets)
    table = reader.table("marts", "mart_screener_latest")
    return int(reader.query(f"SELECT count(*) AS n FROM {table}{where}", params).at[0, "n"])


def run_screen(reader: Reader, spec: ScreenSpec) -> pd.DataFrame:
    """Rows of ``marts.mart_screener_latest`` matching ``spec``; columns: the registry's result
    columns (:attr:`domain.screens.Registry.result_columns`) and ``market``, in warehouse units
    (fractions; money in the currency of the row's market)."""
    built = build_screen_query(spec, table=reader.table("marts", "mart_screener_latest"), dialect=reader.backend)
    return reader.query(built.sql, built.params)

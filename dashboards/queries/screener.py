"""Reads of the Screener page: ``marts.mart_screener_latest`` (one row per ticker on its latest
trade date) and the sector list of ``marts.dim_companies``."""

from __future__ import annotations

import pandas as pd

from domain.screens import ScreenSpec, build_screen_query
from domain.warehouse.readers import Reader


def sectors(reader: Reader) -> list[str]:
    """Distinct non-null sectors of ``marts.dim_companies``, sorted by code point."""
    frame = reader.query(
        f"SELECT sector FROM {reader.table('marts', 'dim_companies')} "
        f"WHERE sector IS NOT NULL GROUP BY sector ORDER BY {reader.text_order('sector')}"
    )
    return [str(s) for s in frame["sector"]]


def universe_size(reader: Reader) -> int:
    """Number of rows (tickers) in ``marts.mart_screener_latest``."""
    return int(reader.query(f"SELECT count(*) AS n FROM {reader.table('marts', 'mart_screener_latest')}").at[0, "n"])


def run_screen(reader: Reader, spec: ScreenSpec) -> pd.DataFrame:
    """Rows of ``marts.mart_screener_latest`` matching ``spec``; columns: the registry's result
    columns (:attr:`domain.screens.Registry.result_columns`), in warehouse units (fractions, USD)."""
    built = build_screen_query(spec, table=reader.table("marts", "mart_screener_latest"), dialect=reader.backend)
    return reader.query(built.sql, built.params)

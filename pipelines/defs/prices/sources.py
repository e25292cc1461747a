"""Where a price run's rows come from: the configured CSV file (default) or Yahoo's chart API.

``PRICE_SOURCE`` (:mod:`pipelines.lib.settings`) picks one; both give the same frame, so the
rest of the asset (Great Expectations split, quarantine, window replacement) is one code path.

:func:`read_price_batch` returns :class:`PriceBatch` whose ``rows`` has, one row per input row:
``source_line`` (Int64: 1-based line of the CSV, or position in the Yahoo response),
``ticker``, ``trade_date`` (Date), ``open, high, low, close`` (Float64, USD), ``volume`` (Int64,
shares), ``adj_close`` (Float64, Yahoo's split- and dividend-adjusted close; NULL for the CSV),
``split_basis_date`` (Date: the vendor split-adjusted the row as of that day, see below),
``source`` (``csv:<file name>`` or ``yahoo:chart``) and ``source_file`` (the CSV path, or the
raw-store key of the Yahoo response).

``split_basis_date``: the CSV is split-adjusted as of its last trade date (the bundled file:
2018-02-07), so every row of the file gets the file's maximum ``trade_date``; a Yahoo row gets
its response's :attr:`~pipelines.sources.yahoo.YahooChart.split_basis_date`. dbt applies to a
row only the splits with an ex-date after it (``int_prices_daily_adjusted``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from pipelines.defs.prices.reader import read_prices_csv
from pipelines.lib.csv_files import Column, read_typed_csv
from pipelines.lib.http import RawResponseStore
from pipelines.lib.settings import Settings, get_settings
from pipelines.lib.trading_calendar import HISTORY_START
from pipelines.lib.warehouse import Warehouse, table_name
from pipelines.sources.yahoo import SOURCE as YAHOO_SOURCE
from pipelines.sources.yahoo import VENDOR as YAHOO_VENDOR
from pipelines.sources.yahoo import YahooChartSource, fetch_window

BATCH_COLUMNS = (
    "source_line", "ticker", "trade_date", "open", "high", "low", "close", "volume",
    "adj_close", "split_basis_date", "source", "source_file",
)  # fmt: skip


@dataclass(frozen=True)
class PriceBatch:
    """Rows of a source for a run (columns :data:`BATCH_COLUMNS`) and run metadata."""

    rows: pl.DataFrame
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def read_price_batch(
    settings: Settings,
    first: date,
    end: date,
    tickers: list[str] | None = None,
    yahoo: YahooChartSource | None = None,
) -> PriceBatch:
    """The rows the configured source has for the window ``[first, end)`` (the CSV: the whole
    file, the caller filters; Yahoo: one chart request per ticker of ``tickers``, default
    :func:`yahoo_universe` without a warehouse).

    ``yahoo`` replaces the default Yahoo source (tests pass one with a mock transport).

    Raises:
        MalformedFileError, FileNotFoundError: the CSV (see :func:`read_prices_csv`).
        VendorHTTPError, VendorResponseError: Yahoo (a 404 only skips the ticker).
    """
    if settings.price_source == "yahoo":
        return _yahoo_batch(settings, first, end, tickers or yahoo_universe(settings), yahoo)
    return _csv_batch(settings)


def _csv_batch(settings: Settings) -> PriceBatch:
    path = settings.prices_csv
    rows = read_prices_csv(path)
    basis = rows["trade_date"].max()
    rows = rows.with_columns(
        adj_close=pl.lit(None, dtype=pl.Float64),
        split_basis_date=pl.lit(basis, dtype=pl.Date),
        source=pl.lit(f"csv:{path.name}"),
        source_file=pl.lit(str(path)),
    ).select(BATCH_COLUMNS)
    metadata = {
        "file_rows": rows.height,
        "file_rows_before_first_partition": rows.filter(pl.col("trade_date") < HISTORY_START).height,
        "split_basis_date": str(basis),
    }
    return PriceBatch(rows, str(path), metadata)


def _yahoo_batch(
    settings: Settings, first: date, end: date, tickers: list[str], yahoo: YahooChartSource | None
) -> PriceBatch:
    source = yahoo or YahooChartSource(RawResponseStore(settings.raw_responses_dir, YAHOO_VENDOR))
    try:
        window = fetch_window(source, tickers, first, end)
    finally:
        if yahoo is None:
            source.close()
    rows = window.bars.with_columns(source=pl.lit(YAHOO_SOURCE)).select(BATCH_COLUMNS)
    metadata = {
        "yahoo_tickers": len(tickers),
        "yahoo_rows": rows.height,
        "yahoo_responses_fetched": len(window.log.fetched),
        "yahoo_responses_reused": len(window.log.reused),
        "yahoo_responses_not_stored": len(window.log.not_stored),
        "yahoo_tickers_not_found": ", ".join(sorted(window.not_found)),
        "yahoo_actions_in_window": window.actions.height,
    }
    where = f"Yahoo chart API, {len(tickers)} tickers, [{first}, {end}) (raw responses in {source.store.directory})"
    return PriceBatch(rows, where, metadata)


def yahoo_universe(settings: Settings, warehouse: Warehouse | None = None) -> list[str]:
    """Tickers the Yahoo source fetches: ``YAHOO_TICKERS`` if set, else the company table
    (``raw.companies`` when loaded, else the constituents file it is loaded from), sorted."""
    if settings.yahoo_tickers:
        return sorted(set(settings.yahoo_tickers))
    if warehouse is not None and _table_exists(warehouse, "raw", "companies"):
        loaded = warehouse.fetch_frame(f"select distinct ticker from {table_name('raw', 'companies')}")
        if loaded.height:
            return sorted(loaded["ticker"].to_list())
    frame = read_typed_csv(settings.constituents_csv, {"Symbol": Column("ticker", required=True)})
    return sorted(set(frame["ticker"].to_list()))


def _table_exists(warehouse: Warehouse, layer: str, table: str) -> bool:
    found = warehouse.fetch_frame(
        "select count(*) as n from information_schema.tables where table_schema = ? and table_name = ?",
        [get_settings().schema(layer), table],
    )
    return bool(found["n"][0])

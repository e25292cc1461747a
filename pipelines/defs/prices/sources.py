"""Where a price run's rows come from, per price feed (:mod:`pipelines.defs.prices.feeds`).

Feed ``us``: ``PRICE_SOURCE`` (the ``price_source`` resource) picks the CSV file (default) or
Yahoo's chart API. Feed ``krx``: the KRX CSV file ``KRX_PRICES_CSV`` (the ``krx_files`` resource).
All give the same frame, so the rest of the asset (Great Expectations split, quarantine, window
replacement) is one code path.

:func:`read_price_batch` returns :class:`PriceBatch` whose ``rows`` has, one row per input row:
``source_line`` (Int64: 1-based line of the CSV, or position in the Yahoo response),
``ticker``, ``market`` (``US``; ``KOSPI``/``KOSDAQ`` as the KRX file says), ``trade_date``
(Date), ``open, high, low, close`` (Float64, the market's currency: USD, KRW), ``volume`` (Int64,
shares), ``is_halted`` (Boolean: a trading halt as the KRX file writes it, open = high = low = 0
and volume 0; see :func:`halt_flag`), ``adj_close`` (Float64, Yahoo's split- and dividend-adjusted close; NULL for the CSV),
``split_basis_date`` (Date: the vendor split-adjusted the row as of that day, see below),
``source`` (``csv:<file name>`` or ``yahoo:chart``) and ``source_file`` (the CSV path, or the
raw-store key of the Yahoo response).

``split_basis_date``: the CSV is split-adjusted as of its last trade date (the bundled file:
2018-02-07), so every row of the file gets the file's maximum ``trade_date`` among the rows a
partition can hold (a row dated after the last partition, e.g. a 2030 typo, is rejected by the
load and does not move the basis, see :mod:`pipelines.defs.prices.reconciliation`); a Yahoo row gets
its response's :attr:`~pipelines.sources.yahoo.YahooChart.split_basis_date`. dbt applies to a
row only the splits with an ex-date after it (``int_prices_daily_adjusted``). The KRX file is
split-adjusted likewise as of its last trade date (its volumes are not: see docs/markets.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from domain.datasets import require_file
from domain.warehouse import Warehouse
from pipelines.defs.prices.feeds import PriceFeed
from pipelines.defs.prices.reader import read_krx_prices_csv, read_prices_csv
from pipelines.lib.csv_files import Column, read_typed_csv
from pipelines.lib.resources import KoreanMarketFilesResource, PriceSourceResource, RawResponsesResource
from pipelines.lib.sessions import session_span
from pipelines.sources.yahoo import SOURCE as YAHOO_SOURCE
from pipelines.sources.yahoo import VENDOR as YAHOO_VENDOR
from pipelines.sources.yahoo import YahooChartSource, fetch_window

BATCH_COLUMNS = (
    "source_line", "ticker", "market", "trade_date", "open", "high", "low", "close", "volume", "is_halted",
    "adj_close", "split_basis_date", "source", "source_file",
)  # fmt: skip


def halt_flag() -> pl.Expr:
    """True on a trading-halt row: open = high = low = 0 and volume 0 (the KRX file's halt rows,
    whose close repeats the previous close). Such a row is no price bar: it is loaded with
    ``is_halted`` and left out of the bars, indicators, returns and screens (dbt
    ``stg_prices__daily``); a zero-price row with volume is not a halt and fails validation."""
    zero = [pl.col(column) == 0 for column in ("open", "high", "low", "volume")]
    return pl.all_horizontal(zero).fill_null(False).alias("is_halted")


@dataclass(frozen=True)
class PriceBatch:
    """Rows of a source for a run (columns :data:`BATCH_COLUMNS`) and run metadata."""

    rows: pl.DataFrame
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def read_price_batch(
    price_source: PriceSourceResource,
    raw_responses: RawResponsesResource | None,
    first: date,
    end: date,
    tickers: list[str] | None = None,
    yahoo: YahooChartSource | None = None,
    feed: PriceFeed | None = None,
    krx_files: KoreanMarketFilesResource | None = None,
) -> PriceBatch:
    """The rows the ``feed``'s source (default: the ``us`` feed) has for the window ``[first,
    end)`` (a CSV: the whole file, the caller filters; Yahoo: one chart request per ticker of
    ``tickers``, default :func:`yahoo_universe` without a warehouse).

    ``yahoo`` replaces the default Yahoo source (tests pass one with a mock transport).

    Raises:
        MalformedFileError, FileNotFoundError: a CSV (see :func:`read_prices_csv`).
        VendorHTTPError, VendorResponseError: Yahoo (a 404 only skips the ticker).
        ValueError: the ``krx`` feed without the ``krx_files`` resource.
    """
    history_start = date.fromisoformat(price_source.history_start)
    if feed is not None and feed.name == "krx":
        if krx_files is None:
            raise ValueError("the krx price feed needs the krx_files resource (KRX_PRICES_CSV)")
        path = Path(krx_files.prices_csv)
        return _csv_batch(path, read_krx_prices_csv(require_file(path)), history_start, feed.exchange)
    if price_source.source == "yahoo":
        return _yahoo_batch(raw_responses, first, end, tickers or yahoo_universe(price_source), yahoo)
    path = Path(price_source.prices_csv)
    rows = read_prices_csv(require_file(path)).with_columns(market=pl.lit("US"))
    return _csv_batch(path, rows, history_start, "XNYS")


def _csv_batch(path: Path, rows: pl.DataFrame, history_start: date, exchange: str) -> PriceBatch:
    _, span_end = session_span(history_start, exchange=exchange)
    basis = rows.filter(pl.col("trade_date") < span_end)["trade_date"].max()
    rows = rows.with_columns(
        halt_flag(),
        adj_close=pl.lit(None, dtype=pl.Float64),
        split_basis_date=pl.lit(basis, dtype=pl.Date),
        source=pl.lit(f"csv:{path.name}"),
        source_file=pl.lit(str(path)),
    ).select(BATCH_COLUMNS)
    metadata = {
        "file_rows": rows.height,
        "file_first_trade_date": str(rows["trade_date"].min()),
        "file_last_trade_date": str(rows["trade_date"].max()),
        "split_basis_date": str(basis),
    }
    return PriceBatch(rows, str(path), metadata)


def _yahoo_batch(
    raw_responses: RawResponsesResource | None,
    first: date,
    end: date,
    tickers: list[str],
    yahoo: YahooChartSource | None,
) -> PriceBatch:
    if yahoo is None and raw_responses is None:
        raise ValueError("the Yahoo price source needs the raw_responses resource (or a YahooChartSource)")
    source = yahoo or YahooChartSource(raw_responses.store(YAHOO_VENDOR))
    try:
        window = fetch_window(source, tickers, first, end)
    finally:
        if yahoo is None:
            source.close()
    rows = window.bars.with_columns(halt_flag(), market=pl.lit("US"), source=pl.lit(YAHOO_SOURCE)).select(BATCH_COLUMNS)
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


def yahoo_universe(price_source: PriceSourceResource, warehouse: Warehouse | None = None) -> list[str]:
    """Tickers the Yahoo source fetches: ``YAHOO_TICKERS`` if set, else the company table
    (``raw.companies`` when loaded, else the constituents file it is loaded from), sorted."""
    if price_source.yahoo_tickers:
        return sorted({t.upper() for t in price_source.yahoo_tickers})
    if warehouse is not None and _table_exists(warehouse, "raw", "companies"):
        loaded = warehouse.fetch_frame(f"select distinct ticker from {warehouse.table('raw', 'companies')}")
        if loaded.height:
            return sorted(loaded["ticker"].to_list())
    frame = read_typed_csv(Path(price_source.constituents_csv), {"Symbol": Column("ticker", required=True)})
    return sorted(set(frame["ticker"].to_list()))


def _table_exists(warehouse: Warehouse, layer: str, table: str) -> bool:
    found = warehouse.fetch_frame(
        "select count(*) as n from information_schema.tables where table_schema = ? and table_name = ?",
        [warehouse.schema(layer), table],
    )
    return bool(found["n"][0])

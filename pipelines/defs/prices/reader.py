"""Read the daily OHLCV CSV files (the bundled S&P 500 layout, the KRX layout) into typed frames.

Input: CSV, optionally gzip, header ``date,open,high,low,close,volume,Name``
(extra columns are ignored).

Output of :func:`read_prices_csv`: a polars frame, one row per data row in file order:
``source_line`` (Int64, 1-based file line), ``ticker`` (Utf8, from ``Name``, in the warehouse
spelling: upper case, ``BRK.B`` for ``brk-b``, see :mod:`domain.tickers`),
``trade_date`` (Date), ``open, high, low, close`` (Float64, the file's currency: USD for
the bundle), ``volume`` (Int64, shares).

Empty price/volume fields and an empty ticker become NULL, to be quarantined by
validation. An empty or unparsable date, a non-numeric price or a fractional volume
raises :class:`~pipelines.lib.csv_files.MalformedFileError` naming file, line and field.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from domain.tickers import normalized_ticker
from pipelines.lib.csv_files import Column, read_typed_csv

PRICE_FILE_COLUMNS = {
    "date": Column("trade_date", "date", required=True),
    "Name": Column("ticker"),
    "open": Column("open", "float"),
    "high": Column("high", "float"),
    "low": Column("low", "float"),
    "close": Column("close", "float"),
    "volume": Column("volume", "int"),
}


def read_prices_csv(path: Path | str) -> pl.DataFrame:
    """Read and type a price file (shape in the module docstring).

    Raises:
        FileNotFoundError: the file does not exist.
        MalformedFileError: missing column, empty date, or an unparsable value.
    """
    frame = read_typed_csv(path, PRICE_FILE_COLUMNS)
    # each distinct spelling normalised once (thousands of tickers, millions of rows)
    spellings = frame.select(pl.col("ticker").unique()).with_columns(normalized=normalized_ticker("ticker"))
    frame = frame.with_columns(pl.col("ticker").replace(spellings["ticker"], spellings["normalized"]))
    return frame.select("source_line", "ticker", "trade_date", "open", "high", "low", "close", "volume")


KRX_PRICE_FILE_COLUMNS = {
    "date": Column("trade_date", "date", required=True),
    "code": Column("ticker"),
    "market": Column("market"),
    "open": Column("open", "float"),
    "high": Column("high", "float"),
    "low": Column("low", "float"),
    "close": Column("close", "float"),
    "volume": Column("volume", "int"),
}


#: Market spellings of KRX files that name a segment of a market of the seed: KOSDAQ GLOBAL is
#: KOSDAQ's premium segment (same exchange, calendar and currency). Other values (KONEX, a typo)
#: stay as written and are quarantined by validation (rule ``market_known``).
KRX_MARKET_SEGMENTS = {"KOSDAQ GLOBAL": "KOSDAQ"}


def read_krx_prices_csv(path: Path | str) -> pl.DataFrame:
    """Read and type a KRX price file: CSV, optionally gzip, header
    ``date,open,high,low,close,volume,code,name,market`` (``name`` and extra columns ignored).

    Output: one row per data row in file order: ``source_line`` (Int64), ``ticker`` (Utf8: the
    ``code`` as written, 6 characters with leading zeros such as ``005930``; never read as a
    number), ``market`` (Utf8: ``KOSPI`` or ``KOSDAQ`` as the file says; validation rejects
    others), ``trade_date`` (Date), ``open, high, low, close`` (Float64, KRW), ``volume`` (Int64,
    shares, not split-adjusted in the bundled file). Empty fields become NULL (quarantined by
    validation).

    Raises:
        FileNotFoundError: the file does not exist.
        MalformedFileError: missing column, empty date, or an unparsable value (file, line, field).
    """
    frame = read_typed_csv(path, KRX_PRICE_FILE_COLUMNS)
    market = pl.col("market").str.strip_chars().str.to_uppercase()
    frame = frame.with_columns(pl.col("ticker").str.strip_chars(), market.replace(KRX_MARKET_SEGMENTS))
    return frame.select(
        "source_line", "ticker", "market", "trade_date", "open", "high", "low", "close", "volume"
    )


def latest_trade_date(path: Path | str) -> date | None:
    """The latest ``date`` in a price file (None if it has no rows); reads only that column.

    Raises:
        MalformedFileError: the file lacks a ``date`` column or a date does not parse.
    """
    frame = read_typed_csv(path, {"date": PRICE_FILE_COLUMNS["date"]})
    return frame["trade_date"].max()

"""Read the Korean reference files into typed frames (one row per file line, ``source_line`` first).

Each reader uses :func:`pipelines.lib.csv_files.read_typed_csv` (strict: a missing column or a
value that does not parse as its type raises :class:`~pipelines.lib.csv_files.MalformedFileError`
naming file, line and field, before anything is written); columns of the file not listed here
are ignored. Codes are read as text, so ``005930`` keeps its leading zeros; Korean names are
kept as the UTF-8 source has them.

* :func:`read_index_file` — ``index_code,Date,Close,UpDown,Comp,Change,Open,High,Low,Volume,Amount,MarCap``
  (``krx_index_daily_KS11_KQ11_KS200.csv.gz``): index points for OHLC, ``Volume`` in shares,
  ``Amount`` (trading value) and ``MarCap`` (market capitalisation of the constituents) in KRW.
  ``UpDown``, ``Comp`` and ``Change`` (the move against the previous session) are derived
  values and are not read (dbt recomputes the daily return from the closes).
* :func:`read_listing_file` — ``Symbol,Name,Market`` (``krx_listing_fdr_20220516.csv``).
* :func:`read_industry_file` — ``Code,Name,Market,Sector,Industry,Products,ListingDate,SettleMonth,
  HomePage,Region`` (``krx_listing_desc_sector_20260322.csv.gz``); ``Representative`` (the CEOs'
  names) is not read. ``SettleMonth`` is written ``12월`` (December): read as the month number.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.lib.csv_files import Column, read_typed_csv

INDEX_COLUMNS = {
    "index_code": Column("index_code"),
    "Date": Column("trade_date", "date"),
    "Open": Column("open", "float"),
    "High": Column("high", "float"),
    "Low": Column("low", "float"),
    "Close": Column("close", "float"),
    "Volume": Column("volume", "int"),
    "Amount": Column("amount", "int"),
    "MarCap": Column("market_cap", "int"),
}
LISTING_COLUMNS = {
    "Symbol": Column("ticker"),
    "Name": Column("company_name"),
    "Market": Column("market"),
}
INDUSTRY_COLUMNS = {
    "Code": Column("ticker"),
    "Name": Column("company_name"),
    "Market": Column("market"),
    "Sector": Column("kosdaq_division"),
    "Industry": Column("industry"),
    "Products": Column("products"),
    "ListingDate": Column("listing_date", "date"),
    "SettleMonth": Column("fiscal_year_end_month_as_published"),
    "HomePage": Column("home_page"),
    "Region": Column("region"),
}
#: ``12월`` -> 12: the fiscal year's last month as the industry file writes it.
_MONTH = r"^\s*(\d{1,2})\s*월\s*$"


def read_index_file(path: Path | str) -> pl.DataFrame:
    """Daily index rows: ``source_line, index_code, trade_date, open, high, low, close`` (index
    points, Float64; NULL where the file leaves a value empty, e.g. KOSPI 200's opens before
    1995-01-30), ``volume`` (shares), ``amount``, ``market_cap`` (KRW; Int64).

    Raises:
        FileNotFoundError, MalformedFileError: see the module doc.
    """
    return read_typed_csv(path, INDEX_COLUMNS)


def read_listing_file(path: Path | str) -> pl.DataFrame:
    """Listing rows: ``source_line, ticker, company_name, market`` (text as published).

    Raises:
        FileNotFoundError, MalformedFileError: see the module doc.
    """
    return read_typed_csv(path, LISTING_COLUMNS)


def read_industry_file(path: Path | str) -> pl.DataFrame:
    """Industry rows: ``source_line, ticker, company_name, market, kosdaq_division`` (the KOSDAQ
    division, ``Sector`` in the file: NULL for KOSPI), ``industry`` (KSIC industry name),
    ``products``, ``listing_date`` (Date), ``fiscal_year_end_month`` (Int8, 1..12 when the text
    is ``<n>월``, NULL when empty or unreadable), ``fiscal_year_end_month_as_published`` (the
    text), ``home_page``, ``region``.

    Raises:
        FileNotFoundError, MalformedFileError: see the module doc.
    """
    frame = read_typed_csv(path, INDUSTRY_COLUMNS)
    month = pl.col("fiscal_year_end_month_as_published").str.extract(_MONTH, 1).cast(pl.Int8, strict=False)
    return frame.with_columns(fiscal_year_end_month=month)

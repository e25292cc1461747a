"""Company reference data from the bundled S&P 500 files (datasets/s-and-p-500-companies).

* ``raw.companies`` — one row per ticker: ``ticker``, ``company_name``, ``sector`` (GICS),
  from ``constituents_2018-04-02.csv``.
* ``raw.company_financials`` — one row per ticker, the vendor snapshot of 2018-02-08 as
  published (quirks fixed in dbt staging, not here): ``price`` (USD), ``price_earnings``,
  ``dividend_yield_pct`` (PERCENT: 2.33 = 2.33 %), ``earnings_per_share`` (USD),
  ``week_52_low_as_published`` / ``week_52_high_as_published`` (swapped in every row of
  the source), ``market_cap`` and ``ebitda`` (USD), ``price_sales``, ``price_book``,
  ``sec_filings_url``.

Tickers are stored in the warehouse spelling (upper case, ``BRK.B``; :mod:`domain.tickers`).
Both carry ``source_file`` and ``loaded_at`` (UTC). Each run replaces the table in one
transaction; a malformed file raises before anything is written.
"""

from datetime import datetime, timezone
from pathlib import Path

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from domain.datasets import require_file
from domain.tickers import normalized_ticker
from domain.warehouse import Replacement
from pipelines.lib.csv_files import Column, read_typed_csv
from pipelines.lib.resources import ReferenceDataResource, WarehouseResource

CONSTITUENT_COLUMNS = {
    "Symbol": Column("ticker", required=True),
    "Name": Column("company_name"),
    "Sector": Column("sector"),
}
FINANCIAL_COLUMNS = {
    "Symbol": Column("ticker", required=True),
    "Name": Column("company_name"),
    "Sector": Column("sector"),
    "Price": Column("price", "float"),
    "Price/Earnings": Column("price_earnings", "float"),
    "Dividend Yield": Column("dividend_yield_pct", "float"),
    "Earnings/Share": Column("earnings_per_share", "float"),
    "52 Week Low": Column("week_52_low_as_published", "float"),
    "52 Week High": Column("week_52_high_as_published", "float"),
    "Market Cap": Column("market_cap", "float"),
    "EBITDA": Column("ebitda", "float"),
    "Price/Sales": Column("price_sales", "float"),
    "Price/Book": Column("price_book", "float"),
    "SEC Filings": Column("sec_filings_url"),
}
_SQL_TYPES = {"str": "varchar", "float": "double precision", "int": "bigint", "date": "date"}


def _ddl(table: str, columns: dict[str, Column]) -> str:
    fields = [f"{c.name} {_SQL_TYPES[c.type]}{' not null' if c.required else ''}" for c in columns.values()]
    fields += ["source_file varchar not null", "loaded_at timestamp not null"]
    return f"create table if not exists {table} ({', '.join(fields)})"


def _load_reference_table(
    warehouse: WarehouseResource, name: str, path: Path, columns: dict[str, Column]
) -> MaterializeResult:
    frame = read_typed_csv(require_file(path), columns).drop("source_line").with_columns(normalized_ticker("ticker"))
    duplicated = frame.filter(pl.col("ticker").is_duplicated())["ticker"].unique().to_list()
    if duplicated:
        raise ValueError(f"{path}: duplicated ticker(s) {sorted(duplicated)}")
    frame = frame.with_columns(
        source_file=pl.lit(path.name), loaded_at=pl.lit(datetime.now(timezone.utc).replace(tzinfo=None))
    )
    with warehouse.connect() as wh:
        table = wh.table("raw", name)
        wh.ensure_schema("raw")
        wh.execute(_ddl(table, columns))
        wh.replace_rows([Replacement(table, frame)])
    return MaterializeResult(
        metadata={
            "dagster/row_count": frame.height,
            "source_file": MetadataValue.path(str(path)),
            "null_counts": MetadataValue.json(
                {k: v for k, v in frame.null_count().row(0, named=True).items() if v}
            ),
        }
    )


@asset(
    key=["raw", "companies"],
    group_name="companies",
    kinds={"python", "duckdb", "postgres"},
    owners=["team:data-engineering"],
    tags={"layer": "raw"},
    description="S&P 500 constituents (ticker, company name, GICS sector) as of 2018-04-02.",
)
def companies(
    context: AssetExecutionContext, warehouse: WarehouseResource, reference_data: ReferenceDataResource
) -> MaterializeResult:
    return _load_reference_table(warehouse, "companies", Path(reference_data.constituents_csv), CONSTITUENT_COLUMNS)


@asset(
    key=["raw", "company_financials"],
    group_name="companies",
    kinds={"python", "duckdb", "postgres"},
    owners=["team:data-engineering"],
    tags={"layer": "raw"},
    description="Vendor fundamentals snapshot of 2018-02-08 (market cap, P/E, P/B, dividend "
    "yield in percent, EPS), as published; quirks are fixed in dbt staging.",
)
def company_financials(
    context: AssetExecutionContext, warehouse: WarehouseResource, reference_data: ReferenceDataResource
) -> MaterializeResult:
    return _load_reference_table(warehouse, "company_financials", Path(reference_data.financials_csv), FINANCIAL_COLUMNS)

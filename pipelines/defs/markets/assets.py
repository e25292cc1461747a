"""The Korean reference files as raw tables: ``raw/market_indices``, ``raw/krx_listing``,
``raw/krx_industry`` (group ``markets``; files from the ``krx_files`` resource).

Each asset, per run:

1. reads its whole file strictly (:mod:`pipelines.defs.markets.readers`; a malformed file
   raises, naming file, line and field, before anything is written);
2. splits the rows with its Great Expectations row suite
   (:mod:`pipelines.defs.markets.validation`): failing rows go to ``raw.rejected_<table>`` with
   the failed rules as ``reason``, the others to ``raw.<table>``;
3. replaces BOTH tables whole in ONE transaction (``replace_rows``), so a rerun leaves the same
   rows and a reader never sees half a file;
4. yields the blocking check ``rows_pass_expectations``: the suite re-run on the loaded rows
   passes and input rows = loaded + rejected. A failure skips the dbt models downstream.

The index file is loaded whole, not from ``HISTORY_START``: 24,572 rows (KOSPI from 1995-05-02,
KOSDAQ from 1996-07-01, KOSPI 200 from 1990-01-03, all to 2026-03-20) take well under a second
and ~1 MB, and a benchmark may be read over any span. Of the bundled files one index row is
quarantined (KOSPI 200 on 1995-01-04: close 109.3 below the low 111.58, ``low_le_close``) and two
listing rows (a second, identical line for 115960 and 294090, ``duplicate_row``).
"""

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from domain.datasets import require_file
from domain.warehouse import Replacement
from pipelines.defs.markets.readers import read_index_file, read_industry_file, read_listing_file
from pipelines.defs.markets.tables import KRX_INDUSTRY, KRX_LISTING, MARKET_INDICES, RawTable
from pipelines.defs.markets.validation import (
    INDEX_SUITE,
    INDUSTRY_SUITE,
    LISTING_SUITE,
    RowSuite,
    Split,
    split_valid_rejected,
)
from pipelines.lib.resources import KoreanMarketFilesResource, WarehouseResource

ROWS_CHECK = "rows_pass_expectations"


def load_reference_file(
    warehouse: WarehouseResource, table: RawTable, path: Path, frame: pl.DataFrame, suite: RowSuite, today: date
) -> Split:
    """Split ``frame`` (read from ``path``) with ``suite`` and replace ``raw.<table>`` and its
    quarantine table with the result in one transaction. Returns the split."""
    split = split_valid_rejected(frame, suite, today)
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    stamp = {"source_file": pl.lit(path.name), "loaded_at": pl.lit(loaded_at, pl.Datetime("us"))}
    valid = split.valid.with_columns(**stamp).select(table.column_names)
    rejected = split.rejected.with_columns(**stamp).select(table.rejected_column_names)
    with warehouse.connect() as wh:
        loaded_table, rejected_table = table.ensure(wh)
        wh.replace_rows([Replacement(loaded_table, valid), Replacement(rejected_table, rejected)])
    return split


def _results(table: RawTable, path: Path, frame: pl.DataFrame, split: Split):
    """The materialization and the ``rows_pass_expectations`` check of one load."""
    balanced = frame.height == split.valid.height + split.rejected.height
    yield MaterializeResult(
        metadata={
            "dagster/row_count": split.valid.height,
            "source_file": MetadataValue.path(str(path)),
            "rows_read": frame.height,
            "rows_rejected": split.rejected.height,
            "rejected_by_rule": MetadataValue.json(split.input_outcome.failed_rows_by_rule),
            "rejected_table": f"raw.{table.rejected_name}",
            "rejected_lines": MetadataValue.json(split.rejected["source_line"].head(50).to_list()),
            "null_counts": MetadataValue.json(
                {k: v for k, v in split.valid.null_count().row(0, named=True).items() if v}
            ),
        }
    )
    yield AssetCheckResult(
        check_name=ROWS_CHECK,
        passed=split.valid_outcome.success and balanced,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "failed_rows_by_rule": MetadataValue.json(split.valid_outcome.failed_rows_by_rule),
            "expectations_evaluated": split.valid_outcome.evaluated_expectations,
            "input_rows_equal_loaded_plus_rejected": balanced,
        },
    )


def _check(key: list[str], suite: RowSuite) -> AssetCheckSpec:
    return AssetCheckSpec(
        ROWS_CHECK,
        asset=key,
        blocking=True,
        description=f"Great Expectations suite {suite.name} passes on the loaded rows, and every input row "
        "is either loaded or quarantined with its reason.",
    )


def _reference_asset(table: RawTable, suite: RowSuite, reader, file_field: str, description: str) -> AssetsDefinition:
    """The asset loading ``krx_files.<file_field>`` with ``reader`` into ``table`` (see the module doc)."""
    key = ["raw", table.name]

    @asset(
        key=key,
        group_name="markets",
        kinds={"python", "duckdb", "postgres"},
        owners=["team:data-engineering"],
        tags={"layer": "raw"},
        description=description,
        check_specs=[_check(key, suite)],
    )
    def _asset(context: AssetExecutionContext, warehouse: WarehouseResource, krx_files: KoreanMarketFilesResource):
        path = require_file(Path(getattr(krx_files, file_field)))
        frame = reader(path)
        split = load_reference_file(warehouse, table, path, frame, suite, date.today())
        if split.rejected.height:
            context.log.warning(f"{path.name}: {split.rejected.height} row(s) quarantined in raw.{table.rejected_name}: "
                                f"{split.input_outcome.failed_rows_by_rule}")  # fmt: skip
        yield from _results(table, path, frame, split)

    return _asset


market_indices = _reference_asset(
    MARKET_INDICES, INDEX_SUITE, read_index_file, "index_csv",
    "Daily KOSPI (KS11), KOSDAQ (KQ11) and KOSPI 200 (KS200) index series (KRX_INDEX_CSV, whole file): OHLC "
    "in index points, volume, trading value and market cap in KRW. Invalid rows are quarantined in "
    "raw.rejected_market_indices with the failed rules.",
)  # fmt: skip
krx_listing = _reference_asset(
    KRX_LISTING, LISTING_SUITE, read_listing_file, "listing_csv",
    "KRX listing (KRX_LISTING_CSV; 2022-05-16 bundled): 6-character ticker, Korean company name, market "
    "(KOSPI, KOSDAQ, KONEX). Invalid or repeated rows are quarantined in raw.rejected_krx_listing.",
)  # fmt: skip
krx_industry = _reference_asset(
    KRX_INDUSTRY, INDUSTRY_SUITE, read_industry_file, "industry_csv",
    "KRX listing with KSIC industry, KOSDAQ division, listing date and fiscal year end (KRX_INDUSTRY_CSV; "
    "2026-03-22 bundled). Invalid rows are quarantined in raw.rejected_krx_industry.",
)  # fmt: skip

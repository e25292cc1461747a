"""``raw/dart_key_accounts``: DART annual key accounts of Korean listed companies (KRW).

Source: ``DART_ACCOUNTS_CSV`` (resource ``krx_files``; default the bundled
``data/sample/dart/dart_key_accounts_annual.csv``: 496 company-years of 43 large KOSPI companies,
consolidated annual statements, mostly 2009..2022), one row per company and fiscal year with the
columns ``corp_name,stock_code,market,corp_code,fiscal_year,period_end,revenue,
operating_income,net_income,net_income_owners,total_equity,total_assets,eps_basic,fs_label``.
``period_end`` is ``YYYYMMDD`` (``YYYY-MM-DD`` accepted); money in KRW, whole numbers; EPS KRW
per share. Codes are read as text, so ``stock_code`` keeps its leading zeros (``005930``).

A file that cannot be read (missing column, a number or date that does not parse) raises
:class:`~pipelines.lib.csv_files.MalformedFileError` naming the file, line and field, before
anything is written. Rows failing the Great Expectations suite ``dart_key_accounts_rows``
(:mod:`pipelines.defs.fundamentals.korean_validation`) go to ``raw.rejected_dart_key_accounts``
with the reason; the others to ``raw.dart_key_accounts`` (tables:
:mod:`pipelines.defs.fundamentals.korean_tables`). Both tables are replaced whole in ONE
transaction, so a rerun leaves identical rows. Blocking check ``rows_pass_expectations``: the
suite passes on the stored rows and input rows = loaded + rejected.

The file has no filing dates and its values are as restated by the latest report that contained
them; the point-in-time rule (available 90 days after the fiscal year end) is applied in dbt
(``int_dart_fundamentals_asof``, see ``docs/fundamentals.md``).
"""

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)

from domain.datasets import require_file
from domain.warehouse import Replacement
from pipelines.defs.fundamentals.korean_tables import (
    DART_VALUE_COLUMNS,
    dart_accounts_table,
    ensure_dart_tables,
    rejected_dart_accounts_table,
)
from pipelines.defs.fundamentals.korean_validation import (
    dart_frame_for_suite,
    dart_suite,
    split_valid_rejected,
    validate,
)
from pipelines.lib.csv_files import Column, MalformedFileError, read_typed_csv
from pipelines.lib.resources import KoreanMarketFilesResource, WarehouseResource

DART_ACCOUNTS_KEY = ["raw", "dart_key_accounts"]
ROWS_CHECK = "rows_pass_expectations"
_MONEY = ("revenue", "operating_income", "net_income", "net_income_owners", "total_equity", "total_assets", "eps_basic")
COLUMNS = {
    "corp_name": Column("corp_name"),
    "stock_code": Column("stock_code"),
    "market": Column("market"),
    "corp_code": Column("corp_code"),
    "fiscal_year": Column("fiscal_year", "int"),
    "period_end": Column("period_end"),  # YYYYMMDD: parsed by _period_end
    **{name: Column(name, "int") for name in _MONEY},
    "fs_label": Column("fs_label"),
}
_DATE_FORMATS = ("%Y%m%d", "%Y-%m-%d")


def _period_end(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    """``period_end`` text as a date (``YYYYMMDD`` or ``YYYY-MM-DD``).

    Raises:
        MalformedFileError: a value that is neither (names the first line, and how many more).
    """
    text = frame["period_end"]
    parsed = pl.select(
        pl.coalesce(*(text.str.to_date(fmt, strict=False) for fmt in _DATE_FORMATS))
    ).to_series().alias("period_end")
    bad = (text.is_not_null() & parsed.is_null()).arg_true()
    if len(bad):
        first = int(bad[0])
        more = f" (and {len(bad) - 1} more lines)" if len(bad) > 1 else ""
        raise MalformedFileError(
            path, f"{text[first]!r} is not a date (YYYYMMDD){more}", int(frame["source_line"][first]), "period_end"
        )
    return frame.with_columns(parsed)


def read_dart_accounts(path: Path | str) -> pl.DataFrame:
    """The DART accounts file as a frame: ``source_line`` (Int64, header = line 1) then the
    columns of :data:`~pipelines.defs.fundamentals.korean_tables.DART_VALUE_COLUMNS`: codes and
    names as text (stripped; empty = NULL), ``fiscal_year`` Int64, ``period_end`` Date, money
    and ``eps_basic`` Int64 KRW (NULL where empty). Column names match case-insensitively;
    other columns are ignored.

    Raises:
        FileNotFoundError: ``path`` does not exist (a missing bundled file says to run ``make data``).
        MalformedFileError: a missing column, a number or date that does not parse (file, line, field).
    """
    path = require_file(Path(path))
    return _period_end(read_typed_csv(path, COLUMNS), path)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@asset(
    key=DART_ACCOUNTS_KEY,
    group_name="fundamentals",
    kinds={"python", "polars", "duckdb", "postgres"},
    owners=["team:data-engineering"],
    tags={"layer": "raw"},
    description="DART annual key accounts of Korean listed companies (DART_ACCOUNTS_CSV), one row per "
    "stock_code and fiscal year: revenue, operating income, net income (total and to owners), total equity, "
    "total assets (KRW), basic EPS (KRW per share, as filed), period_end. Rows failing the Great "
    "Expectations suite go to raw.rejected_dart_key_accounts with the reason. No filing dates: dbt assumes "
    "availability 90 days after the fiscal year end.",
    check_specs=[
        AssetCheckSpec(
            ROWS_CHECK,
            asset=DART_ACCOUNTS_KEY,
            blocking=True,
            description="The Great Expectations suite dart_key_accounts_rows passes on the stored rows "
            "(codes, market, fiscal year, period end, one row per stock_code and fiscal year, assets > 0, "
            "equity <= assets, revenue >= 0), and input rows = loaded + rejected.",
        )
    ],
)
def dart_key_accounts(
    context: AssetExecutionContext, warehouse: WarehouseResource, krx_files: KoreanMarketFilesResource
):
    path = Path(krx_files.dart_accounts_csv)
    frame = read_dart_accounts(path)
    loaded_at = _now()
    split = split_valid_rejected(frame, dart_suite(loaded_at.year), dart_frame_for_suite)
    stamp = {"source_file": pl.lit(path.name), "loaded_at": pl.lit(loaded_at)}
    valid = split.valid.with_columns(**stamp).select(*DART_VALUE_COLUMNS, "source_file", "source_line", "loaded_at")
    rejected = split.rejected.with_columns(**stamp).select(
        *DART_VALUE_COLUMNS, "reason", "source_file", "source_line", "loaded_at"
    )
    with warehouse.connect() as wh:
        ensure_dart_tables(wh)
        wh.replace_rows(
            [Replacement(dart_accounts_table(wh), valid), Replacement(rejected_dart_accounts_table(wh), rejected)]
        )
        stored = wh.fetch_frame(f"select * from {dart_accounts_table(wh)}")
        stored_rejected = wh.row_count(rejected_dart_accounts_table(wh))
    stored_outcome = validate(stored, dart_suite(loaded_at.year), dart_frame_for_suite)
    if rejected.height:
        context.log.warning(f"{path}: {rejected.height} rows quarantined: {split.outcome.failed_rows_by_rule}")
    counts = {"input_rows": frame.height, "loaded_rows": stored.height, "rejected_rows": stored_rejected}
    yield MaterializeResult(
        metadata={
            "dagster/row_count": stored.height,
            **counts,
            "companies": stored["stock_code"].n_unique(),
            "fiscal_years": f"{stored['fiscal_year'].min()}..{stored['fiscal_year'].max()}" if stored.height else "",
            "rows_without_eps_basic": stored["eps_basic"].null_count(),
            "rows_without_net_income_owners": stored["net_income_owners"].null_count(),
            "failed_rows_by_rule": MetadataValue.json(split.outcome.failed_rows_by_rule),
            "source_file": MetadataValue.path(str(path)),
        }
    )
    yield AssetCheckResult(
        check_name=ROWS_CHECK,
        passed=stored_outcome.success and frame.height == stored.height + stored_rejected,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            **counts,
            "stored_rows_failed_by_rule": MetadataValue.json(stored_outcome.failed_rows_by_rule),
            "evaluated_expectations": stored_outcome.evaluated_expectations,
        },
    )

"""The raw portfolio tables: DDL (valid on DuckDB and PostgreSQL) and the rows of one file.

``<prefix>raw.portfolio_transactions`` — one row per transaction of every VALID file, grain
``(source_file, source_line)``:

=============  =====================================================================
portfolio      portfolio name (a portfolio lives in one file)
source_file    file name relative to ``PORTFOLIOS_DIR`` (e.g. ``example_us_core.csv``)
source_line    line of the row in the file (header = line 1)
trade_date     session date of the transaction on the ticker's exchange (NYSE, KRX)
ticker         upper case, a ticker of ``raw.prices_daily``
side           ``buy`` | ``sell`` | ``dividend``
quantity       shares (> 0); for a dividend the shares it was paid on
price          per share in ``currency`` (> 0); for a dividend the dividend per share
fees           in ``currency`` (>= 0; 0 when the file left it empty)
currency       the ticker's market's, ``USD`` or ``KRW``; one per portfolio
file_sha256    SHA-256 (hex) of the file's bytes as loaded
loaded_at      UTC time (timestamp without zone) of the run that wrote the file's rows
=============  =====================================================================

Cash of a row (in ``currency``, positive = into the portfolio): buy ``-(quantity * price + fees)``,
sell ``quantity * price - fees``, dividend ``quantity * price - fees``.

``<prefix>raw.rejected_portfolio_transactions`` — every row of every REJECTED file, grain
``(source_file, source_line)``: ``source_file``, ``source_line``, ``portfolio`` (trimmed, NULL
when empty or unreadable), ``field`` (the column(s) at fault, comma-separated; NULL when the
whole record or file is, or for a row that is fine itself), ``reason`` (the full error
sentences joined by ``"; "``, e.g. ``a.csv line 8, field quantity: sell of 150 AAPL on
2017-03-01 exceeds the 100 shares held``, or ``file rejected: 2 other rows invalid (lines 5,
9)`` for a row that is fine itself), ``raw_record`` (the record as read: JSON object
``{column: value}``; JSON ``null`` for a file that cannot be read, which gets one row at the
line where reading failed), ``file_sha256``, ``loaded_at``. A file's input rows = its loaded
rows + its rejected rows: all in one table or all in the other.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from domain.portfolios.transactions import RAW_RECORD, SOURCE_LINE, RowError
from domain.warehouse import Warehouse

TRANSACTION_COLUMNS = (
    "portfolio", "source_file", "source_line", "trade_date", "ticker", "side", "quantity", "price", "fees",
    "currency", "file_sha256", "loaded_at",
)  # fmt: skip
REJECTED_COLUMNS = (
    "source_file", "source_line", "portfolio", "field", "reason", "raw_record", "file_sha256", "loaded_at",
)  # fmt: skip
_LINES_SHOWN = 10


def transactions_table(warehouse: Warehouse) -> str:
    """Qualified name of ``raw.portfolio_transactions``."""
    return warehouse.table("raw", "portfolio_transactions")


def rejected_table(warehouse: Warehouse) -> str:
    """Qualified name of ``raw.rejected_portfolio_transactions``."""
    return warehouse.table("raw", "rejected_portfolio_transactions")


def ensure_portfolio_tables(warehouse: Warehouse) -> None:
    """Create the raw schema and both tables if they do not exist (idempotent)."""
    warehouse.ensure_schema("raw")
    warehouse.execute(
        f"""create table if not exists {transactions_table(warehouse)} (
            portfolio varchar not null,
            source_file varchar not null,
            source_line bigint not null,
            trade_date date not null,
            ticker varchar not null,
            side varchar not null,
            quantity double precision not null,
            price double precision not null,
            fees double precision not null,
            currency varchar not null,
            file_sha256 varchar not null,
            loaded_at timestamp not null
        )"""
    )
    warehouse.execute(
        f"""create table if not exists {rejected_table(warehouse)} (
            source_file varchar not null,
            source_line bigint not null,
            portfolio varchar,
            field varchar,
            reason varchar not null,
            raw_record varchar not null,
            file_sha256 varchar not null,
            loaded_at timestamp not null
        )"""
    )


def loaded_rows(typed: pl.DataFrame, source_file: str, sha256: str, loaded_at: datetime) -> pl.DataFrame:
    """Rows of ``raw.portfolio_transactions`` for one valid file (``typed``: from
    :func:`~domain.portfolios.transactions.normalized_transactions`)."""
    return typed.with_columns(
        source_file=pl.lit(source_file), file_sha256=pl.lit(sha256), loaded_at=pl.lit(loaded_at, pl.Datetime("us"))
    ).select(TRANSACTION_COLUMNS)


def rejected_rows(
    frame: pl.DataFrame | None, errors: list[RowError], source_file: str, sha256: str, loaded_at: datetime
) -> pl.DataFrame:
    """Rows of ``raw.rejected_portfolio_transactions`` for one rejected file: every record of
    ``frame`` (from :func:`~domain.portfolios.transactions.read_transactions`) with its
    own errors, or ``file rejected: …`` naming the invalid lines; plus one row per line with
    errors that is no record (the header, or the line where an unreadable file failed: then
    ``frame`` is None)."""
    by_line: dict[int, list[RowError]] = {}
    for error in errors:
        by_line.setdefault(error.line, []).append(error)
    invalid_lines = sorted(by_line)
    rows = []
    if frame is not None:
        portfolios = frame["portfolio"].to_list() if "portfolio" in frame.columns else [None] * frame.height
        rows = [
            _rejected(line, (portfolio or "").strip() or None, by_line.pop(line, []), raw, invalid_lines)
            for line, raw, portfolio in zip(frame[SOURCE_LINE].to_list(), frame[RAW_RECORD].to_list(), portfolios)
        ]
    rows += [_rejected(line, None, own, "null", invalid_lines) for line, own in by_line.items()]
    return pl.DataFrame(
        [{**row, "source_file": source_file, "file_sha256": sha256, "loaded_at": loaded_at} for row in rows],
        schema={
            "source_line": pl.Int64, "portfolio": pl.Utf8, "field": pl.Utf8, "reason": pl.Utf8, "raw_record": pl.Utf8,
            "source_file": pl.Utf8, "file_sha256": pl.Utf8, "loaded_at": pl.Datetime("us"),
        },  # fmt: skip
    ).select(REJECTED_COLUMNS)


def _rejected(line: int, portfolio: str | None, own: list[RowError], raw: str, invalid_lines: list[int]) -> dict:
    fields = list(dict.fromkeys(e.field for e in own if e.field))
    return {
        "source_line": line,
        "portfolio": portfolio,
        "field": ",".join(fields) or None,
        "reason": "; ".join(str(e) for e in own) if own else _file_rejected(invalid_lines),
        "raw_record": raw,
    }


def _file_rejected(invalid_lines: list[int]) -> str:
    """Reason of a row that is fine itself, in a file with errors on ``invalid_lines``."""
    if invalid_lines == [1]:
        return "file rejected: its header (line 1) is invalid"
    shown = ", ".join(str(n) for n in invalid_lines[:_LINES_SHOWN])
    more = f" and {len(invalid_lines) - _LINES_SHOWN} more" if len(invalid_lines) > _LINES_SHOWN else ""
    plural = "s" if len(invalid_lines) > 1 else ""
    return f"file rejected: {len(invalid_lines)} other row{plural} invalid (line{plural} {shown}{more})"

"""Bring a copy of the previous DuckDB snapshot up to date with the warehouse, row-wise where
that pays (an incremental publish; :func:`domain.warehouse.duckdb_backend.publish_snapshot`).

A publish copies the previous snapshot file byte for byte (the operating system's file copy,
far cheaper than re-encoding every row), attaches the copy as ``_snapshot_copy`` and calls
:func:`sync_published_tables`:

- a table of :data:`~domain.warehouse.sql.ROW_SYNCED_TABLES` (one row per ``ticker`` and
  ``trade_date``, with a ``computed_at`` column stamped by the dbt invocation that wrote the
  row; ``marts.fct_daily_indicators``) is synced row-wise by :func:`sync_rows`;
- every other published table (all small: one row per ticker, per session, per event) is
  replaced whole; tables the warehouse no longer has are dropped.

:func:`sync_rows` on a table ``t``: with ``M`` the latest ``computed_at`` in the copy, every
ticker with a row computed after ``M`` is replaced from its first such ``trade_date``
on (a dbt run rewrites a ticker from its first changed bar on, so those rows carry the run's
stamp). Then a per-ticker fingerprint (row count and ``bit_xor`` of ``hash(trade_date,
computed_at)``) is compared between the copy and the warehouse, and every ticker that differs
(a deleted last session, which leaves no new row; a clock that went backwards) is replaced
whole. After the sync the copy holds, per ticker, exactly the warehouse's (trade_date,
computed_at) pairs, and rows with the same stamp were written by the same dbt run: the same
values.

A copy accumulates the space of deleted rows, so the publish starts from an empty file again
(a full publish) once the rows synced since the last full publish exceed
:data:`FULL_PUBLISH_SHARE` of the row-synced tables (every ~125 sessions for the bundled data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from domain.warehouse.sql import quote_identifier

#: Catalog name of the attached copy being brought up to date.
COPY_CATALOG = "_snapshot_copy"

#: Rows synced row-wise since the last full publish, as a share of the row-synced tables'
#: rows, beyond which the next publish writes a fresh file (compacting deleted rows' space).
FULL_PUBLISH_SHARE = 0.10

KEY, DATE, VERSION = "ticker", "trade_date", "computed_at"


@dataclass(frozen=True)
class SyncReport:
    """What one incremental publish did: rows replaced in the row-synced tables (``rows_synced``),
    tickers repaired by the fingerprint check, small tables replaced whole, tables dropped."""

    rows_synced: int
    tickers_repaired: int
    tables_replaced: int
    tables_dropped: int


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from duckdb_columns() where database_name = ? and schema_name = ? "
        "and table_name = ? order by column_index",
        [catalog, schema, table],
    ).fetchall()


def published_tables(con: duckdb.DuckDBPyConnection, catalog: str, schemas: Sequence[str]) -> list[tuple[str, str]]:
    """``(schema, table)`` of every table of ``schemas`` in ``catalog``, sorted."""
    return [
        (schema, table)
        for schema, table in con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = ? and schema_name in "
            f"({', '.join('?' for _ in schemas)}) order by all",
            [catalog, *schemas],
        ).fetchall()
    ]


def row_synced_rows(con: duckdb.DuckDBPyConnection, catalog: str, tables: Sequence[tuple[str, str]]) -> int:
    """Rows of the row-synced ``tables`` present in ``catalog`` (the full-publish threshold's base)."""
    total = 0
    for schema, table in tables:
        if _columns(con, catalog, schema, table):
            total += con.execute(f"select count(*) from {_name(catalog, schema, table)}").fetchone()[0]
    return total


def rows_to_sync(con: duckdb.DuckDBPyConnection, source: str, tables: Sequence[tuple[str, str]]) -> int:
    """Rows of the row-synced ``tables`` in ``source`` computed after the copy's latest
    ``computed_at`` (every row where the copy lacks the table or its columns differ): about
    what :func:`sync_rows` will rewrite."""
    total = 0
    for schema, table in tables:
        columns = _columns(con, source, schema, table)
        if not columns:
            continue
        src = _name(source, schema, table)
        if columns != _columns(con, COPY_CATALOG, schema, table):
            total += con.execute(f"select count(*) from {src}").fetchone()[0]
            continue
        latest = con.execute(f"select max({VERSION}) from {_name(COPY_CATALOG, schema, table)}").fetchone()[0]
        where, params = (f"where {VERSION} > ?", [latest]) if latest is not None else ("", [])
        total += con.execute(f"select count(*) from {src} {where}", params).fetchone()[0]
    return total


def _name(catalog: str, schema: str, table: str) -> str:
    return ".".join(quote_identifier(part) for part in (catalog, schema, table))


def sync_rows(con: duckdb.DuckDBPyConnection, source: str, schema: str, table: str) -> tuple[int, int]:
    """Bring ``_snapshot_copy.<schema>.<table>`` up to date with ``<source>.<schema>.<table>``
    (both with the same columns, including ``ticker``, ``trade_date`` and ``computed_at``);
    see the module docstring. Returns (rows inserted, tickers repaired by the fingerprint)."""
    src, dst = _name(source, schema, table), _name(COPY_CATALOG, schema, table)
    latest = con.execute(f"select max({VERSION}) from {dst}").fetchone()[0]
    stale = f"{VERSION} > ?" if latest is not None else "true"
    con.execute(
        f"create or replace temp table _sync_from as select {KEY}, min({DATE}) as from_date from {src} "
        f"where {stale} group by {KEY}",
        [latest] if latest is not None else [],
    )
    con.execute(f"delete from {dst} as c using _sync_from as f where c.{KEY} = f.{KEY} and c.{DATE} >= f.from_date")
    inserted = con.execute(
        f"insert into {dst} select s.* from {src} as s inner join _sync_from as f "
        f"on s.{KEY} = f.{KEY} and s.{DATE} >= f.from_date"
    ).fetchone()[0]
    fingerprint = f"select {KEY}, count(*) as n, bit_xor(hash({DATE}, {VERSION})) as h from {{}} group by {KEY}"
    con.execute(
        "create or replace temp table _sync_repair as select coalesce(s.ticker, c.ticker) as ticker "
        f"from ({fingerprint.format(src)}) as s full outer join ({fingerprint.format(dst)}) as c "
        "on s.ticker = c.ticker where s.n is distinct from c.n or s.h is distinct from c.h"
    )
    repaired = con.execute("select count(*) from _sync_repair").fetchone()[0]
    if repaired:
        con.execute(f"delete from {dst} where {KEY} in (select ticker from _sync_repair)")
        inserted += con.execute(
            f"insert into {dst} select * from {src} where {KEY} in (select ticker from _sync_repair)"
        ).fetchone()[0]
    con.execute("drop table _sync_from")
    con.execute("drop table _sync_repair")
    return inserted, repaired


def sync_published_tables(
    con: duckdb.DuckDBPyConnection,
    source: str,
    schemas: Sequence[str],
    row_synced: Sequence[tuple[str, str]],
) -> SyncReport:
    """Make the tables of ``schemas`` in the attached copy equal to ``source``'s (see the module
    docstring): ``row_synced`` tables row-wise when the copy has them with the same columns,
    every other table replaced whole, tables missing from ``source`` dropped."""
    wanted = published_tables(con, source, schemas)
    for schema in schemas:
        con.execute(f"create schema if not exists {COPY_CATALOG}.{quote_identifier(schema)}")
    dropped = 0
    for schema, table in published_tables(con, COPY_CATALOG, schemas):
        if (schema, table) not in wanted:
            con.execute(f"drop table {_name(COPY_CATALOG, schema, table)}")
            dropped += 1
    rows = repaired = replaced = 0
    for schema, table in wanted:
        copy_columns = _columns(con, COPY_CATALOG, schema, table)
        if (schema, table) in row_synced and copy_columns == _columns(con, source, schema, table):
            inserted, fixed = sync_rows(con, source, schema, table)
            rows, repaired = rows + inserted, repaired + fixed
            continue
        con.execute(
            f"create or replace table {_name(COPY_CATALOG, schema, table)} as select * from {_name(source, schema, table)}"
        )
        replaced += 1
    return SyncReport(rows, repaired, replaced, dropped)

"""DuckDB backend: the embedded warehouse file and its read-only snapshot.

DuckDB allows one writer process. The build writes ``WAREHOUSE_PATH``; readers (the
Streamlit app, ad-hoc BI, the alert retry sensor) open the *snapshot*, a copy published after
each completed build (:func:`publish_snapshot`): written beside the target and
``os.replace``-d over it, so a reader sees the previous or the new build, never a half-written
file, and a connection that is already open keeps reading the old file.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from domain.warehouse.base import Replacement, Warehouse
from domain.warehouse.snapshot_sync import (
    COPY_CATALOG,
    FULL_PUBLISH_SHARE,
    row_synced_rows,
    rows_to_sync,
    sync_published_tables,
)
from domain.warehouse.sql import PUBLISHED_LAYERS, ROW_SYNCED_TABLES, TableNames, quote_identifier, string_literal


def connect_file(path: Path, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A read-write connection to the DuckDB file at ``path`` (folder created if missing), with
    DuckDB's ``memory_limit`` when given (e.g. ``6GB``).

    Raises:
        duckdb.IOException: another process holds the file's write lock.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    config = {"custom_user_agent": "stock-warehouse", **({"memory_limit": memory_limit} if memory_limit else {})}
    return duckdb.connect(str(path), config=config)


class DuckDBWarehouse(Warehouse):
    """A :class:`Warehouse` over one DuckDB connection (placeholders are ``?`` natively).

    ``snapshot_path`` is where :meth:`publish` writes the read-only copy (None for a connection
    that must not publish, e.g. one on the snapshot itself).
    """

    backend = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection, names: TableNames, snapshot_path: Path | None = None):
        super().__init__(names)
        self.con = con
        self.snapshot_path = snapshot_path

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.con.execute(sql, list(params))

    def fetch_frame(self, sql: str, params: Sequence[Any] = ()) -> pl.DataFrame:
        return self.con.sql(sql, params=list(params) or None).pl()

    def replace_rows(self, replacements: Sequence[Replacement]) -> None:
        self.con.begin()
        try:
            for item in replacements:
                self.con.execute(f"delete from {item.table} where {item.delete_where}", list(item.params))
                if item.frame.height:
                    frame, constants = _split_constant_columns(item.frame)
                    literals = "".join(f", ? as {quote_identifier(name)}" for name in constants)
                    self.con.register("_replacement_batch", frame.to_arrow(compat_level=pl.CompatLevel.newest()))
                    self.con.execute(
                        f"insert into {item.table} by name select *{literals} from _replacement_batch",
                        list(constants.values()),
                    )
                    self.con.unregister("_replacement_batch")  # not after a failed insert: the aborted
                    # transaction would raise here and hide the insert's own error
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise

    def publish(self, run_id: str, built_at: datetime) -> dict[str, Any]:
        if self.snapshot_path is None:
            raise RuntimeError("this DuckDB connection has no snapshot path to publish to")
        report = publish_snapshot(
            self.con, self.snapshot_path, run_id, built_at, meta_schema=self.schema("meta"),
            schemas=[self.schema(layer) for layer in PUBLISHED_LAYERS],
            row_synced=[(self.schema(layer), table) for layer, table in ROW_SYNCED_TABLES],
        )  # fmt: skip
        size_mb = round(self.snapshot_path.stat().st_size / 1e6, 1)
        return {"snapshot_path": str(self.snapshot_path), "size_mb": size_mb, **report}


#: Frames from this many rows on have their constant columns sent as SQL literals.
CONSTANT_COLUMNS_FROM_ROWS = 10_000


def _split_constant_columns(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
    """``frame`` without its constant columns, and those columns' values: every value NULL, or
    one non-NULL value of a type :func:`_literal_safe` accepts. A column
    polars holds as one broadcast value (``pl.lit``: a load's ``loaded_at``, a file's ``source``)
    would otherwise be written out row by row for the Arrow export (about 1 GB at 24 M rows).
    Small frames are returned whole."""
    if frame.height < CONSTANT_COLUMNS_FROM_ROWS or frame.width < 2:
        return frame, {}
    constants: dict[str, Any] = {}
    for column in frame.get_columns():  # Series by Series: a frame-wide select may rechunk (a copy)
        nulls = column.null_count()
        if nulls == frame.height:
            constants[column.name] = None
        elif nulls == 0 and _literal_safe(column.dtype) and (low := column.min()) == column.max():
            constants[column.name] = low
    constants.pop(frame.columns[0], None)  # the batch keeps a column (the row count)
    return frame.drop(list(constants)), constants


def _literal_safe(dtype: pl.DataType) -> bool:
    """A value of ``dtype`` round-trips as a query parameter: text, whole numbers, booleans,
    dates and time-zone-naive timestamps (not floats: NaN; not zoned timestamps: conversion)."""
    if isinstance(dtype, pl.Datetime):
        return dtype.time_zone is None
    return dtype.is_integer() or dtype in (pl.Utf8, pl.Boolean, pl.Date)


def publish_snapshot(
    warehouse: duckdb.DuckDBPyConnection,
    snapshot_path: Path,
    run_id: str,
    built_at: datetime,
    meta_schema: str = "meta",
    schemas: Sequence[str] | None = None,
    row_synced: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Publish a copy of the connected warehouse at ``snapshot_path`` atomically; returns what
    it did (``publish_mode`` full or incremental, rows synced, tables replaced, seconds).

    ``schemas``: the schemas readers get (every table of each, as a table, and every view, as a
    view reading the snapshot's tables: :func:`_publish_views`; None: the whole
    database with DuckDB's ``COPY FROM DATABASE``). The product publishes what analysts, BI and
    the app read, :data:`~domain.warehouse.sql.PUBLISHED_LAYERS` (marts, portfolios, alerts):
    not the raw, staging and intermediate layers. The copy goes into a temporary file beside
    the target, gets ``<meta_schema>.build_info`` (one row: ``built_at`` TIMESTAMPTZ, ``run_id``,
    ``publish_mode``, ``rows_synced_since_full_publish``; never written to the writer's file), is
    fsynced and then ``os.replace``-d over ``snapshot_path``. Temporary copies a killed earlier
    publish left beside the target are removed first. Nothing else may write the warehouse
    meanwhile (the last step of the build job).

    Incremental publish (``schemas`` given and a previous snapshot with ``build_info``): the
    temporary file starts as a byte copy of the previous snapshot, brought up to date by
    :func:`~domain.warehouse.snapshot_sync.sync_published_tables` (``row_synced`` tables, as
    ``(schema, table)``, row-wise; the rest replaced whole). A full publish (an empty file, so it
    holds only live data, not the free blocks a rebuilt DuckDB file keeps) when there is no
    usable previous snapshot or the rows synced since the last full publish would exceed
    :data:`~domain.warehouse.snapshot_sync.FULL_PUBLISH_SHARE` of the row-synced tables.
    """
    started = time.perf_counter()
    snapshot_path.parent.mkdir(parents=True, exist_ok=True)
    for stale in snapshot_path.parent.glob(f".{snapshot_path.name}.*.tmp*"):
        stale.unlink(missing_ok=True)  # left by a publish that was killed (one writer at a time)
    partial = snapshot_path.with_name(f".{snapshot_path.name}.{os.getpid()}.tmp")
    source = warehouse.execute("select current_database()").fetchone()[0]
    info = f"{COPY_CATALOG}.{quote_identifier(meta_schema)}.build_info"
    report: dict[str, Any] = {"publish_mode": "full"}
    try:
        synced_before = _start_from_previous(warehouse, snapshot_path, partial, source, meta_schema, row_synced, schemas)
        warehouse.execute(f"attach {string_literal(str(partial))} as {COPY_CATALOG}")
        try:
            if synced_before is not None:
                sync = sync_published_tables(warehouse, source, schemas or (), row_synced)
                synced = synced_before + sync.rows_synced
                report = {"publish_mode": "incremental", "rows_synced": sync.rows_synced,
                          "tickers_repaired": sync.tickers_repaired, "tables_replaced_whole": sync.tables_replaced,
                          "tables_dropped": sync.tables_dropped}  # fmt: skip
            else:
                synced = 0
                if schemas is None:
                    warehouse.execute(f"copy from database {quote_identifier(source)} to {COPY_CATALOG}")
                else:
                    _copy_schemas(warehouse, source, schemas)
            _publish_views(warehouse, source, schemas)
            warehouse.execute(f"create schema if not exists {COPY_CATALOG}.{quote_identifier(meta_schema)}")
            warehouse.execute(
                f"create or replace table {info} (built_at timestamptz, run_id varchar, publish_mode varchar, "
                "rows_synced_since_full_publish bigint)"
            )
            warehouse.execute(f"insert into {info} values (?, ?, ?, ?)", [built_at, run_id, report["publish_mode"], synced])
        finally:
            warehouse.execute(f"detach {COPY_CATALOG}")
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, snapshot_path)
    finally:
        partial.unlink(missing_ok=True)
        partial.with_name(partial.name + ".wal").unlink(missing_ok=True)
    return {**report, "publish_seconds": round(time.perf_counter() - started, 2)}


def _start_from_previous(
    warehouse: duckdb.DuckDBPyConnection,
    snapshot_path: Path,
    partial: Path,
    source: str,
    meta_schema: str,
    row_synced: Sequence[tuple[str, str]],
    schemas: Sequence[str] | None,
) -> int | None:
    """Copy the previous snapshot to ``partial`` when an incremental publish is possible and
    worth it; returns the rows synced since its last full publish (None: publish in full, with
    ``partial`` absent)."""
    if schemas is None or not snapshot_path.exists():
        return None
    info = f"{COPY_CATALOG}.{quote_identifier(meta_schema)}.build_info"
    shutil.copyfile(snapshot_path, partial)
    warehouse.execute(f"attach {string_literal(str(partial))} as {COPY_CATALOG}")
    try:
        schemas_found = {
            schema for (schema,) in warehouse.execute(
                "select distinct schema_name from duckdb_tables() where database_name = ?", [COPY_CATALOG]
            ).fetchall()
        }  # fmt: skip
        columns = {
            name for (name,) in warehouse.execute(
                "select column_name from duckdb_columns() where database_name = ? and table_name = 'build_info'",
                [COPY_CATALOG],
            ).fetchall()
        }  # fmt: skip
        usable = "rows_synced_since_full_publish" in columns and schemas_found <= {*schemas, meta_schema}
        if usable:
            synced = warehouse.execute(f"select max(rows_synced_since_full_publish) from {info}").fetchone()[0] or 0
            base = row_synced_rows(warehouse, source, row_synced)
            pending = rows_to_sync(warehouse, source, row_synced)
            usable = synced + pending <= FULL_PUBLISH_SHARE * base
    except duckdb.Error:
        usable = False  # an unreadable previous snapshot: publish in full
    finally:
        warehouse.execute(f"detach {COPY_CATALOG}")
    if not usable:
        partial.unlink()
        return None
    return int(synced)


def _copy_schemas(warehouse: duckdb.DuckDBPyConnection, source: str, schemas: Sequence[str]) -> None:
    """Every table of ``schemas`` in catalog ``source`` into ``_snapshot_copy`` (same names)."""
    tables = warehouse.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = ? and schema_name in "
        f"({', '.join('?' for _ in schemas)}) order by all",
        [source, *schemas],
    ).fetchall()
    for schema in schemas:
        warehouse.execute(f"create schema if not exists _snapshot_copy.{quote_identifier(schema)}")
    for schema, table in tables:
        name = f"{quote_identifier(schema)}.{quote_identifier(table)}"
        warehouse.execute(f"create table _snapshot_copy.{name} as select * from {quote_identifier(source)}.{name}")


def _publish_views(warehouse: duckdb.DuckDBPyConnection, source: str, schemas: Sequence[str] | None) -> None:
    """The views of ``schemas`` (e.g. ``marts.mart_screener_history``) created again in
    ``_snapshot_copy`` from their definitions in ``source``: a view stores its query, not rows,
    and its relations are named without a catalog, so in the snapshot it reads the snapshot's
    own tables. (``schemas`` None: ``copy from database`` copied the views already.)"""
    if schemas is None:
        return
    views = warehouse.execute(
        "select schema_name, view_name, sql from duckdb_views() where database_name = ? and not internal "
        f"and schema_name in ({', '.join('?' for _ in schemas)}) order by all",
        [source, *schemas],
    ).fetchall()
    stale = warehouse.execute(
        "select schema_name, view_name from duckdb_views() where database_name = ? and not internal",
        [COPY_CATALOG],
    ).fetchall()
    for schema, view in stale:
        warehouse.execute(f"drop view {COPY_CATALOG}.{quote_identifier(schema)}.{quote_identifier(view)}")
    if not views:
        return
    warehouse.execute(f"use {COPY_CATALOG}")
    try:
        for _schema, _view, definition in views:
            warehouse.execute(definition)
    finally:
        warehouse.execute(f"use {quote_identifier(source)}")


def attach_read_only(path: Path, catalog: str = "snapshot") -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB instance with the file at ``path`` attached read-only as
    ``catalog`` (and made the default catalog), with external file access switched off.

    Not ``duckdb.connect(path, read_only=True)``: DuckDB's process-wide instance cache is keyed
    by *path*, so while any connection to an old file is open, ``connect(path)`` hands back the
    old database even after a new file was swapped in. A private instance has no such cache, and
    a read-only attach of a published snapshot never contends with the writer's lock.

    Raises:
        FileNotFoundError: no file at ``path``.
        duckdb.Error: the file cannot be read as a DuckDB database.
    """
    con = duckdb.connect(":memory:")
    try:
        # ATTACH takes no parameters; the path comes from settings, never from user input.
        con.execute(f"ATTACH {string_literal(str(path))} AS {catalog} (READ_ONLY)")
        con.execute(f"USE {catalog}")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except duckdb.IOException as exc:
        con.close()
        if not Path(path).exists():
            raise FileNotFoundError(str(path)) from exc
        raise
    except BaseException:
        con.close()
        raise
    return con

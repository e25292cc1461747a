"""DuckDB backend: the embedded warehouse file and its read-only snapshot.

DuckDB allows one writer process. The build writes ``WAREHOUSE_PATH``; readers (the
Streamlit app, ad-hoc BI, the alert retry sensor) open the *snapshot*, a copy published after
each completed build (:func:`publish_snapshot`): written beside the target and
``os.replace``-d over it, so a reader sees the previous or the new build, never a half-written
file, and a connection that is already open keeps reading the old file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from domain.warehouse.base import Replacement, Warehouse
from domain.warehouse.sql import PUBLISHED_LAYERS, TableNames, quote_identifier, string_literal


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
                    self.con.register("_replacement_batch", item.frame.to_arrow(compat_level=pl.CompatLevel.newest()))
                    self.con.execute(f"insert into {item.table} by name select * from _replacement_batch")
                    self.con.unregister("_replacement_batch")  # not after a failed insert: the aborted
                    # transaction would raise here and hide the insert's own error
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise

    def publish(self, run_id: str, built_at: datetime) -> dict[str, Any]:
        if self.snapshot_path is None:
            raise RuntimeError("this DuckDB connection has no snapshot path to publish to")
        publish_snapshot(
            self.con, self.snapshot_path, run_id, built_at, meta_schema=self.schema("meta"),
            schemas=[self.schema(layer) for layer in PUBLISHED_LAYERS],
        )  # fmt: skip
        return {"snapshot_path": str(self.snapshot_path), "size_mb": round(self.snapshot_path.stat().st_size / 1e6, 1)}


def publish_snapshot(
    warehouse: duckdb.DuckDBPyConnection,
    snapshot_path: Path,
    run_id: str,
    built_at: datetime,
    meta_schema: str = "meta",
    schemas: Sequence[str] | None = None,
) -> None:
    """Publish a copy of the connected warehouse at ``snapshot_path`` atomically.

    ``schemas``: the schemas readers get (every table of each, as a table; None: the whole
    database with DuckDB's ``COPY FROM DATABASE``). The product publishes what analysts, BI and
    the app read, :data:`~domain.warehouse.sql.PUBLISHED_LAYERS` (marts, portfolios, alerts):
    not the raw, staging and intermediate layers. The copy goes into a temporary file beside
    the target (so it holds only live data, not the free blocks a rebuilt DuckDB file keeps),
    gets ``<meta_schema>.build_info`` (one row: ``built_at`` TIMESTAMPTZ, ``run_id``; never
    written to the writer's file), is fsynced and then ``os.replace``-d over ``snapshot_path``.
    Temporary copies a killed earlier publish left beside the target are removed first. Nothing
    else may write the warehouse meanwhile (the last step of the build job).
    """
    snapshot_path.parent.mkdir(parents=True, exist_ok=True)
    for stale in snapshot_path.parent.glob(f".{snapshot_path.name}.*.tmp"):
        stale.unlink(missing_ok=True)  # left by a publish that was killed (one writer at a time)
    partial = snapshot_path.with_name(f".{snapshot_path.name}.{os.getpid()}.tmp")
    source = warehouse.execute("select current_database()").fetchone()[0]
    try:
        warehouse.execute(f"attach {string_literal(str(partial))} as _snapshot_copy")
        try:
            if schemas is None:
                warehouse.execute(f"copy from database {quote_identifier(source)} to _snapshot_copy")
            else:
                _copy_schemas(warehouse, source, schemas)
            info = f"_snapshot_copy.{meta_schema}.build_info"
            warehouse.execute(f"create schema if not exists _snapshot_copy.{meta_schema}")
            warehouse.execute(f"create or replace table {info} (built_at timestamptz, run_id varchar)")
            warehouse.execute(f"insert into {info} values (?, ?)", [built_at, run_id])
        finally:
            warehouse.execute("detach _snapshot_copy")
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, snapshot_path)
    finally:
        partial.unlink(missing_ok=True)


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

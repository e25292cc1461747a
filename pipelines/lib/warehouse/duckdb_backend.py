"""DuckDB backend: the embedded warehouse file and its read-only snapshot.

DuckDB allows one writer process. The build writes ``WAREHOUSE_PATH``; readers (the
Streamlit app, ad-hoc BI) open the *snapshot*, a copy published after each completed
build (:func:`publish_snapshot`): written beside the target and ``os.replace``-d over
it, so a reader sees the previous or the new build, never a half-written file, and a
connection that is already open keeps reading the old file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.lib.settings import get_settings
from pipelines.lib.warehouse.base import Replacement, Warehouse


class DuckDBWarehouse(Warehouse):
    """A :class:`Warehouse` over one DuckDB connection (``duckdb`` placeholders are ``?``)."""

    backend = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path):
        self.con = con
        self.path = path

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
                    self.con.register("_replacement_batch", item.frame.to_arrow())
                    self.con.execute(f"insert into {item.table} by name select * from _replacement_batch")
                    self.con.unregister("_replacement_batch")  # not after a failed insert: the aborted
                    # transaction would raise here and hide the insert's own error
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise

    def publish(self, run_id: str, built_at: datetime) -> dict[str, Any]:
        settings = get_settings()
        snapshot = settings.snapshot_path
        publish_snapshot(self.con, snapshot, run_id, built_at, meta_schema=settings.schema("meta"))
        return {"snapshot_path": str(snapshot), "size_mb": round(snapshot.stat().st_size / 1e6, 1)}


def publish_snapshot(
    warehouse: duckdb.DuckDBPyConnection,
    snapshot_path: Path,
    run_id: str,
    built_at: datetime,
    meta_schema: str = "meta",
) -> None:
    """Publish a copy of the connected warehouse at ``snapshot_path`` atomically.

    The copy is made with DuckDB's ``COPY FROM DATABASE`` into a temporary file beside the
    target (so it holds only live data, not the free blocks a rebuilt DuckDB file keeps),
    gets ``<meta_schema>.build_info`` (one row: ``built_at`` TIMESTAMPTZ, ``run_id``; never
    written to the writer's file), is fsynced and then ``os.replace``-d over ``snapshot_path``.
    Nothing else may write the warehouse meanwhile (the last step of the build job).
    """
    snapshot_path.parent.mkdir(parents=True, exist_ok=True)
    partial = snapshot_path.with_name(f".{snapshot_path.name}.{os.getpid()}.tmp")
    partial.unlink(missing_ok=True)
    source = warehouse.execute("select current_database()").fetchone()[0]
    literal = str(partial).replace("'", "''")
    try:
        warehouse.execute(f"attach '{literal}' as _snapshot_copy")
        try:
            warehouse.execute(f'copy from database "{source}" to _snapshot_copy')
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

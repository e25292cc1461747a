"""DuckDB warehouse helpers shared by the source folders: atomic row replacement and
the read-only snapshot the app reads.

DuckDB allows one writer process. The build writes ``WAREHOUSE_PATH``; readers (the
Streamlit app, ad-hoc BI) open the *snapshot*, a copy published after each completed
build with :func:`publish_snapshot`: the copy is written beside the target and
``os.replace``-d over it, so a reader sees either the previous or the new build, never a
half-written file, and a connection that is already open keeps reading the old file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import polars as pl


@dataclass(frozen=True)
class Replacement:
    """Rows of ``table`` matching ``delete_where`` (with ``params``) are replaced by ``frame``."""

    table: str
    frame: pl.DataFrame
    delete_where: str = "true"
    params: Sequence[Any] = ()


def replace_rows(con: duckdb.DuckDBPyConnection, replacements: Sequence[Replacement]) -> None:
    """Apply all replacements in ONE transaction: delete the matching rows, insert the frames.

    Frames are inserted by column name. On any error everything is rolled back, so a
    partition is never half written and a rerun leaves identical rows (idempotent).
    """
    con.begin()
    try:
        for item in replacements:
            con.execute(f"delete from {item.table} where {item.delete_where}", list(item.params))
            if item.frame.height:
                con.register("_replacement_batch", item.frame.to_arrow())
                try:
                    con.execute(f"insert into {item.table} by name select * from _replacement_batch")
                finally:
                    con.unregister("_replacement_batch")
        con.commit()
    except BaseException:
        con.rollback()
        raise


def table_row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """``count(*)`` of a table."""
    return int(con.execute(f"select count(*) from {table}").fetchone()[0])


def publish_snapshot(
    warehouse: duckdb.DuckDBPyConnection, warehouse_path: Path, snapshot_path: Path, run_id: str
) -> datetime:
    """Publish a copy of the warehouse at ``snapshot_path`` atomically, stamped with ``meta.build_info``.

    ``warehouse`` is a connection to ``warehouse_path``. The copy is made with DuckDB's
    ``COPY FROM DATABASE`` into a temporary file beside the target (so it holds only live
    data, not the free blocks a rebuilt DuckDB file keeps), gets ``meta.build_info`` (one
    row: ``built_at`` TIMESTAMPTZ in UTC, ``run_id``; never written to the writer's file),
    is fsynced and then ``os.replace``-d over ``snapshot_path``. Nothing else may write the
    warehouse meanwhile (this is the last step of the build job). Returns ``built_at``.
    """
    built_at = datetime.now(timezone.utc)
    snapshot_path.parent.mkdir(parents=True, exist_ok=True)
    partial = snapshot_path.with_name(f".{snapshot_path.name}.{os.getpid()}.tmp")
    partial.unlink(missing_ok=True)
    source = warehouse.execute("select current_database()").fetchone()[0]
    literal = str(partial).replace("'", "''")
    try:
        warehouse.execute(f"attach '{literal}' as _snapshot_copy")
        try:
            warehouse.execute(f'copy from database "{source}" to _snapshot_copy')
            warehouse.execute("create schema if not exists _snapshot_copy.meta")
            warehouse.execute(
                "create or replace table _snapshot_copy.meta.build_info (built_at timestamptz, run_id varchar)"
            )
            warehouse.execute("insert into _snapshot_copy.meta.build_info values (?, ?)", [built_at, run_id])
        finally:
            warehouse.execute("detach _snapshot_copy")
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, snapshot_path)
    finally:
        partial.unlink(missing_ok=True)
    return built_at

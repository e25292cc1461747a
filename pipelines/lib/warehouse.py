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
import shutil
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
    """Copy the warehouse to ``snapshot_path`` atomically and stamp it with ``meta.build_info``.

    ``warehouse`` is a connection to ``warehouse_path``, used to checkpoint (flush the WAL)
    before the file is copied. ``meta.build_info`` (one row: ``built_at`` TIMESTAMPTZ in UTC,
    ``run_id``) is written into the copy, never into the writer's file. Nothing else may
    write ``warehouse_path`` meanwhile (this is the last step of the build job).
    Returns ``built_at``.
    """
    built_at = datetime.now(timezone.utc)
    snapshot_path.parent.mkdir(parents=True, exist_ok=True)
    warehouse.execute("force checkpoint")
    partial = snapshot_path.with_name(f".{snapshot_path.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(warehouse_path, partial)
        with duckdb.connect(str(partial)) as con:
            con.execute("create schema if not exists meta")
            con.execute("create or replace table meta.build_info (built_at timestamptz, run_id varchar)")
            con.execute("insert into meta.build_info values (?, ?)", [built_at, run_id])
            con.execute("checkpoint")
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, snapshot_path)
    finally:
        partial.unlink(missing_ok=True)
    return built_at

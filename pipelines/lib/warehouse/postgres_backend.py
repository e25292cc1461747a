"""PostgreSQL backend (shared deployment): psycopg 3, ``COPY ... FROM STDIN`` loads.

Frames are sent as CSV through ``COPY`` (empty unquoted field = NULL), inside the same
transaction as the delete, so a partition is replaced atomically. Readers need no
snapshot: dbt replaces tables transactionally, and :meth:`PostgresWarehouse.publish`
records the completed build in ``<prefix>meta.build_info``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl
import psycopg

from pipelines.lib.settings import get_settings
from pipelines.lib.warehouse.base import Replacement, Warehouse


def to_pyformat(sql: str) -> str:
    """``?`` placeholders to psycopg's ``%s`` (our SQL has no literal ``%`` or ``?``)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresWarehouse(Warehouse):
    """A :class:`Warehouse` over one psycopg connection (autocommit outside ``replace_rows``)."""

    backend = "postgres"

    def __init__(self, con: psycopg.Connection):
        self.con = con

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.con.execute(to_pyformat(sql), list(params))

    def fetch_frame(self, sql: str, params: Sequence[Any] = ()) -> pl.DataFrame:
        with self.con.cursor() as cursor:
            cursor.execute(to_pyformat(sql), list(params))
            columns = [d.name for d in cursor.description]
            rows = cursor.fetchall()
        return pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)

    def replace_rows(self, replacements: Sequence[Replacement]) -> None:
        with self.con.transaction(), self.con.cursor() as cursor:
            for item in replacements:
                cursor.execute(to_pyformat(f"delete from {item.table} where {item.delete_where}"), list(item.params))
                if item.frame.height:
                    copy_frame(cursor, item.table, item.frame)

    def publish(self, run_id: str, built_at: datetime) -> dict[str, Any]:
        meta = get_settings().schema("meta")
        with self.con.transaction():
            self.con.execute(f"create schema if not exists {meta}")
            self.con.execute(f"create table if not exists {meta}.build_info (built_at timestamptz, run_id text)")
            self.con.execute(f"delete from {meta}.build_info")
            self.con.execute(f"insert into {meta}.build_info values (%s, %s)", [built_at, run_id])
        return {"build_info_table": f"{meta}.build_info"}


def copy_frame(cursor: psycopg.Cursor, table: str, frame: pl.DataFrame) -> None:
    """``COPY table (columns) FROM STDIN`` the rows of ``frame`` (CSV, empty field = NULL)."""
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    with cursor.copy(f"copy {table} ({columns}) from stdin (format csv)") as copy:
        copy.write(frame.write_csv(include_header=False, datetime_format="%Y-%m-%d %H:%M:%S%.f"))

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
import psycopg.sql

from domain.settings import PostgresConnection
from domain.warehouse.base import Replacement, Warehouse
from domain.warehouse.sql import (
    APP_READER_ROLE,
    BI_READER_ROLE,
    PUBLISHED_LAYERS,
    TableNames,
    quote_identifier,
    to_pyformat,
)


def conninfo(connection: PostgresConnection) -> str:
    """The libpq connection string of ``connection`` (psycopg quotes the values)."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(
        host=connection.host,
        port=connection.port,
        user=connection.user,
        dbname=connection.dbname,
        password=connection.password or None,
    )


def connect_database(connection: PostgresConnection, **options: Any) -> psycopg.Connection:
    """A psycopg connection (autocommit) to ``connection``; ``options`` go to ``psycopg.connect``.

    Raises:
        psycopg.OperationalError: the server cannot be reached or refuses the login.
    """
    return psycopg.connect(conninfo(connection), autocommit=True, **options)


class PostgresWarehouse(Warehouse):
    """A :class:`Warehouse` over one psycopg connection (autocommit outside ``replace_rows``)."""

    backend = "postgres"

    def __init__(self, con: psycopg.Connection, names: TableNames):
        super().__init__(names)
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
        # planner statistics right after a bulk write (as dbt's post-hook does for models): a
        # freshly loaded table without them gets row estimates of ~100, and the price load's
        # completeness query a nested loop over millions of rows (169 s instead of 7 s measured
        # for the 2.4 M KRX rows)
        for table in dict.fromkeys(item.table for item in replacements if item.frame.height):
            self.con.execute(f"analyze {table}")

    def set_role_password(self, role: str, password: str) -> None:
        """See :func:`set_role_password`."""
        set_role_password(self.con, role, password)

    def publish(self, run_id: str, built_at: datetime) -> dict[str, Any]:
        info = self.table("meta", "build_info")
        with self.con.transaction():
            self.execute(f"create schema if not exists {quote_identifier(self.schema('meta'))}")
            self.execute(f"create table if not exists {info} (built_at timestamptz, run_id text)")
            self.execute(f"delete from {info}")
            self.execute(f"insert into {info} values (?, ?)", [built_at, run_id])
            granted = grant_reader_schemas(self.con, self.names, ("alerts", "backtests", "meta"))
        return {"build_info_table": info, "reader_grants": granted}


#: What each read-only role may read (layers; dbt's on-run-end hook ``grant_bi_reader`` applies
#: the same to the dbt schemas, :func:`grant_reader_schemas` to the ones the pipelines create).
READ_GRANTS = {BI_READER_ROLE: ("marts", "meta"), APP_READER_ROLE: (*PUBLISHED_LAYERS, "meta")}


def grant_reader_schemas(con: psycopg.Connection, names: TableNames, layers: Sequence[str]) -> list[str]:
    """USAGE and SELECT (now and on future tables) on the schemas of ``layers`` to each existing
    read-only role that :data:`READ_GRANTS` lets read them; returns ``role: schema`` granted.
    For the schemas the pipelines create after dbt's hook ran (``alerts``, ``backtests``, ``meta``
    on a first build)."""
    granted = []
    for role, readable in READ_GRANTS.items():
        if not con.execute("select 1 from pg_catalog.pg_roles where rolname = %s", [role]).fetchone():
            continue
        for layer in layers:
            schema = names.schema(layer)
            exists = con.execute("select 1 from pg_catalog.pg_namespace where nspname = %s", [schema]).fetchone()
            if layer not in readable or not exists:
                continue
            ident = {"schema": psycopg.sql.Identifier(schema), "role": psycopg.sql.Identifier(role)}
            for statement in (
                "grant usage on schema {schema} to {role}",
                "grant select on all tables in schema {schema} to {role}",
                "alter default privileges in schema {schema} grant select on tables to {role}",
            ):
                con.execute(psycopg.sql.SQL(statement).format(**ident))
            granted.append(f"{role}: {schema}")
    return granted


def set_role_password(con: psycopg.Connection, role: str, password: str) -> None:
    """Give the existing ``role`` the password ``password`` without the secret reaching the server:
    its SCRAM-SHA-256 verifier is computed here (libpq's ``PQencryptPasswordConn``, as psql's
    ``\\password`` does) and only the verifier is sent, so no statement text, server log or
    ``pg_stat_activity`` row holds the password.

    Raises:
        psycopg.errors.UndefinedObject: the role does not exist.
    """
    verifier = con.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()
    statement = psycopg.sql.SQL("alter role {} with password {}").format(
        psycopg.sql.Identifier(role), psycopg.sql.Literal(verifier)
    )
    with con.transaction():
        con.execute(statement)


def copy_frame(cursor: psycopg.Cursor, table: str, frame: pl.DataFrame) -> None:
    """``COPY table (columns) FROM STDIN`` the rows of ``frame`` (CSV, empty field = NULL)."""
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    with cursor.copy(f"copy {table} ({columns}) from stdin (format csv)") as copy:
        copy.write(frame.write_csv(include_header=False, datetime_format="%Y-%m-%d %H:%M:%S%.f"))

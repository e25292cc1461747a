"""Read-only access for the app and BI-style reads: the DuckDB snapshot or the PostgreSQL database.

Callers pass SQL with ``?`` placeholders plus a parameter list and get pandas DataFrames back,
with the same dtypes on both backends (DuckDB's ``fetch_df`` conventions, see
:mod:`domain.warehouse.pg_frames`). Table names come from :meth:`Reader.table` (the configured
schema prefix); user input only ever travels as bound parameters.

DuckDB: the snapshot file
    The read-only copy the build publishes by ``os.replace``-ing a new file over the old one;
    the writer's own file is never opened. Each snapshot file is attached read-only into a
    private in-memory instance (:func:`~domain.warehouse.duckdb_backend.attach_read_only`). The
    open instance is cached per path and keyed by the file's identity (device, inode,
    ``mtime_ns``): every query ``stat``s the path; when a new file has been swapped in, a new
    instance is opened for it and the old one is closed as soon as the queries still running on
    it have finished (an open handle keeps reading the old inode, so they finish on consistent
    data). Each query runs on its own cursor, so sessions in different threads query
    concurrently.

PostgreSQL: the live database
    dbt replaces each mart table atomically and the build writes ``<prefix>meta.build_info`` at
    the end of each completed build, so readers keep working during a build. A missing
    ``build_info`` table means "not built yet" (:class:`WarehouseNotBuiltError`). Connections
    come from a ``psycopg_pool.ConnectionPool`` (per connection string) and are read-only
    autocommit sessions (``default_transaction_read_only``, ``statement_timeout``), so no reader
    sits idle in a transaction holding locks that would stall dbt's table swap. A query that
    fails because its connection broke, or because a table was replaced under a prepared
    statement, is retried once on another connection.

Longer than ~300 lines because the two readers share the interface, the errors and the frame
conventions the pages rely on; the DuckDB half is mostly the snapshot-swap bookkeeping.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pandas as pd
import psycopg
from psycopg.types.numeric import FloatLoader
from psycopg_pool import ConnectionPool

from domain.settings import PostgresConnection, Settings
from domain.warehouse.duckdb_backend import attach_read_only
from domain.warehouse.pg_frames import frame_from_cursor
from domain.warehouse.postgres_backend import conninfo
from domain.warehouse.sql import Dialect, TableNames, text_order, to_pyformat

#: Catalog name the snapshot file is attached under; queries use ``schema.table``.
SNAPSHOT_CATALOG = "snapshot"

#: Errors a read can raise when the database is there but cannot be read.
DATABASE_ERRORS: tuple[type[Exception], ...] = (duckdb.Error, psycopg.Error)

#: Session settings of every read connection (sent at connection start).
PG_SESSION_OPTIONS = "-c default_transaction_read_only=on -c statement_timeout=30s -c lock_timeout=30s"
PG_CONNECT_TIMEOUT_S = 10
PG_POOL_MAX = 8


class WarehouseNotBuiltError(Exception):
    """The warehouse has not been built yet (``make build``): no snapshot, or no ``meta.build_info``."""


class SnapshotMissingError(WarehouseNotBuiltError, FileNotFoundError):
    """DuckDB: no snapshot file exists yet."""


class BuildInfoMissingError(WarehouseNotBuiltError):
    """PostgreSQL: the ``<prefix>meta.build_info`` table (or its schema) does not exist yet."""


@dataclass(frozen=True)
class SnapshotIdentity:
    """Identity of one snapshot file: a swapped-in file has a new inode (and mtime)."""

    path: Path
    device: int
    inode: int
    mtime_ns: int


@dataclass(frozen=True)
class BuildInfo:
    """Row of ``meta.build_info``: ``built_at`` (tz-aware, UTC) and the build's ``run_id``."""

    built_at: datetime
    run_id: str


class Reader(Protocol):
    """What the app's page queries need from a backend."""

    backend: Dialect
    names: TableNames

    def table(self, layer: str, name: str) -> str:
        """Qualified name of a warehouse table (configured schema prefix)."""
        ...

    def text_order(self, column: str) -> str:
        """A sort key that orders text by code point on this backend."""
        ...

    def describe(self) -> str:
        """Where the data is, for messages (never includes a password)."""
        ...

    def is_built(self) -> bool:
        """Whether there is a completed build to read."""
        ...

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """One read-only statement with ``?`` placeholders."""
        ...

    def build_info(self) -> BuildInfo | None:
        """The ``meta.build_info`` row (:class:`WarehouseNotBuiltError` if there is no build)."""
        ...


class _ReaderBase:
    backend: Dialect

    def __init__(self, names: TableNames) -> None:
        self.names = names

    def table(self, layer: str, name: str) -> str:
        return self.names.table(layer, name)

    def text_order(self, column: str) -> str:
        return text_order(column, self.backend)


# --------------------------------------------------------------------------- DuckDB snapshot


def snapshot_identity(path: Path) -> SnapshotIdentity:
    """``stat`` the snapshot now; raises :class:`SnapshotMissingError` if there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise SnapshotMissingError(str(path)) from exc
    return SnapshotIdentity(path=Path(path), device=st.st_dev, inode=st.st_ino, mtime_ns=st.st_mtime_ns)


class _OpenSnapshot:
    """One snapshot file attached read-only in a private in-memory DuckDB instance."""

    def __init__(self, identity: SnapshotIdentity) -> None:
        self.identity = identity
        self.users = 0
        self.retired = False
        try:
            self.con = attach_read_only(identity.path, catalog=SNAPSHOT_CATALOG)
        except FileNotFoundError as exc:
            raise SnapshotMissingError(str(identity.path)) from exc

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = self.con.cursor()
        cur.execute(f"USE {SNAPSHOT_CATALOG}")
        return cur

    def close(self) -> None:
        self.con.close()


_lock = threading.Lock()
_open: dict[Path, _OpenSnapshot] = {}


def _open_current(path: Path) -> _OpenSnapshot:
    """Open the file now at ``path``, making sure its identity did not change meanwhile."""
    for _ in range(5):
        before = snapshot_identity(path)
        handle = _OpenSnapshot(before)
        if snapshot_identity(path) == before:
            return handle
        handle.close()  # swapped while attaching: try again with the newer file
    return _OpenSnapshot(snapshot_identity(path))


def _release(handle: _OpenSnapshot) -> None:
    # caller holds _lock
    handle.users -= 1
    if handle.retired and handle.users == 0:
        handle.close()


@contextmanager
def _snapshot_cursor(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on the current snapshot file, opening it (again) if it was swapped."""
    identity = snapshot_identity(path)
    with _lock:
        handle = _open.get(path)
        if handle is None or handle.identity != identity:
            fresh = _open_current(path)
            if handle is not None:
                handle.retired = True
                if handle.users == 0:
                    handle.close()
            _open[path] = handle = fresh
        handle.users += 1
        try:
            cur = handle.cursor()
        except BaseException:
            _release(handle)
            raise
    try:
        yield cur
    finally:
        cur.close()
        with _lock:
            _release(handle)


def current_identity(path: Path) -> SnapshotIdentity | None:
    """Identity of the snapshot instance currently cached for ``path`` (None if none)."""
    with _lock:
        handle = _open.get(Path(path))
        return handle.identity if handle is not None else None


class DuckDBSnapshotReader(_ReaderBase):
    """Reads the published DuckDB snapshot file at ``path``."""

    backend: Dialect = "duckdb"

    def __init__(self, path: Path, names: TableNames = TableNames()) -> None:
        super().__init__(names)
        self.path = Path(path)

    def describe(self) -> str:
        return f"the warehouse snapshot `{self.path}`"

    def is_built(self) -> bool:
        try:
            snapshot_identity(self.path)
        except SnapshotMissingError:
            return False
        return True

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        with _snapshot_cursor(self.path) as cur:
            return cur.execute(sql, list(params) if params else None).fetch_df()

    def build_info(self) -> BuildInfo | None:
        # epoch microseconds: converting TIMESTAMPTZ to pandas is slower and warns under pandas 3
        frame = self.query(
            f"SELECT epoch_us(built_at) AS built_at_us, run_id FROM {self.table('meta', 'build_info')} "
            "ORDER BY built_at DESC NULLS LAST LIMIT 1"
        )
        if frame.empty or pd.isna(frame.at[0, "built_at_us"]):
            return None
        built_at = datetime.fromtimestamp(0, tz=UTC) + timedelta(microseconds=int(frame.at[0, "built_at_us"]))
        return BuildInfo(built_at=built_at, run_id=str(frame.at[0, "run_id"]))


# --------------------------------------------------------------------------- PostgreSQL


def _configure(conn: psycopg.Connection) -> None:
    conn.read_only = True  # explicit transactions too (autocommit ones use the session default)
    conn.adapters.register_loader("numeric", FloatLoader)  # numerics as float, like DuckDB's DOUBLE


_pools_lock = threading.Lock()
_pools: dict[str, ConnectionPool] = {}


_CONNECT_KWARGS = {
    "autocommit": True,
    "connect_timeout": PG_CONNECT_TIMEOUT_S,
    "application_name": "stock-screener-app",
    "options": PG_SESSION_OPTIONS,
}


def _pool(info: str) -> ConnectionPool:
    """The pool of ``info``, made on first use. A server that cannot be reached (or refuses the
    login) raises at once, from a direct first connection, instead of the pool retrying in the
    background until its timeout; the pool is then not kept."""
    with _pools_lock:
        pool = _pools.get(info)
        if pool is None:
            psycopg.connect(info, **_CONNECT_KWARGS).close()
            pool = ConnectionPool(
                info,
                min_size=0,
                max_size=PG_POOL_MAX,
                timeout=PG_CONNECT_TIMEOUT_S,
                kwargs=_CONNECT_KWARGS,
                configure=_configure,
                check=ConnectionPool.check_connection,
                name="warehouse-readers",
                open=True,
            )
            _pools[info] = pool
        return pool


def _retryable(exc: psycopg.Error, conn: psycopg.Connection) -> bool:
    """Whether a failed read may be retried once on another connection."""
    if conn.closed or conn.broken:  # the connection died (server restart, dropped idle connection)
        return True
    # a table replaced by a build under a statement psycopg had prepared with other columns
    return isinstance(exc, psycopg.errors.FeatureNotSupported) and "cached plan" in str(exc)


class PostgresReader(_ReaderBase):
    """Reads the PostgreSQL warehouse (``WAREHOUSE_URL``), read-only, through a connection pool."""

    backend: Dialect = "postgres"

    def __init__(self, connection: PostgresConnection, names: TableNames = TableNames()) -> None:
        super().__init__(names)
        self.connection = connection
        self.conninfo = conninfo(connection)

    def describe(self) -> str:
        c = self.connection
        return f"the PostgreSQL database `{c.dbname}` on `{c.host}:{c.port}`"

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        pool = _pool(self.conninfo)
        statement = to_pyformat(sql)
        values = list(params) if params else []
        for attempt in (1, 2):
            with pool.connection() as conn:
                try:
                    with conn.cursor() as cur:
                        cur.execute(statement, values)
                        return frame_from_cursor(cur)
                except psycopg.Error as exc:
                    if attempt == 2 or not _retryable(exc, conn):
                        raise
                    conn.close()  # the pool discards a closed connection
            pool.check()  # drop the other idle connections that died with it
        raise AssertionError("unreachable")

    def build_info(self) -> BuildInfo | None:
        info = self.table("meta", "build_info")
        try:
            frame = self.query(f"SELECT built_at, run_id FROM {info} ORDER BY built_at DESC NULLS LAST LIMIT 1")
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName) as exc:
            raise BuildInfoMissingError(f"{info} in {self.describe()}") from exc
        if frame.empty or pd.isna(frame.at[0, "built_at"]):
            return None
        built_at = frame.at[0, "built_at"].to_pydatetime().astimezone(UTC)
        return BuildInfo(built_at=built_at, run_id=str(frame.at[0, "run_id"]))

    def is_built(self) -> bool:
        try:
            self.build_info()
        except BuildInfoMissingError:
            return False
        return True


# --------------------------------------------------------------------------- choice


def open_reader(settings: Settings) -> Reader:
    """The reader ``settings`` select: PostgreSQL with ``WAREHOUSE_URL`` (connected as
    ``APP_WAREHOUSE_URL``'s role ``app_reader`` when set), else the DuckDB snapshot.

    Cheap: the open snapshot instances and the connection pools are shared by every reader of
    the same file or database in this process.
    """
    names = TableNames(settings.schema_prefix)
    if settings.app_postgres is not None:
        return PostgresReader(settings.app_postgres, names)
    return DuckDBSnapshotReader(settings.snapshot_path, names)


def snapshot_reader(path: Path, schema_prefix: str = "") -> DuckDBSnapshotReader:
    """A reader of the DuckDB snapshot file at ``path`` (tests, benchmarks)."""
    return DuckDBSnapshotReader(Path(path), TableNames(schema_prefix))


def pool_stats() -> dict[str, dict[str, int]]:
    """``psycopg_pool`` statistics per pool (connection string without password)."""
    with _pools_lock:
        pools = dict(_pools)
    return {pool.name + f"#{i}": pool.get_stats() for i, pool in enumerate(pools.values())}


def close_all() -> None:
    """Close every cached snapshot instance and connection pool (tests, shutdown). Safe any time."""
    with _lock:
        for handle in _open.values():
            handle.retired = True
            if handle.users == 0:
                handle.close()
        _open.clear()
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()

"""Read-only access to the warehouse: the DuckDB snapshot or the PostgreSQL database.

This is the only module of the app that talks to a database. Callers pass SQL
with ``?`` placeholders plus a parameter list and get pandas DataFrames back,
with the same dtypes on both backends (DuckDB's ``fetch_df`` conventions):
floating and ``numeric`` columns as ``float64``, integers as ``int64``
(``Int64`` if the result has NULLs), booleans as ``bool`` (``boolean`` with
NULLs), dates as ``datetime64[us]``, text as pandas strings.

Which backend
    ``get_settings().backend``: ``"postgres"`` when ``WAREHOUSE_URL`` is set,
    else ``"duckdb"``. Every table name is built with :func:`table` from
    ``get_settings().schema(layer)`` (``WAREHOUSE_SCHEMA_PREFIX``), so schema
    names come from configuration only; user input always travels as bound
    parameters. Passing ``path=`` to a read function reads that DuckDB snapshot
    file whatever the settings say (tests, benchmarks).

DuckDB: the snapshot file
    ``get_settings().snapshot_path`` (env ``WAREHOUSE_SNAPSHOT_PATH``), the
    read-only copy the build publishes after each completed run by
    ``os.replace``-ing a new file over the old one. The writer's own
    ``WAREHOUSE_PATH`` is never opened.

    Each snapshot file is attached read-only (``ATTACH ... (READ_ONLY)``) into a
    private in-memory DuckDB instance, and external file access is then switched
    off for that instance. The file is not opened with
    ``duckdb.connect(path, read_only=True)`` on purpose: DuckDB's process-wide
    instance cache is keyed by *path*, so while any connection to the old file is
    still open, ``duckdb.connect(path)`` hands back the old database even after a
    new file was swapped in. A private instance per file has no such cache.

    The open instance is cached per snapshot path and keyed by the file's
    identity (device, inode, ``mtime_ns``). Every query ``stat``s the path; when a
    new file has been swapped in, a new instance is opened for it and the old one
    is closed as soon as the queries still running on it have finished (an open
    handle keeps reading the old inode, so they finish on consistent data).
    Each query runs on its own cursor, so Streamlit sessions in different threads
    can query concurrently.

PostgreSQL: the live database
    There is no snapshot file: dbt replaces each mart table atomically (create
    ``__dbt_tmp``, rename, commit), and the build writes the one row of
    ``<prefix>meta.build_info`` at the end of each completed build, so readers
    keep working during a build. A missing ``build_info`` table (or schema) means
    "not built yet" (:class:`WarehouseNotBuiltError`).

    Connections (psycopg 3) are read-only sessions: ``default_transaction_read_only``
    is set at connection start (and ``read_only`` on the connection), with a
    ``statement_timeout``. They run in autocommit mode, so no reader ever sits
    idle in a transaction holding locks that would stall dbt's table swap. A
    small cache of idle connections per connection string (psycopg_pool is not a
    dependency) gives each query a connection of its own, so concurrent sessions
    do not queue behind one another. A query that fails because its connection
    broke (server restart, idle connection dropped), or because a table was
    replaced under a prepared statement, is retried once on a new connection.
    ``?`` placeholders are converted to psycopg's ``%s`` (see :func:`to_pyformat`).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal, Protocol

import duckdb
import numpy as np
import pandas as pd
import psycopg
from psycopg.pq import TransactionStatus
from psycopg.types.numeric import FloatLoader

from dashboards.lib import screens
from pipelines.lib.settings import PostgresConnection, get_settings

#: Catalog name the snapshot file is attached under; queries use ``schema.table``.
_CATALOG = "snapshot"

#: Errors a read can raise when the database is there but cannot be read.
DATABASE_ERRORS: tuple[type[Exception], ...] = (duckdb.Error, psycopg.Error)


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


# --------------------------------------------------------------------------- names

_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def _identifier(name: str) -> str:
    """``name`` as an SQL identifier: plain if it is one, else double-quoted (quotes doubled)."""
    if not name or "\x00" in name:
        raise ValueError(f"invalid SQL identifier {name!r}")
    return name if _PLAIN_IDENTIFIER.fullmatch(name) else '"' + name.replace('"', '""') + '"'


def table(layer: str, name: str) -> str:
    """``schema.table`` of a warehouse table; the schema of ``layer`` comes from settings.

    ``table("marts", "dim_companies")`` is ``marts.dim_companies``, or
    ``t_marts.dim_companies`` with ``WAREHOUSE_SCHEMA_PREFIX=t_``.
    """
    return f"{_identifier(get_settings().schema(layer))}.{_identifier(name)}"


# --------------------------------------------------------------------------- DuckDB snapshot


def snapshot_path() -> Path:
    """Absolute path of the snapshot the app reads on DuckDB (from settings)."""
    return get_settings().snapshot_path


def snapshot_identity(path: Path | None = None) -> SnapshotIdentity:
    """``stat`` the snapshot now; raises :class:`SnapshotMissingError` if there is none."""
    path = Path(path) if path is not None else snapshot_path()
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise SnapshotMissingError(str(path)) from exc
    return SnapshotIdentity(path=path, device=st.st_dev, inode=st.st_ino, mtime_ns=st.st_mtime_ns)


def snapshot_exists(path: Path | None = None) -> bool:
    """Whether a snapshot file is present."""
    try:
        snapshot_identity(path)
    except SnapshotMissingError:
        return False
    return True


class _OpenSnapshot:
    """One snapshot file attached read-only in a private in-memory DuckDB instance."""

    def __init__(self, identity: SnapshotIdentity) -> None:
        self.identity = identity
        self.users = 0
        self.retired = False
        con = duckdb.connect(":memory:")
        try:
            # The path is bound as a literal (ATTACH takes no parameters); it comes from
            # settings, never from user input, and quotes are escaped anyway.
            literal = str(identity.path).replace("'", "''")
            con.execute(f"ATTACH '{literal}' AS {_CATALOG} (READ_ONLY)")
            con.execute(f"USE {_CATALOG}")
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        except duckdb.IOException as exc:
            con.close()
            if not identity.path.exists():
                raise SnapshotMissingError(str(identity.path)) from exc
            raise
        except BaseException:
            con.close()
            raise
        self.con = con

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = self.con.cursor()
        cur.execute(f"USE {_CATALOG}")
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
def _cursor(path: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on the current snapshot file, opening it (again) if it was swapped."""
    path = Path(path) if path is not None else snapshot_path()
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


def current_identity(path: Path | None = None) -> SnapshotIdentity | None:
    """Identity of the snapshot instance currently cached for ``path`` (None if none)."""
    path = Path(path) if path is not None else snapshot_path()
    with _lock:
        handle = _open.get(path)
        return handle.identity if handle is not None else None


class DuckDBSnapshotBackend:
    """Reads the published DuckDB snapshot file at ``path``."""

    name: Literal["duckdb"] = "duckdb"
    dialect: screens.Dialect = "duckdb"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def describe(self) -> str:
        return f"the warehouse snapshot `{self.path}`"

    def is_built(self) -> bool:
        return snapshot_exists(self.path)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        with _cursor(self.path) as cur:
            return cur.execute(sql, list(params) if params else None).fetch_df()

    def build_info(self) -> BuildInfo | None:
        # epoch microseconds: converting TIMESTAMPTZ to pandas is slower and warns under pandas 3
        frame = self.query(
            f"SELECT epoch_us(built_at) AS built_at_us, run_id FROM {table('meta', 'build_info')} "
            "ORDER BY built_at DESC NULLS LAST LIMIT 1"
        )
        if frame.empty or pd.isna(frame.at[0, "built_at_us"]):
            return None
        built_at = datetime.fromtimestamp(0, tz=timezone.utc) + timedelta(microseconds=int(frame.at[0, "built_at_us"]))
        return BuildInfo(built_at=built_at, run_id=str(frame.at[0, "run_id"]))


# --------------------------------------------------------------------------- PostgreSQL

#: Session settings of every app connection (sent at connection start).
PG_SESSION_OPTIONS = "-c default_transaction_read_only=on -c statement_timeout=30s -c lock_timeout=30s"
PG_CONNECT_TIMEOUT_S = 10
PG_MAX_IDLE = 8

_PG_PLACEHOLDER_TOKENS = re.compile(
    r"""
      '(?:[^']|'')*'                      # string literal ('' escapes a quote)
    | "(?:[^"]|"")*"                      # quoted identifier
    | --[^\n]*                            # line comment
    | /\*.*?\*/                           # block comment
    | \$(?P<tag>[A-Za-z_][A-Za-z0-9_]*)?\$.*?\$(?P=tag)?\$   # dollar-quoted string
    | [?%]
    """,
    re.VERBOSE | re.DOTALL,
)


def to_pyformat(sql: str) -> str:
    """Convert DuckDB-style ``?`` placeholders to psycopg's ``%s``.

    A ``?`` inside a string literal, quoted identifier, comment or dollar-quoted
    string is left alone; every literal ``%`` (anywhere: psycopg scans the whole
    text) is doubled to ``%%``. ``E'...'`` strings with backslash-escaped quotes
    are not supported (the app does not use them).
    """

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        return token.replace("%", "%%")

    return _PG_PLACEHOLDER_TOKENS.sub(replace, sql)


def _pg_oids(*names: str) -> frozenset[int]:
    return frozenset(psycopg.postgres.types[n].oid for n in names)


_PG_FLOAT = _pg_oids("float4", "float8", "numeric")
_PG_INT = _pg_oids("int2", "int4", "int8", "oid")
_PG_BOOL = _pg_oids("bool")
_PG_DATE = _pg_oids("date")
_PG_TIMESTAMP = _pg_oids("timestamp")
_PG_TIMESTAMPTZ = _pg_oids("timestamptz")
_PG_TEXT = _pg_oids("text", "varchar", "bpchar", "name")


def _pg_column(values: Sequence[Any], oid: int) -> Any:
    """One result column as the array DuckDB's ``fetch_df`` would give for that type."""
    has_null = any(v is None for v in values)
    if oid in _PG_FLOAT:  # numeric arrives as float (FloatLoader)
        return np.array(values, dtype="float64")
    if oid in _PG_INT:
        return pd.array(values, dtype="Int64") if has_null else np.array(values, dtype="int64")
    if oid in _PG_BOOL:
        return pd.array(values, dtype="boolean") if has_null else np.array(values, dtype="bool")
    if oid in _PG_DATE:
        return np.array(values, dtype="datetime64[D]").astype("datetime64[us]")
    if oid in _PG_TIMESTAMP:
        return np.array(values, dtype="datetime64[us]")
    if oid in _PG_TIMESTAMPTZ:
        return pd.to_datetime(pd.Series(values, dtype=object), utc=True).dt.as_unit("us").array
    if oid in _PG_TEXT:
        return pd.Series(list(values)).array if values else np.array([], dtype=object)
    return np.array(values, dtype=object)


def _pg_frame(cur: psycopg.Cursor) -> pd.DataFrame:
    """The cursor's result as a DataFrame with DuckDB's dtypes (see module doc)."""
    description = cur.description or []
    rows = cur.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in description]
    data = {i: _pg_column(values, d.type_code) for i, (d, values) in enumerate(zip(description, columns, strict=True))}
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
    frame.columns = [d.name for d in description]
    return frame


def _pg_connect(conninfo: str) -> psycopg.Connection:
    conn = psycopg.connect(
        conninfo,
        autocommit=True,
        connect_timeout=PG_CONNECT_TIMEOUT_S,
        application_name="stock-screener-app",
        options=PG_SESSION_OPTIONS,
    )
    conn.read_only = True  # explicit transactions too (autocommit ones use the session default)
    conn.adapters.register_loader("numeric", FloatLoader)  # numerics as float, like DuckDB's DOUBLE
    return conn


def _usable(conn: psycopg.Connection) -> bool:
    return not conn.closed and not conn.broken and conn.info.transaction_status == TransactionStatus.IDLE


class _ConnectionCache:
    """Idle read-only connections to one database: each query borrows one, opening one if none is idle."""

    def __init__(self, conninfo: str, max_idle: int = PG_MAX_IDLE) -> None:
        self.conninfo = conninfo
        self.max_idle = max_idle
        self._idle: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def acquire(self) -> psycopg.Connection:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return _pg_connect(self.conninfo)
            if _usable(conn):
                return conn
            conn.close()

    def release(self, conn: psycopg.Connection) -> None:
        if _usable(conn):
            with self._lock:
                if not self._closed and len(self._idle) < self.max_idle:
                    self._idle.append(conn)
                    return
        conn.close()

    def discard_idle(self) -> None:
        """Close every idle connection (after one broke: the others are likely dead too)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.discard_idle()

    @property
    def idle_count(self) -> int:
        with self._lock:
            return len(self._idle)


_pg_lock = threading.Lock()
_pg_caches: dict[str, _ConnectionCache] = {}


def _connection_cache(conninfo: str) -> _ConnectionCache:
    with _pg_lock:
        cache = _pg_caches.get(conninfo)
        if cache is None:
            cache = _pg_caches[conninfo] = _ConnectionCache(conninfo)
        return cache


def _retryable(exc: psycopg.Error, conn: psycopg.Connection) -> bool:
    """Whether a failed read may be retried once on a new connection."""
    if conn.closed or conn.broken:  # the connection died (server restart, dropped idle connection)
        return True
    # a table replaced by a build under a statement psycopg had prepared with other columns
    return isinstance(exc, psycopg.errors.FeatureNotSupported) and "cached plan" in str(exc)


class PostgresBackend:
    """Reads the PostgreSQL warehouse (``WAREHOUSE_URL``), read-only."""

    name: Literal["postgres"] = "postgres"
    dialect: screens.Dialect = "postgres"

    def __init__(self, connection: PostgresConnection) -> None:
        self.connection = connection
        self.conninfo = connection.conninfo()

    def describe(self) -> str:
        c = self.connection
        return f"the PostgreSQL database `{c.dbname}` on `{c.host}:{c.port}`"

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        cache = _connection_cache(self.conninfo)
        statement = to_pyformat(sql)
        values = list(params) if params else []
        for attempt in (1, 2):
            conn = cache.acquire()
            try:
                with conn.cursor() as cur:
                    cur.execute(statement, values)
                    return _pg_frame(cur)
            except psycopg.Error as exc:
                if attempt == 2 or not _retryable(exc, conn):
                    raise
                conn.close()
                cache.discard_idle()
            finally:
                cache.release(conn)
        raise AssertionError("unreachable")

    def build_info(self) -> BuildInfo | None:
        try:
            frame = self.query(
                f"SELECT built_at, run_id FROM {table('meta', 'build_info')} ORDER BY built_at DESC NULLS LAST LIMIT 1"
            )
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName) as exc:
            raise BuildInfoMissingError(f"{table('meta', 'build_info')} in {self.describe()}") from exc
        if frame.empty or pd.isna(frame.at[0, "built_at"]):
            return None
        built_at = frame.at[0, "built_at"].to_pydatetime().astimezone(timezone.utc)
        return BuildInfo(built_at=built_at, run_id=str(frame.at[0, "run_id"]))

    def is_built(self) -> bool:
        try:
            self.build_info()
        except BuildInfoMissingError:
            return False
        return True


# --------------------------------------------------------------------------- backend choice


class Backend(Protocol):
    """What the read functions need from a backend."""

    name: Literal["duckdb", "postgres"]
    dialect: screens.Dialect

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


def backend(path: Path | None = None) -> Backend:
    """The backend settings select (or the DuckDB snapshot at ``path`` if given)."""
    if path is not None:
        return DuckDBSnapshotBackend(Path(path))
    settings = get_settings()
    if settings.backend == "postgres" and settings.postgres is not None:
        return PostgresBackend(settings.postgres)
    return DuckDBSnapshotBackend(settings.snapshot_path)


def backend_name() -> Literal["duckdb", "postgres"]:
    """``"duckdb"`` or ``"postgres"`` (from settings)."""
    return get_settings().backend


def describe(path: Path | None = None) -> str:
    """Where the app reads from, for messages (no password)."""
    return backend(path).describe()


def is_built(path: Path | None = None) -> bool:
    """Whether a completed build can be read (snapshot file / ``meta.build_info`` table exists)."""
    return backend(path).is_built()


def close_all() -> None:
    """Close every cached snapshot instance and database connection (tests, shutdown). Safe any time."""
    with _lock:
        for handle in _open.values():
            handle.retired = True
            if handle.users == 0:
                handle.close()
        _open.clear()
    with _pg_lock:
        caches = list(_pg_caches.values())
        _pg_caches.clear()
    for cache in caches:
        cache.close()


def query(sql: str, params: Sequence[Any] | None = None, *, path: Path | None = None) -> pd.DataFrame:
    """Run one read-only statement with ``?`` placeholders bound to ``params``.

    Raises :class:`SnapshotMissingError` when no snapshot exists (DuckDB).
    """
    return backend(path).query(sql, params)


# --------------------------------------------------------------------------- reads


def build_info(path: Path | None = None) -> BuildInfo | None:
    """The ``meta.build_info`` row, or None if it is empty (or ``built_at`` is NULL).

    Raises :class:`WarehouseNotBuiltError` when there is no build to read.
    """
    return backend(path).build_info()


def _text_key(column: str, be: Backend) -> str:
    return f'{column} COLLATE "C"' if be.dialect == "postgres" else column


def sectors(path: Path | None = None) -> list[str]:
    """Distinct non-null sectors of ``marts.dim_companies``, sorted by code point."""
    be = backend(path)
    frame = be.query(
        f"SELECT sector FROM {table('marts', 'dim_companies')} "
        f"WHERE sector IS NOT NULL GROUP BY sector ORDER BY {_text_key('sector', be)}"
    )
    return [str(s) for s in frame["sector"]]


def companies(path: Path | None = None) -> pd.DataFrame:
    """``ticker, company_name, sector`` of every company that has a latest screener row, by ticker."""
    be = backend(path)
    return be.query(
        f"SELECT ticker, company_name, sector FROM {table('marts', 'mart_screener_latest')} "
        f"ORDER BY {_text_key('ticker', be)}"
    )


def universe_size(path: Path | None = None) -> int:
    """Number of rows (tickers) in ``marts.mart_screener_latest``."""
    return int(query(f"SELECT count(*) AS n FROM {table('marts', 'mart_screener_latest')}", path=path).at[0, "n"])


def run_screen(spec: screens.ScreenSpec, path: Path | None = None) -> pd.DataFrame:
    """Rows of ``marts.mart_screener_latest`` matching ``spec``, with :data:`screens.RESULT_COLUMNS`.

    Units are the warehouse's: returns, dividend yield and ``pct_from_high_52w``
    are fractions, ``market_cap`` is USD.
    """
    be = backend(path)
    built = screens.build_screen_query(spec, table=table("marts", "mart_screener_latest"), dialect=be.dialect)
    return be.query(built.sql, built.params)


def latest_row(ticker: str, path: Path | None = None) -> dict[str, Any] | None:
    """The ticker's row of ``marts.mart_screener_latest`` as a dict (all contract columns), or None."""
    frame = query(f"SELECT * FROM {table('marts', 'mart_screener_latest')} WHERE ticker = ?", [ticker], path=path)
    if frame.empty:
        return None
    return frame.iloc[0].to_dict()


def date_bounds(ticker: str, path: Path | None = None) -> tuple[date, date] | None:
    """First and last ``trade_date`` of the ticker in ``marts.fct_daily_indicators`` (None if none)."""
    frame = query(
        "SELECT min(trade_date) AS first_date, max(trade_date) AS last_date "
        f"FROM {table('marts', 'fct_daily_indicators')} WHERE ticker = ?",
        [ticker],
        path=path,
    )
    first, last = frame.at[0, "first_date"], frame.at[0, "last_date"]
    if pd.isna(first) or pd.isna(last):
        return None
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()


#: Columns of :func:`price_history` (``marts.fct_daily_indicators``; prices in USD, volume in shares).
#: ``open``..``volume`` are the prices as loaded; ``adjusted_*`` the split- and dividend-adjusted
#: bars the indicators are computed on (equal to the loaded ones without corporate actions).
HISTORY_COLUMNS: tuple[str, ...] = (
    "ticker", "trade_date", "open", "high", "low", "close", "volume",
    "adjusted_open", "adjusted_high", "adjusted_low", "adjusted_close", "adjusted_volume", "return_1d",
    "sma_20", "sma_50", "sma_200", "ema_12", "ema_26", "macd", "macd_signal", "macd_hist",
    "rsi_14", "bb_upper", "bb_middle", "bb_lower", "atr_14", "high_52w", "low_52w",
    "avg_volume_20", "relative_volume",
)  # fmt: skip


def price_history(ticker: str, start: date, end: date, path: Path | None = None) -> pd.DataFrame:
    """Daily rows of one ticker with ``start <= trade_date <= end``, oldest first.

    Columns: :data:`HISTORY_COLUMNS` (``trade_date`` as pandas datetime).
    """
    cols = ", ".join(HISTORY_COLUMNS)
    return query(
        f"SELECT {cols} FROM {table('marts', 'fct_daily_indicators')} "
        "WHERE ticker = ? AND trade_date BETWEEN ? AND ? ORDER BY trade_date",
        [ticker, start, end],
        path=path,
    )


# --------------------------------------------------------------------------- news

#: Columns of :func:`news_headlines` (``marts.fct_news_articles``; ``published_at`` in UTC).
NEWS_COLUMNS: tuple[str, ...] = (
    "published_at", "publisher", "title", "link", "sentiment_score", "tag_method", "news_source", "article_id",
)  # fmt: skip


def news_headlines(ticker: str, limit: int = 20, path: Path | None = None) -> pd.DataFrame:
    """The ticker's latest ``limit`` headlines of ``marts.fct_news_articles``, newest first (ties
    by ``article_id``), whatever their date. Columns: :data:`NEWS_COLUMNS`; ``published_at`` is
    UTC (naive), ``sentiment_score`` in [-1, 1]."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError("limit must be a positive integer")
    be = backend(path)
    return be.query(
        f"SELECT {', '.join(NEWS_COLUMNS)} FROM {table('marts', 'fct_news_articles')} WHERE ticker = ? "
        f"ORDER BY published_at DESC, {_text_key('article_id', be)} LIMIT ?",
        [ticker, limit],
    )


def news_summary(ticker: str, path: Path | None = None) -> dict[str, Any]:
    """``articles`` (count), ``first``/``last`` UTC publication dates (None without news) and
    ``avg_sentiment`` of all the ticker's articles in ``marts.fct_news_articles``."""
    frame = query(
        "SELECT count(*) AS articles, min(published_date) AS first_date, max(published_date) AS last_date, "
        f"avg(sentiment_score) AS avg_sentiment FROM {table('marts', 'fct_news_articles')} WHERE ticker = ?",
        [ticker],
        path=path,
    )
    row = frame.iloc[0]
    first, last = row["first_date"], row["last_date"]
    return {
        "articles": int(row["articles"]),
        "first": None if pd.isna(first) else pd.Timestamp(first).date(),
        "last": None if pd.isna(last) else pd.Timestamp(last).date(),
        "avg_sentiment": None if pd.isna(row["avg_sentiment"]) else float(row["avg_sentiment"]),
    }


def news_daily(ticker: str, path: Path | None = None) -> pd.DataFrame:
    """The ticker's rows of ``marts.mart_news_daily`` (``news_date, article_count, positive_count,
    negative_count, avg_sentiment``), oldest first."""
    return query(
        "SELECT news_date, article_count, positive_count, negative_count, avg_sentiment "
        f"FROM {table('marts', 'mart_news_daily')} WHERE ticker = ? ORDER BY news_date",
        [ticker],
        path=path,
    )

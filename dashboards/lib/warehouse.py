"""Read-only access to the published warehouse snapshot.

This is the only module of the app that talks to a database, so another backend
(e.g. Postgres) can be added here without touching the pages. Callers pass SQL
with ``?`` placeholders plus a parameter list and get pandas DataFrames back.

Which file is read
    ``get_settings().snapshot_path`` (env ``WAREHOUSE_SNAPSHOT_PATH``), the
    read-only copy the build publishes after each completed run by
    ``os.replace``-ing a new file over the old one. The writer's own
    ``WAREHOUSE_PATH`` is never opened.

How it is opened
    Each snapshot file is attached read-only (``ATTACH ... (READ_ONLY)``) into a
    private in-memory DuckDB instance, and external file access is then switched
    off for that instance. The file is not opened with
    ``duckdb.connect(path, read_only=True)`` on purpose: DuckDB's process-wide
    instance cache is keyed by *path*, so while any connection to the old file is
    still open, ``duckdb.connect(path)`` hands back the old database even after a
    new file was swapped in. A private instance per file has no such cache.

Connection cache
    The open instance is cached per snapshot path and keyed by the file's
    identity (device, inode, ``mtime_ns``). Every query ``stat``s the path; when a
    new file has been swapped in, a new instance is opened for it and the old one
    is closed as soon as the queries still running on it have finished (an open
    handle keeps reading the old inode, so they finish on consistent data).
    Each query runs on its own cursor, so Streamlit sessions in different threads
    can query concurrently.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from dashboards.lib import screens
from pipelines.lib.settings import get_settings

#: Catalog name the snapshot file is attached under; queries use ``schema.table``.
_CATALOG = "snapshot"


class SnapshotMissingError(FileNotFoundError):
    """No snapshot file exists yet (the warehouse has not been built: ``make build``)."""


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


def snapshot_path() -> Path:
    """Absolute path of the snapshot the app reads (from settings)."""
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


def close_all() -> None:
    """Close every cached snapshot instance (tests, shutdown). Safe to call any time."""
    with _lock:
        for handle in _open.values():
            handle.retired = True
            if handle.users == 0:
                handle.close()
        _open.clear()


def current_identity(path: Path | None = None) -> SnapshotIdentity | None:
    """Identity of the snapshot instance currently cached for ``path`` (None if none)."""
    path = Path(path) if path is not None else snapshot_path()
    with _lock:
        handle = _open.get(path)
        return handle.identity if handle is not None else None


def query(sql: str, params: Sequence[Any] | None = None, *, path: Path | None = None) -> pd.DataFrame:
    """Run one read-only statement with ``?`` placeholders bound to ``params``.

    Raises :class:`SnapshotMissingError` when no snapshot exists.
    """
    with _cursor(path) as cur:
        return cur.execute(sql, list(params) if params else None).fetch_df()


# --------------------------------------------------------------------------- reads


def build_info(path: Path | None = None) -> BuildInfo | None:
    """The snapshot's ``meta.build_info`` row, or None if it is empty (or ``built_at`` is NULL)."""
    # epoch microseconds: converting TIMESTAMPTZ to pandas is slower and warns under pandas 3
    frame = query("SELECT epoch_us(built_at) AS built_at_us, run_id FROM meta.build_info LIMIT 1", path=path)
    if frame.empty or pd.isna(frame.at[0, "built_at_us"]):
        return None
    built_at = datetime.fromtimestamp(0, tz=timezone.utc) + timedelta(microseconds=int(frame.at[0, "built_at_us"]))
    return BuildInfo(built_at=built_at, run_id=str(frame.at[0, "run_id"]))


def sectors(path: Path | None = None) -> list[str]:
    """Distinct non-null sectors of ``marts.dim_companies``, sorted."""
    frame = query(
        "SELECT DISTINCT sector FROM marts.dim_companies WHERE sector IS NOT NULL ORDER BY sector",
        path=path,
    )
    return [str(s) for s in frame["sector"]]


def companies(path: Path | None = None) -> pd.DataFrame:
    """``ticker, company_name, sector`` of every company that has a latest screener row, by ticker."""
    return query(
        "SELECT ticker, company_name, sector FROM marts.mart_screener_latest ORDER BY ticker",
        path=path,
    )


def universe_size(path: Path | None = None) -> int:
    """Number of rows (tickers) in ``marts.mart_screener_latest``."""
    return int(query("SELECT count(*) AS n FROM marts.mart_screener_latest", path=path).at[0, "n"])


def run_screen(spec: screens.ScreenSpec, path: Path | None = None) -> pd.DataFrame:
    """Rows of ``marts.mart_screener_latest`` matching ``spec``, with :data:`screens.RESULT_COLUMNS`.

    Units are the warehouse's: returns, dividend yield and ``pct_from_high_52w``
    are fractions, ``market_cap`` is USD.
    """
    built = screens.build_screen_query(spec)
    return query(built.sql, built.params, path=path)


def latest_row(ticker: str, path: Path | None = None) -> dict[str, Any] | None:
    """The ticker's row of ``marts.mart_screener_latest`` as a dict (all contract columns), or None."""
    frame = query("SELECT * FROM marts.mart_screener_latest WHERE ticker = ?", [ticker], path=path)
    if frame.empty:
        return None
    return frame.iloc[0].to_dict()


def date_bounds(ticker: str, path: Path | None = None) -> tuple[date, date] | None:
    """First and last ``trade_date`` of the ticker in ``marts.fct_daily_indicators`` (None if none)."""
    frame = query(
        "SELECT min(trade_date) AS first_date, max(trade_date) AS last_date "
        "FROM marts.fct_daily_indicators WHERE ticker = ?",
        [ticker],
        path=path,
    )
    first, last = frame.at[0, "first_date"], frame.at[0, "last_date"]
    if pd.isna(first) or pd.isna(last):
        return None
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()


#: Columns of :func:`price_history` (``marts.fct_daily_indicators``; prices in USD, volume in shares).
HISTORY_COLUMNS: tuple[str, ...] = (
    "ticker", "trade_date", "open", "high", "low", "close", "volume", "return_1d",
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
        f"SELECT {cols} FROM marts.fct_daily_indicators "
        "WHERE ticker = ? AND trade_date BETWEEN ? AND ? ORDER BY trade_date",
        [ticker, start, end],
        path=path,
    )

"""The app's snapshot reader: read-only, picks up a swapped-in snapshot, missing snapshot."""

from __future__ import annotations

import os
import threading
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from dashboards.lib import warehouse
from pipelines.lib.settings import get_settings


def _make_snapshot(path: Path, run_id: str, tickers: list[str]) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA meta; CREATE SCHEMA marts")
        con.execute("CREATE TABLE meta.build_info (built_at TIMESTAMPTZ, run_id VARCHAR)")
        con.execute(
            "INSERT INTO meta.build_info VALUES (?, ?)", [datetime(2024, 5, 6, 7, 8, tzinfo=timezone.utc), run_id]
        )
        con.execute("CREATE TABLE marts.dim_companies (ticker VARCHAR, company_name VARCHAR, sector VARCHAR)")
        for t in tickers:
            con.execute("INSERT INTO marts.dim_companies VALUES (?, ?, 'Energy')", [t, f"{t} Inc"])
    return path


def _publish(tmp: Path, snapshot: Path, run_id: str, tickers: list[str]) -> None:
    """Like the build: write beside the target, then os.replace over it."""
    partial = _make_snapshot(tmp / f".{run_id}.tmp", run_id, tickers)
    os.replace(partial, snapshot)


@pytest.fixture()
def snapshot_env(tmp_path, monkeypatch):
    snapshot = tmp_path / "warehouse.snapshot.duckdb"
    monkeypatch.setenv("WAREHOUSE_SNAPSHOT_PATH", str(snapshot))
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "writer-never-opened.duckdb"))
    get_settings.cache_clear()
    yield snapshot
    warehouse.close_all()
    get_settings.cache_clear()


def test_reads_path_from_settings(snapshot_env):
    assert warehouse.snapshot_path() == snapshot_env


def test_missing_snapshot(snapshot_env):
    assert not warehouse.snapshot_exists()
    with pytest.raises(warehouse.SnapshotMissingError):
        warehouse.build_info()
    with pytest.raises(FileNotFoundError):  # subclass, so generic handlers work too
        warehouse.query("SELECT 1")


def test_build_info(snapshot_env, tmp_path):
    _publish(tmp_path, snapshot_env, "run-1", ["AAA"])
    info = warehouse.build_info()
    assert info.run_id == "run-1"
    assert info.built_at == datetime(2024, 5, 6, 7, 8, tzinfo=timezone.utc)


def test_snapshot_is_read_only_and_unchanged(snapshot_env, tmp_path):
    _publish(tmp_path, snapshot_env, "run-1", ["AAA"])
    before = snapshot_env.stat()
    content = snapshot_env.read_bytes()
    for stmt in (
        "CREATE TABLE marts.evil AS SELECT 1",
        "DELETE FROM marts.dim_companies",
        "INSERT INTO meta.build_info VALUES (now(), 'x')",
        "DROP TABLE marts.dim_companies",
    ):
        with pytest.raises(duckdb.Error):
            warehouse.query(stmt)
    with pytest.raises(duckdb.Error):  # no reading other files through the app's connection
        warehouse.query("SELECT * FROM read_csv(?)", [str(Path(__file__))])
    with pytest.raises(duckdb.Error):
        warehouse.query(f"ATTACH '{tmp_path / 'other.duckdb'}' AS other")
    assert warehouse.sectors() == ["Energy"]
    warehouse.close_all()
    after = snapshot_env.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size)
    assert snapshot_env.read_bytes() == content
    assert not (tmp_path / "writer-never-opened.duckdb").exists()


def test_swapped_snapshot_is_picked_up(snapshot_env, tmp_path):
    _publish(tmp_path, snapshot_env, "run-1", ["AAA"])
    assert warehouse.build_info().run_id == "run-1"
    first = warehouse.current_identity()
    _publish(tmp_path, snapshot_env, "run-2", ["AAA", "BBB"])
    assert warehouse.build_info().run_id == "run-2"
    assert warehouse.query("SELECT count(*) AS n FROM marts.dim_companies").at[0, "n"] == 2
    second = warehouse.current_identity()
    assert second != first and second.inode == snapshot_env.stat().st_ino


def test_query_in_flight_keeps_reading_the_old_file(snapshot_env, tmp_path):
    _publish(tmp_path, snapshot_env, "old", ["AAA"])
    with warehouse._cursor() as old_cursor:
        _publish(tmp_path, snapshot_env, "new", ["AAA", "BBB"])
        assert warehouse.build_info().run_id == "new"  # new queries see the new file ...
        # ... while a cursor opened before the swap still reads the old inode
        assert old_cursor.execute("SELECT run_id FROM meta.build_info").fetchone()[0] == "old"
    assert warehouse.build_info().run_id == "new"


def test_snapshot_removed_after_open(snapshot_env, tmp_path):
    _publish(tmp_path, snapshot_env, "run-1", ["AAA"])
    assert warehouse.build_info().run_id == "run-1"
    snapshot_env.unlink()
    with pytest.raises(warehouse.SnapshotMissingError):
        warehouse.build_info()
    _publish(tmp_path, snapshot_env, "run-2", ["AAA"])
    assert warehouse.build_info().run_id == "run-2"


def test_concurrent_readers_during_swaps(snapshot_env, tmp_path):
    _publish(tmp_path, snapshot_env, "run-0", ["AAA"])
    errors: list[BaseException] = []
    seen: set[str] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                seen.add(warehouse.build_info().run_id)
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(1, 6):
            _publish(tmp_path, snapshot_env, f"run-{i}", ["AAA"])
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not errors, errors
    assert warehouse.build_info().run_id == "run-5"
    assert seen <= {f"run-{i}" for i in range(6)}

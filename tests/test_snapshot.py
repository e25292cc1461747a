"""The published snapshot is swapped in atomically: open readers keep their build,
new readers see the new one, and the writer's file never gets ``meta.build_info``."""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb
import pytest

from domain.warehouse.duckdb_backend import publish_snapshot

pytestmark = pytest.mark.integration


def _write(path, value: int) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts")
        con.execute("create or replace table marts.t as select ? as v", [value])


def test_publish_swaps_atomically_while_a_reader_is_open(tmp_path):
    warehouse, snapshot = tmp_path / "w.duckdb", tmp_path / "w.snapshot.duckdb"
    _write(warehouse, 1)
    first_built = datetime(2026, 1, 2, 21, 30, tzinfo=timezone.utc)
    with duckdb.connect(str(warehouse)) as con:
        publish_snapshot(con, snapshot, "run-1", first_built)
    reader = duckdb.connect(str(snapshot), read_only=True)
    assert reader.execute("select v from marts.t").fetchone() == (1,)

    _write(warehouse, 2)  # the build writes while the reader is open
    second_built = datetime(2026, 1, 5, 21, 30, tzinfo=timezone.utc)
    with duckdb.connect(str(warehouse)) as con:
        publish_snapshot(con, snapshot, "run-2", second_built)

    assert reader.execute("select v from marts.t").fetchone() == (1,)
    assert reader.execute("select run_id from meta.build_info").fetchone() == ("run-1",)
    reader.close()
    with duckdb.connect(str(snapshot), read_only=True) as fresh:
        assert fresh.execute("select v from marts.t").fetchone() == (2,)
        built_at, run_id = fresh.execute("select built_at, run_id from meta.build_info").fetchone()
    assert (built_at, run_id) == (second_built, "run-2")
    with duckdb.connect(str(warehouse), read_only=True) as writer_file:
        assert writer_file.execute(
            "select count(*) from information_schema.schemata where schema_name = 'meta'"
        ).fetchone() == (0,)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb", "w.snapshot.duckdb"]


def test_built_snapshot_has_marts_and_build_info(built_warehouse):
    with duckdb.connect(str(built_warehouse.snapshot_path), read_only=True) as con:
        assert con.execute("select count(*) from meta.build_info").fetchone() == (1,)
        assert con.execute("select count(*) from marts.fct_daily_indicators").fetchone() == (619_017,)
        assert con.execute("select count(*) from marts.mart_screener_latest").fetchone() == (505,)


def test_a_copy_left_by_a_killed_publish_is_removed_by_the_next(tmp_path):
    warehouse, snapshot = tmp_path / "w.duckdb", tmp_path / "w.snapshot.duckdb"
    _write(warehouse, 1)
    stale = tmp_path / ".w.snapshot.duckdb.4242.tmp"  # what kill -9 during a publish leaves
    stale.write_bytes(b"\0" * 1024)
    other = tmp_path / ".other.duckdb.4242.tmp"  # not this snapshot's: left alone
    other.write_bytes(b"x")
    with duckdb.connect(str(warehouse)) as con:
        publish_snapshot(con, snapshot, "run-1", datetime(2026, 1, 2, tzinfo=timezone.utc))
    assert not stale.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.duckdb.4242.tmp", "w.duckdb", "w.snapshot.duckdb"]


def test_the_snapshot_holds_what_readers_read_and_no_raw_layer(built_warehouse):
    """Analysts, BI and the app read marts, portfolios, alerts and meta; the raw, staging and
    intermediate layers (source rows, quarantine, working tables) stay in the writer's file."""
    with duckdb.connect(str(built_warehouse.snapshot_path), read_only=True) as con:
        schemas = {s for (s,) in con.execute("select distinct schema_name from duckdb_tables()").fetchall()}
        tables = {f"{s}.{t}" for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()}
    with duckdb.connect(str(built_warehouse.warehouse_path), read_only=True) as con:
        published = {
            f"{s}.{t}"
            for s, t in con.execute(
                "select schema_name, table_name from duckdb_tables() where schema_name in ('marts', 'portfolios', 'alerts')"
            ).fetchall()
        }
    assert schemas == {"marts", "portfolios", "alerts", "meta"}
    assert tables == published | {"meta.build_info"}
    assert {"portfolios.fct_portfolio_transactions", "portfolios.fct_portfolio_rejected_rows"} <= tables

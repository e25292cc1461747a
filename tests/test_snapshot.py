"""The published snapshot is swapped in atomically: open readers keep their build,
new readers see the new one, and the writer's file never gets ``meta.build_info``."""

from __future__ import annotations

from datetime import date, datetime, timezone

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
    """The snapshot holds every market's rows: the US file's 619,017 bars of 505 tickers, and every
    traded KRX bar of the writer's file (halt rows are no bars) with one screener row per ticker."""
    per_market = """select market, count(*), count(distinct ticker) from {table} {where}
        group by all order by all"""
    with duckdb.connect(str(built_warehouse.warehouse_path), read_only=True) as con:
        raw = con.execute(per_market.format(table="raw.prices_daily", where="where not is_halted")).fetchall()
    with duckdb.connect(str(built_warehouse.snapshot_path), read_only=True) as con:
        assert con.execute("select count(*) from meta.build_info").fetchone() == (1,)
        indicators = con.execute(per_market.format(table="marts.fct_daily_indicators", where="")).fetchall()
        screener = con.execute(per_market.format(table="marts.mart_screener_latest", where="")).fetchall()
    assert indicators == raw and ("US", 619_017, 505) in indicators
    assert {market for market, _, _ in indicators} == {"US", "KOSPI", "KOSDAQ"}
    assert screener == [(market, tickers, tickers) for market, _, tickers in raw]


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
    """Analysts, BI and the app read marts, portfolios, alerts, backtests and meta; the raw, staging and
    intermediate layers (source rows, quarantine, working tables) stay in the writer's file."""
    with duckdb.connect(str(built_warehouse.snapshot_path), read_only=True) as con:
        schemas = {s for (s,) in con.execute("select distinct schema_name from duckdb_tables()").fetchall()}
        tables = {f"{s}.{t}" for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()}
    with duckdb.connect(str(built_warehouse.warehouse_path), read_only=True) as con:
        published = {
            f"{s}.{t}"
            for s, t in con.execute(
                "select schema_name, table_name from duckdb_tables() "
                "where schema_name in ('marts', 'portfolios', 'alerts', 'backtests')"
            ).fetchall()
        }
    assert schemas == {"marts", "portfolios", "alerts", "backtests", "meta"}
    assert tables == published | {"meta.build_info"}
    assert {"portfolios.fct_portfolio_transactions", "portfolios.fct_portfolio_rejected_rows"} <= tables


# -- incremental publish (domain.warehouse.snapshot_sync) ---------------------------------------

T1, T2, T3 = (datetime(2026, 1, day, 22) for day in (2, 3, 4))
ROW_SYNCED = [("marts", "fct")]


def _indicator_rows(con, tickers: list[str], days: range, stamp: datetime) -> None:
    """Rows (ticker, trade_date = 2026-01-01 + day, v = a value of both, computed_at = stamp)."""
    con.execute(
        "insert into marts.fct select t.ticker, date '2026-01-01' + d.day::integer, hash(t.ticker, d.day) % 1000, ? "
        "from (select unnest(?) as ticker) t, (select unnest(range(?, ?)) as day) d",
        [stamp, tickers, days.start, days.stop],
    )


def _warehouse_with_indicators(path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute("create table marts.fct (ticker varchar, trade_date date, v bigint, computed_at timestamp)")
    _indicator_rows(con, ["AAA", "BBB", "CCC", "DDD"], range(0, 100), T1)
    con.execute("create table marts.small as select 1 as v")
    return con


def _publish(con, snapshot, run_id: str) -> dict:
    return publish_snapshot(con, snapshot, run_id, datetime(2026, 1, 5, tzinfo=timezone.utc),
                            schemas=["marts"], row_synced=ROW_SYNCED)  # fmt: skip


def _published(snapshot, table: str):
    with duckdb.connect(str(snapshot), read_only=True) as con:
        return con.sql(f"select * from marts.{table} order by all").fetchall()


def _mode(snapshot) -> tuple[str, int]:
    with duckdb.connect(str(snapshot), read_only=True) as con:
        return con.execute("select publish_mode, rows_synced_since_full_publish from meta.build_info").fetchone()


def test_incremental_publish_syncs_new_rewritten_deleted_and_removed_rows(tmp_path):
    """A daily run's changes reach the snapshot row-wise and the snapshot equals the warehouse:
    a new session for every ticker, a ticker rewritten from a past bar, a ticker whose last bar
    was deleted (no new row shows it: the fingerprint finds it), a ticker gone, a new ticker."""
    snapshot = tmp_path / "w.snapshot.duckdb"
    with _warehouse_with_indicators(tmp_path / "w.duckdb") as con:
        assert _publish(con, snapshot, "run-1")["publish_mode"] == "full"
        _indicator_rows(con, ["AAA", "BBB", "CCC"], range(100, 101), T2)  # the new session
        con.execute("delete from marts.fct where ticker = 'BBB' and trade_date >= date '2026-01-01' + 90")
        _indicator_rows(con, ["BBB"], range(90, 101), T2)  # BBB recomputed from bar 90
        con.execute("delete from marts.fct where ticker = 'CCC' and trade_date = date '2026-01-01' + 100")
        con.execute("delete from marts.fct where ticker = 'DDD' and trade_date = date '2026-01-01' + 99")
        con.execute("delete from marts.fct where ticker = 'AAA' and trade_date < date '2026-01-01' + 5")
        _indicator_rows(con, ["EEE"], range(0, 3), T2)
        con.execute("create or replace table marts.small as select 2 as v")
        report = _publish(con, snapshot, "run-2")
        expected = con.sql("select * from marts.fct order by all").fetchall()
    assert report["publish_mode"] == "incremental"
    assert report["tables_replaced_whole"] == 1 and report["tickers_repaired"] == 2  # DDD's tail, AAA's head
    assert _published(snapshot, "fct") == expected
    assert _published(snapshot, "small") == [(2,)]
    assert _mode(snapshot) == ("incremental", report["rows_synced"])


def test_rows_stamped_before_the_last_publish_are_found_by_the_fingerprint(tmp_path):
    """A clock that went backwards: a rewritten row stamped before the snapshot's latest stamp
    is not in the delta, but its (trade_date, computed_at) fingerprint differs: re-synced."""
    snapshot = tmp_path / "w.snapshot.duckdb"
    with _warehouse_with_indicators(tmp_path / "w.duckdb") as con:
        _publish(con, snapshot, "run-1")
        _indicator_rows(con, ["AAA"], range(100, 101), T3)
        _publish(con, snapshot, "run-2")
        con.execute("update marts.fct set v = -1, computed_at = ? where ticker = 'CCC' and trade_date = date '2026-01-01' + 50", [T2])
        report = _publish(con, snapshot, "run-3")
        expected = con.sql("select * from marts.fct order by all").fetchall()
    assert report["tickers_repaired"] == 1
    assert _published(snapshot, "fct") == expected


def test_a_large_rewrite_or_a_changed_table_shape_publishes_in_full(tmp_path):
    """Over 10 % of the rows to sync, or a new column (every row): a fresh file; a dropped table goes."""
    snapshot = tmp_path / "w.snapshot.duckdb"
    with _warehouse_with_indicators(tmp_path / "w.duckdb") as con:
        _publish(con, snapshot, "run-1")
        con.execute("update marts.fct set computed_at = ? where ticker in ('AAA')", [T2])  # 25 % of the rows
        assert _publish(con, snapshot, "run-2")["publish_mode"] == "full"
        assert _mode(snapshot) == ("full", 0)
        con.execute("alter table marts.fct add column w integer")  # a new column: every row to copy
        assert _publish(con, snapshot, "run-3")["publish_mode"] == "full"
        con.execute("drop table marts.small")
        report = _publish(con, snapshot, "run-4")
        expected = con.sql("select * from marts.fct order by all").fetchall()
    assert report["publish_mode"] == "incremental" and report["tables_dropped"] == 1
    assert report["tables_replaced_whole"] == 0 and report["rows_synced"] == 0
    assert _published(snapshot, "fct") == expected
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert {t for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()} == {"fct", "build_info"}


def test_constant_columns_are_inserted_as_literals_with_the_same_values(tmp_path):
    """A large frame's constant columns (a load's loaded_at, a file's source, an all-NULL column)
    go into the table as SQL literals; every row reads back as the frame had it."""
    import polars as pl

    from domain.warehouse.base import Replacement
    from domain.warehouse.duckdb_backend import DuckDBWarehouse, _split_constant_columns
    from domain.warehouse.sql import TableNames

    n = 20_000
    frame = pl.DataFrame({"ticker": [f"T{i % 7}" for i in range(n)], "close": [1.5] * n, "v": list(range(n))}).with_columns(
        source=pl.lit("csv:x.csv"), trade_date=pl.lit(date(2018, 2, 7)), adj_close=pl.lit(None, dtype=pl.Float64),
        loaded_at=pl.lit(datetime(2026, 12, 5, 17, 30, 1, 123456)), flag=pl.lit(True),
    )  # fmt: skip
    rest, constants = _split_constant_columns(frame)
    assert set(constants) == {"source", "trade_date", "adj_close", "loaded_at", "flag"}  # not close: a float
    assert rest.columns == ["ticker", "close", "v"]
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("create table t (ticker varchar, close double, v bigint, source varchar, trade_date date, "
                    "adj_close double, loaded_at timestamp, flag boolean)")  # fmt: skip
        DuckDBWarehouse(con, TableNames()).replace_rows([Replacement("t", frame, "true", ())])
        stored = con.sql("select * from t order by v").pl()
    assert stored.equals(frame.select(stored.columns))

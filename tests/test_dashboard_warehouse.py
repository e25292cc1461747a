"""The app's warehouse reader.

DuckDB: read-only snapshot, picks up a swapped-in snapshot, missing snapshot.
PostgreSQL (fixture ``built_postgres_warehouse``; skipped without a server): read-only
sessions, ``?`` placeholders, dtypes as on DuckDB, reconnects, tables replaced
during a build, and the same results as DuckDB for every preset.
"""

from __future__ import annotations

import os
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
import pytest

from dashboards.lib import warehouse
from domain.settings import get_settings


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
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("WAREHOUSE_SCHEMA_PREFIX", raising=False)
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


def _readers_during(read_once, write) -> tuple[list[BaseException], set[str]]:
    """Run ``read_once`` (returns a run_id) in 4 threads in a loop while ``write()`` runs;
    return the errors the readers hit and the run ids they saw."""
    errors: list[BaseException] = []
    seen: set[str] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                seen.add(read_once())
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        write()
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    return errors, seen


def test_concurrent_readers_during_swaps(snapshot_env, tmp_path):
    _publish(tmp_path, snapshot_env, "run-0", ["AAA"])

    def publish_five() -> None:
        for i in range(1, 6):
            _publish(tmp_path, snapshot_env, f"run-{i}", ["AAA"])

    errors, seen = _readers_during(lambda: warehouse.build_info().run_id, publish_five)
    assert not errors, errors
    assert warehouse.build_info().run_id == "run-5"
    assert seen <= {f"run-{i}" for i in range(6)}


# ----------------------------------------------------------------------------- schema prefix, SQL for PostgreSQL


def test_table_names_come_from_settings(monkeypatch):
    monkeypatch.delenv("WAREHOUSE_SCHEMA_PREFIX", raising=False)
    get_settings.cache_clear()
    assert warehouse.table("marts", "mart_screener_latest") == "marts.mart_screener_latest"
    monkeypatch.setenv("WAREHOUSE_SCHEMA_PREFIX", "t_")
    get_settings.cache_clear()
    assert warehouse.table("meta", "build_info") == "t_meta.build_info"
    monkeypatch.setenv("WAREHOUSE_SCHEMA_PREFIX", 'Dev "x" ')  # not a plain identifier: quoted, quotes doubled
    get_settings.cache_clear()
    assert warehouse.table("marts", "dim_companies") == '"Dev ""x"" marts".dim_companies'
    get_settings.cache_clear()


def test_prefixed_schemas_on_duckdb(tmp_path, monkeypatch):
    snapshot = tmp_path / "prefixed.duckdb"
    with duckdb.connect(str(snapshot)) as con:
        con.execute("CREATE SCHEMA p_meta; CREATE SCHEMA p_marts; CREATE SCHEMA marts")
        con.execute("CREATE TABLE p_meta.build_info AS SELECT TIMESTAMPTZ '2024-05-06 07:08:00+00' AS built_at, 'p-run' AS run_id")
        con.execute("CREATE TABLE p_marts.dim_companies AS SELECT 'AAA' AS ticker, 'A' AS company_name, 'Energy' AS sector")
        con.execute("CREATE TABLE marts.dim_companies AS SELECT 'ZZZ' AS ticker, 'Z' AS company_name, 'Wrong' AS sector")
    monkeypatch.setenv("WAREHOUSE_SNAPSHOT_PATH", str(snapshot))
    monkeypatch.setenv("WAREHOUSE_SCHEMA_PREFIX", "p_")
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    get_settings.cache_clear()
    try:
        assert warehouse.build_info().run_id == "p-run"
        assert warehouse.sectors() == ["Energy"]
    finally:
        warehouse.close_all()
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT a FROM t WHERE x = ? AND y IN (?, ?)", "SELECT a FROM t WHERE x = %s AND y IN (%s, %s)"),
        ("SELECT '?' AS q, 'it''s ?' AS r, ? AS s", "SELECT '?' AS q, 'it''s ?' AS r, %s AS s"),
        ("SELECT 1 AS \"why?\" -- really?\nWHERE a = ?", "SELECT 1 AS \"why?\" -- really?\nWHERE a = %s"),
        ("SELECT /* a ? b */ ?", "SELECT /* a ? b */ %s"),
        ("SELECT $$ ? $$, $t$ ? $t$, ?", "SELECT $$ ? $$, $t$ ? $t$, %s"),
        ("SELECT 5 % 2, 'x%' WHERE a ILIKE ? ESCAPE '\\'", "SELECT 5 %% 2, 'x%%' WHERE a ILIKE %s ESCAPE '\\'"),
        ("SELECT '%s', %s", "SELECT '%%s', %%s"),
    ],
)
def test_to_pyformat(sql, expected):
    assert warehouse.to_pyformat(sql) == expected


def test_screen_sql_for_postgres_orders_text_by_code_point():
    from domain import screens

    spec = screens.ScreenSpec(text="a%b", sort_by="company_name", descending=False)
    q = screens.build_screen_query(spec, table="t_marts.mart_screener_latest", dialect="postgres")
    assert 'FROM t_marts.mart_screener_latest WHERE' in q.sql
    assert q.sql.endswith('ORDER BY company_name COLLATE "C" ASC NULLS LAST, ticker COLLATE "C" ASC')
    converted = warehouse.to_pyformat(q.sql)
    assert converted.count("%s") == len(q.params) == 2 and "ESCAPE '\\'" in converted
    with pytest.raises(ValueError, match="dialect"):
        screens.build_screen_query(spec, dialect="sqlite")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- PostgreSQL


def _admin(pg) -> psycopg.Connection:
    return psycopg.connect(pg.conninfo, autocommit=True)


@pytest.fixture()
def pg_env(built_postgres_warehouse, monkeypatch):
    """The fixture's database under a fresh schema prefix with a tiny warehouse (dropped afterwards)."""
    pg = built_postgres_warehouse
    prefix = f"app_{uuid.uuid4().hex[:8]}_"
    with _admin(pg) as con:
        con.execute(f"CREATE SCHEMA {prefix}meta")
        con.execute(f"CREATE SCHEMA {prefix}marts")
        con.execute(f"CREATE TABLE {prefix}meta.build_info (built_at timestamptz, run_id text)")
        con.execute(
            f"INSERT INTO {prefix}meta.build_info VALUES (%s, 'run-1')", [datetime(2024, 5, 6, 7, 8, tzinfo=timezone.utc)]
        )
        con.execute(f"CREATE TABLE {prefix}marts.dim_companies (ticker text, company_name text, sector text)")
        con.execute(f"INSERT INTO {prefix}marts.dim_companies VALUES ('AAA', 'AAA Inc', 'Energy')")
    monkeypatch.setenv("WAREHOUSE_URL", pg.url)
    monkeypatch.setenv("WAREHOUSE_SCHEMA_PREFIX", prefix)
    get_settings.cache_clear()
    yield pg, prefix
    warehouse.close_all()
    with _admin(pg) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {prefix}meta CASCADE")
        con.execute(f"DROP SCHEMA IF EXISTS {prefix}marts CASCADE")
    get_settings.cache_clear()


def test_pg_build_info(pg_env):
    pg, prefix = pg_env
    assert warehouse.backend_name() == "postgres" and warehouse.is_built()
    info = warehouse.build_info()
    assert info == warehouse.BuildInfo(datetime(2024, 5, 6, 7, 8, tzinfo=timezone.utc), "run-1")
    assert info.built_at.utcoffset() == timedelta(0)
    assert pg.dbname in warehouse.describe() and "@" not in warehouse.describe()
    with _admin(pg) as con:
        con.execute(f"DELETE FROM {prefix}meta.build_info")
    assert warehouse.build_info() is None
    with _admin(pg) as con:
        con.execute(f"DROP TABLE {prefix}meta.build_info")
    with pytest.raises(warehouse.WarehouseNotBuiltError):
        warehouse.build_info()
    assert not warehouse.is_built()
    with _admin(pg) as con:
        con.execute(f"DROP SCHEMA {prefix}meta")
    with pytest.raises(warehouse.BuildInfoMissingError):
        warehouse.build_info()


def test_pg_sessions_are_read_only(pg_env):
    pg, prefix = pg_env
    settings = warehouse.query("SELECT current_setting('default_transaction_read_only') AS ro, "
                               "current_setting('transaction_read_only') AS tro")  # fmt: skip
    assert settings.iloc[0].tolist() == ["on", "on"]
    for stmt in (
        f"CREATE TABLE {prefix}marts.evil AS SELECT 1",
        f"DELETE FROM {prefix}marts.dim_companies",
        f"INSERT INTO {prefix}meta.build_info VALUES (now(), 'x')",
        f"DROP TABLE {prefix}marts.dim_companies",
    ):
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            warehouse.query(stmt)
    assert warehouse.sectors() == ["Energy"]
    assert warehouse.build_info().run_id == "run-1"


def test_pg_parameters_are_bound(pg_env):
    frame = warehouse.query("SELECT ? AS a, '?' AS b, 'x%' AS c, ? AS d", ["it's; DROP TABLE x", 5])
    assert frame.iloc[0].tolist() == ["it's; DROP TABLE x", "?", "x%", 5]
    _, prefix = pg_env
    assert warehouse.query(f"SELECT count(*) AS n FROM {prefix}marts.dim_companies WHERE ticker = ?", ["AAA' OR '1'='1"]).at[0, "n"] == 0


def _typed_table(con, name: str, with_nulls: bool) -> None:
    con.execute(
        f"CREATE TABLE {name} AS SELECT * FROM (VALUES "
        "(1::BIGINT, 1.5::DOUBLE PRECISION, 2::INTEGER, TRUE, DATE '2018-02-07', 'a'::VARCHAR), "
        "(2::BIGINT, 2.5::DOUBLE PRECISION, 3::INTEGER, FALSE, DATE '2018-02-08', 'b'::VARCHAR)"
        + (", (NULL, NULL, NULL, NULL, NULL, NULL)" if with_nulls else "")
        + ") AS v(i, d, n, b, dt, s)"
    )


@pytest.mark.parametrize("with_nulls", [False, True])
def test_pg_dtypes_match_duckdb(pg_env, tmp_path, monkeypatch, with_nulls):
    pg, prefix = pg_env
    with _admin(pg) as con:
        _typed_table(con, f"{prefix}marts.typed", with_nulls)
        con.execute(f"ALTER TABLE {prefix}marts.typed ALTER COLUMN n TYPE numeric(10, 2)")  # numerics come as float
    on_pg = warehouse.query(f"SELECT * FROM {prefix}marts.typed ORDER BY i NULLS LAST")
    empty_pg = warehouse.query(f"SELECT * FROM {prefix}marts.typed WHERE false")
    snapshot = tmp_path / "typed.duckdb"
    with duckdb.connect(str(snapshot)) as con:
        con.execute("CREATE SCHEMA marts")
        _typed_table(con, "marts.typed", with_nulls)
        con.execute("ALTER TABLE marts.typed ALTER n TYPE DOUBLE")
    on_duckdb = warehouse.query("SELECT * FROM marts.typed ORDER BY i NULLS LAST", path=snapshot)
    empty_duckdb = warehouse.query("SELECT * FROM marts.typed WHERE false", path=snapshot)
    pd.testing.assert_frame_equal(on_pg, on_duckdb)
    pd.testing.assert_frame_equal(empty_pg, empty_duckdb)
    assert str(on_pg["dt"].dtype) == "datetime64[us]" and on_pg["d"].dtype == "float64"
    assert on_pg["b"].dtype == ("boolean" if with_nulls else "bool")


def test_pg_reconnects_after_the_connection_is_killed(pg_env):
    pg, _ = pg_env
    pid = int(warehouse.query("SELECT pg_backend_pid() AS pid").at[0, "pid"])
    with _admin(pg) as con:
        con.execute("SELECT pg_terminate_backend(%s)", [pid])
    assert warehouse.build_info().run_id == "run-1"
    assert int(warehouse.query("SELECT pg_backend_pid() AS pid").at[0, "pid"]) != pid


def _dbt_style_replace(pg, table: str, select: str) -> None:
    """Replace ``table`` like dbt's table materialization: build beside it, rename over it, drop the old one."""
    schema, name = table.split(".")
    with psycopg.connect(pg.conninfo) as con:
        con.execute(f"CREATE TABLE {table}__dbt_tmp AS {select}")
        con.execute(f"ALTER TABLE {table} RENAME TO {name}__dbt_backup")
        con.execute(f"ALTER TABLE {table}__dbt_tmp RENAME TO {name}")
        con.execute(f"DROP TABLE {schema}.{name}__dbt_backup")


def test_pg_table_replaced_under_a_prepared_statement(pg_env):
    """``SELECT *`` prepared (psycopg prepares after 5 runs) then the table gets new columns: retried."""
    pg, prefix = pg_env
    table = f"{prefix}marts.dim_companies"
    for _ in range(8):
        assert warehouse.query(f"SELECT * FROM {table} WHERE ticker = ?", ["AAA"]).shape == (1, 3)
    _dbt_style_replace(pg, table, f"SELECT *, 'x'::text AS extra FROM {table}")
    frame = warehouse.query(f"SELECT * FROM {table} WHERE ticker = ?", ["AAA"])
    assert list(frame.columns) == ["ticker", "company_name", "sector", "extra"]


def test_pg_readers_keep_working_during_builds(pg_env):
    pg, prefix = pg_env

    def read_once() -> str:
        info = warehouse.build_info()
        assert info is not None  # never between the delete and the insert of a build
        assert warehouse.sectors()[0] in {"Energy", "Utilities"}
        return info.run_id

    def five_builds() -> None:
        for i in range(2, 7):
            sector = "Utilities" if i % 2 else "Energy"
            _dbt_style_replace(
                pg, f"{prefix}marts.dim_companies", f"SELECT 'AAA' AS ticker, 'A' AS company_name, '{sector}' AS sector"
            )
            with psycopg.connect(pg.conninfo) as con:  # the build's last step, in one transaction
                con.execute(f"DELETE FROM {prefix}meta.build_info")
                con.execute(f"INSERT INTO {prefix}meta.build_info VALUES (now(), %s)", [f"run-{i}"])

    errors, seen = _readers_during(read_once, five_builds)
    assert not errors, errors
    assert warehouse.build_info().run_id == "run-6"
    assert seen <= {f"run-{i}" for i in range(1, 7)}


def test_pg_unreachable_server_raises_a_database_error(monkeypatch):
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://app:pw@127.0.0.1:1/nothing")
    get_settings.cache_clear()
    try:
        with pytest.raises(warehouse.DATABASE_ERRORS):
            warehouse.build_info()
    finally:
        warehouse.close_all()
        get_settings.cache_clear()


# ----------------------------------------------------------------------------- DuckDB vs PostgreSQL


@contextmanager
def _backend(monkeypatch, env: dict[str, str | None]):
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        yield
    finally:
        warehouse.close_all()
        get_settings.cache_clear()


@pytest.fixture(scope="module")
def both_backends(built_warehouse, built_postgres_warehouse):
    pg = built_postgres_warehouse
    duck = {"WAREHOUSE_SNAPSHOT_PATH": str(built_warehouse.snapshot_path), "WAREHOUSE_URL": None,
            "WAREHOUSE_SCHEMA_PREFIX": None}  # fmt: skip
    return duck, {"WAREHOUSE_URL": pg.url, "WAREHOUSE_SCHEMA_PREFIX": pg.schema_prefix}


def _on_both(monkeypatch, both_backends, read):
    results = []
    for env in both_backends:
        with _backend(monkeypatch, env):
            results.append(read())
    return results


def _preset_names() -> list[str]:
    from domain import screens

    return list(screens.PRESETS)


@pytest.mark.parametrize("name", _preset_names())
def test_duckdb_and_postgres_give_the_same_screen(monkeypatch, both_backends, name):
    from domain import screens

    on_duckdb, on_postgres = _on_both(monkeypatch, both_backends, lambda: warehouse.run_screen(screens.PRESETS[name]))
    assert len(on_duckdb) > 0
    assert list(on_postgres["ticker"]) == list(on_duckdb["ticker"])  # same rows in the same order
    pd.testing.assert_frame_equal(on_postgres, on_duckdb, check_exact=False, rtol=1e-9)  # values and dtypes


def test_duckdb_and_postgres_agree_on_the_stock_page_reads(monkeypatch, both_backends):
    def reads():
        bounds = warehouse.date_bounds("AAPL")
        return (
            warehouse.sectors(),
            warehouse.companies(),
            warehouse.universe_size(),
            bounds,
            warehouse.price_history("AAPL", *bounds),
            warehouse.latest_row("AAPL"),
        )

    duck, pg = _on_both(monkeypatch, both_backends, reads)
    assert duck[0] == pg[0] and duck[2] == pg[2] and duck[3] == pg[3]
    pd.testing.assert_frame_equal(pg[1], duck[1])
    pd.testing.assert_frame_equal(pg[4], duck[4], check_exact=False, rtol=1e-9)
    assert len(pg[4]) > 1000
    assert pg[5].keys() == duck[5].keys()
    pd.testing.assert_series_equal(pd.Series(pg[5]), pd.Series(duck[5]), check_exact=False, rtol=1e-9)

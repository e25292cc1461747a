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
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
import pytest

from dashboards.queries import screener, stock
from domain.settings import Settings
from domain.warehouse import readers
from domain.warehouse.sql import TableNames, to_pyformat


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
def snapshot_env(tmp_path):
    yield tmp_path / "warehouse.snapshot.duckdb"
    readers.close_all()


def test_reads_path_from_settings(snapshot_env, tmp_path):
    settings = Settings.from_values(snapshot_path=snapshot_env, warehouse_path=tmp_path / "writer-never-opened.duckdb")
    reader = readers.open_reader(settings)
    assert reader.path == snapshot_env and reader.backend == "duckdb"


def test_missing_snapshot(snapshot_env):
    reader = readers.snapshot_reader(snapshot_env)
    assert not reader.is_built()
    with pytest.raises(readers.SnapshotMissingError):
        reader.build_info()
    with pytest.raises(FileNotFoundError):  # subclass, so generic handlers work too
        reader.query("SELECT 1")


def test_build_info(snapshot_env, tmp_path):
    reader = readers.snapshot_reader(snapshot_env)
    _publish(tmp_path, snapshot_env, "run-1", ["AAA"])
    info = reader.build_info()
    assert info.run_id == "run-1"
    assert info.built_at == datetime(2024, 5, 6, 7, 8, tzinfo=timezone.utc)


def test_snapshot_is_read_only_and_unchanged(snapshot_env, tmp_path):
    reader = readers.snapshot_reader(snapshot_env)
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
            reader.query(stmt)
    with pytest.raises(duckdb.Error):  # no reading other files through the app's connection
        reader.query("SELECT * FROM read_csv(?)", [str(Path(__file__))])
    with pytest.raises(duckdb.Error):
        reader.query(f"ATTACH '{tmp_path / 'other.duckdb'}' AS other")
    assert screener.sectors(reader) == ["Energy"]
    readers.close_all()
    after = snapshot_env.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size)
    assert snapshot_env.read_bytes() == content
    assert not (tmp_path / "writer-never-opened.duckdb").exists()


def test_swapped_snapshot_is_picked_up(snapshot_env, tmp_path):
    reader = readers.snapshot_reader(snapshot_env)
    _publish(tmp_path, snapshot_env, "run-1", ["AAA"])
    assert reader.build_info().run_id == "run-1"
    first = readers.current_identity(reader.path)
    _publish(tmp_path, snapshot_env, "run-2", ["AAA", "BBB"])
    assert reader.build_info().run_id == "run-2"
    assert reader.query("SELECT count(*) AS n FROM marts.dim_companies").at[0, "n"] == 2
    second = readers.current_identity(reader.path)
    assert second != first and second.inode == snapshot_env.stat().st_ino


def test_query_in_flight_keeps_reading_the_old_file(snapshot_env, tmp_path):
    reader = readers.snapshot_reader(snapshot_env)
    _publish(tmp_path, snapshot_env, "old", ["AAA"])
    with readers._snapshot_cursor(reader.path) as old_cursor:
        _publish(tmp_path, snapshot_env, "new", ["AAA", "BBB"])
        assert reader.build_info().run_id == "new"  # new queries see the new file ...
        # ... while a cursor opened before the swap still reads the old inode
        assert old_cursor.execute("SELECT run_id FROM meta.build_info").fetchone()[0] == "old"
    assert reader.build_info().run_id == "new"


def test_snapshot_removed_after_open(snapshot_env, tmp_path):
    reader = readers.snapshot_reader(snapshot_env)
    _publish(tmp_path, snapshot_env, "run-1", ["AAA"])
    assert reader.build_info().run_id == "run-1"
    snapshot_env.unlink()
    with pytest.raises(readers.SnapshotMissingError):
        reader.build_info()
    _publish(tmp_path, snapshot_env, "run-2", ["AAA"])
    assert reader.build_info().run_id == "run-2"


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
    reader = readers.snapshot_reader(snapshot_env)
    _publish(tmp_path, snapshot_env, "run-0", ["AAA"])

    def publish_five() -> None:
        for i in range(1, 6):
            _publish(tmp_path, snapshot_env, f"run-{i}", ["AAA"])

    errors, seen = _readers_during(lambda: reader.build_info().run_id, publish_five)
    assert not errors, errors
    assert reader.build_info().run_id == "run-5"
    assert seen <= {f"run-{i}" for i in range(6)}


# ----------------------------------------------------------------------------- schema prefix, SQL for PostgreSQL


def test_table_names_come_from_settings():
    assert readers.open_reader(Settings.from_values()).table("marts", "mart_screener_latest") == "marts.mart_screener_latest"
    assert readers.open_reader(Settings.from_values(schema_prefix="t_")).table("meta", "build_info") == "t_meta.build_info"
    # not a plain identifier: quoted, quotes doubled
    assert TableNames('Dev "x" ').table("marts", "dim_companies") == '"Dev ""x"" marts".dim_companies'


@pytest.mark.integration
def test_prefixed_schemas_on_duckdb(tmp_path):
    snapshot = tmp_path / "prefixed.duckdb"
    with duckdb.connect(str(snapshot)) as con:
        con.execute("CREATE SCHEMA p_meta; CREATE SCHEMA p_marts; CREATE SCHEMA marts")
        con.execute("CREATE TABLE p_meta.build_info AS SELECT TIMESTAMPTZ '2024-05-06 07:08:00+00' AS built_at, 'p-run' AS run_id")
        con.execute("CREATE TABLE p_marts.dim_companies AS SELECT 'AAA' AS ticker, 'A' AS company_name, 'Energy' AS sector")
        con.execute("CREATE TABLE marts.dim_companies AS SELECT 'ZZZ' AS ticker, 'Z' AS company_name, 'Wrong' AS sector")
    reader = readers.open_reader(Settings.from_values(snapshot_path=snapshot, schema_prefix="p_"))
    try:
        assert reader.build_info().run_id == "p-run"
        assert screener.sectors(reader) == ["Energy"]
    finally:
        readers.close_all()


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
    assert to_pyformat(sql) == expected


def test_screen_sql_for_postgres_orders_text_by_code_point():
    from domain import screens

    spec = screens.ScreenSpec(text="a%b", sort_by="company_name", descending=False)
    q = screens.build_screen_query(spec, table="t_marts.mart_screener_latest", dialect="postgres")
    assert 'FROM t_marts.mart_screener_latest WHERE' in q.sql
    assert q.sql.endswith('ORDER BY company_name COLLATE "C" ASC NULLS LAST, ticker COLLATE "C" ASC')
    converted = to_pyformat(q.sql)
    assert converted.count("%s") == len(q.params) == 2 and "ESCAPE '\\'" in converted
    with pytest.raises(ValueError, match="dialect"):
        screens.build_screen_query(spec, dialect="sqlite")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- PostgreSQL


def _admin(pg) -> psycopg.Connection:
    return psycopg.connect(pg.conninfo, autocommit=True)


@pytest.fixture()
def pg_env(built_postgres_warehouse):
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
    yield pg, prefix, readers.open_reader(Settings.from_values(warehouse_url=pg.url, schema_prefix=prefix))
    readers.close_all()
    with _admin(pg) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {prefix}meta CASCADE")
        con.execute(f"DROP SCHEMA IF EXISTS {prefix}marts CASCADE")


def test_pg_build_info(pg_env):
    pg, prefix, reader = pg_env
    assert reader.backend == "postgres" and reader.is_built()
    info = reader.build_info()
    assert info == readers.BuildInfo(datetime(2024, 5, 6, 7, 8, tzinfo=timezone.utc), "run-1")
    assert info.built_at.utcoffset() == timedelta(0)
    assert pg.dbname in reader.describe() and "@" not in reader.describe()
    with _admin(pg) as con:
        con.execute(f"DELETE FROM {prefix}meta.build_info")
    assert reader.build_info() is None
    with _admin(pg) as con:
        con.execute(f"DROP TABLE {prefix}meta.build_info")
    with pytest.raises(readers.WarehouseNotBuiltError):
        reader.build_info()
    assert not reader.is_built()
    with _admin(pg) as con:
        con.execute(f"DROP SCHEMA {prefix}meta")
    with pytest.raises(readers.BuildInfoMissingError):
        reader.build_info()


def test_pg_sessions_are_read_only(pg_env):
    pg, prefix, reader = pg_env
    settings = reader.query("SELECT current_setting('default_transaction_read_only') AS ro, "
                               "current_setting('transaction_read_only') AS tro")  # fmt: skip
    assert settings.iloc[0].tolist() == ["on", "on"]
    for stmt in (
        f"CREATE TABLE {prefix}marts.evil AS SELECT 1",
        f"DELETE FROM {prefix}marts.dim_companies",
        f"INSERT INTO {prefix}meta.build_info VALUES (now(), 'x')",
        f"DROP TABLE {prefix}marts.dim_companies",
    ):
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            reader.query(stmt)
    assert screener.sectors(reader) == ["Energy"]
    assert reader.build_info().run_id == "run-1"


def test_pg_parameters_are_bound(pg_env):
    _, prefix, reader = pg_env
    frame = reader.query("SELECT ? AS a, '?' AS b, 'x%' AS c, ? AS d", ["it's; DROP TABLE x", 5])
    assert frame.iloc[0].tolist() == ["it's; DROP TABLE x", "?", "x%", 5]
    assert reader.query(f"SELECT count(*) AS n FROM {prefix}marts.dim_companies WHERE ticker = ?", ["AAA' OR '1'='1"]).at[0, "n"] == 0


def _typed_table(con, name: str, with_nulls: bool) -> None:
    con.execute(
        f"CREATE TABLE {name} AS SELECT * FROM (VALUES "
        "(1::BIGINT, 1.5::DOUBLE PRECISION, 2::INTEGER, TRUE, DATE '2018-02-07', 'a'::VARCHAR), "
        "(2::BIGINT, 2.5::DOUBLE PRECISION, 3::INTEGER, FALSE, DATE '2018-02-08', 'b'::VARCHAR)"
        + (", (NULL, NULL, NULL, NULL, NULL, NULL)" if with_nulls else "")
        + ") AS v(i, d, n, b, dt, s)"
    )


@pytest.mark.parametrize("with_nulls", [False, True])
def test_pg_dtypes_match_duckdb(pg_env, tmp_path, with_nulls):
    pg, prefix, reader = pg_env
    with _admin(pg) as con:
        _typed_table(con, f"{prefix}marts.typed", with_nulls)
        con.execute(f"ALTER TABLE {prefix}marts.typed ALTER COLUMN n TYPE numeric(10, 2)")  # numerics come as float
    on_pg = reader.query(f"SELECT * FROM {prefix}marts.typed ORDER BY i NULLS LAST")
    empty_pg = reader.query(f"SELECT * FROM {prefix}marts.typed WHERE false")
    snapshot = tmp_path / "typed.duckdb"
    with duckdb.connect(str(snapshot)) as con:
        con.execute("CREATE SCHEMA marts")
        _typed_table(con, "marts.typed", with_nulls)
        con.execute("ALTER TABLE marts.typed ALTER n TYPE DOUBLE")
    on_duckdb = readers.snapshot_reader(snapshot).query("SELECT * FROM marts.typed ORDER BY i NULLS LAST")
    empty_duckdb = readers.snapshot_reader(snapshot).query("SELECT * FROM marts.typed WHERE false")
    pd.testing.assert_frame_equal(on_pg, on_duckdb)
    pd.testing.assert_frame_equal(empty_pg, empty_duckdb)
    assert str(on_pg["dt"].dtype) == "datetime64[us]" and on_pg["d"].dtype == "float64"
    assert on_pg["b"].dtype == ("boolean" if with_nulls else "bool")


def test_pg_reconnects_after_the_connection_is_killed(pg_env):
    pg, _, reader = pg_env
    pid = int(reader.query("SELECT pg_backend_pid() AS pid").at[0, "pid"])
    with _admin(pg) as con:
        con.execute("SELECT pg_terminate_backend(%s)", [pid])
    assert reader.build_info().run_id == "run-1"
    assert int(reader.query("SELECT pg_backend_pid() AS pid").at[0, "pid"]) != pid


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
    pg, prefix, reader = pg_env
    table = f"{prefix}marts.dim_companies"
    for _ in range(8):
        assert reader.query(f"SELECT * FROM {table} WHERE ticker = ?", ["AAA"]).shape == (1, 3)
    _dbt_style_replace(pg, table, f"SELECT *, 'x'::text AS extra FROM {table}")
    frame = reader.query(f"SELECT * FROM {table} WHERE ticker = ?", ["AAA"])
    assert list(frame.columns) == ["ticker", "company_name", "sector", "extra"]


def test_pg_readers_keep_working_during_builds(pg_env):
    pg, prefix, reader = pg_env

    def read_once() -> str:
        info = reader.build_info()
        assert info is not None  # never between the delete and the insert of a build
        assert screener.sectors(reader)[0] in {"Energy", "Utilities"}
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
    assert reader.build_info().run_id == "run-6"
    assert seen <= {f"run-{i}" for i in range(1, 7)}


@pytest.mark.integration
def test_pg_unreachable_server_raises_a_database_error():
    reader = readers.open_reader(Settings.from_values(warehouse_url="postgresql://app:pw@127.0.0.1:1/nothing"))
    try:
        with pytest.raises(readers.DATABASE_ERRORS):
            reader.build_info()
    finally:
        readers.close_all()


# ----------------------------------------------------------------------------- DuckDB vs PostgreSQL


@pytest.fixture(scope="module")
def both_backends(built_warehouse, built_postgres_warehouse):
    pg = built_postgres_warehouse
    duck = Settings.from_values(snapshot_path=built_warehouse.snapshot_path)
    return duck, Settings.from_values(warehouse_url=pg.url, schema_prefix=pg.schema_prefix)


def _on_both(both_backends, read):
    results = []
    for settings in both_backends:
        try:
            results.append(read(readers.open_reader(settings)))
        finally:
            readers.close_all()
    return results


def _preset_names() -> list[str]:
    from domain import screens

    return list(screens.preset_names())


@pytest.mark.parametrize("name", _preset_names())
def test_duckdb_and_postgres_give_the_same_screen(both_backends, name):
    from domain import screens

    on_duckdb, on_postgres = _on_both(both_backends, lambda reader: screener.run_screen(reader, screens.presets()[name]))
    spec = screens.presets()[name]
    if set(spec.markets) <= {"US"}:  # any market, or the US: the bundled build's
        assert len(on_duckdb) > 0
    assert set(on_duckdb["market"]) <= set(spec.markets or on_duckdb["market"])  # within the preset's markets
    assert list(on_postgres["ticker"]) == list(on_duckdb["ticker"])  # same rows in the same order
    pd.testing.assert_frame_equal(on_postgres, on_duckdb, check_exact=False, rtol=1e-9)  # values and dtypes


def test_duckdb_and_postgres_agree_on_the_stock_page_reads(both_backends):
    def reads(reader):
        bounds = stock.date_bounds(reader, "AAPL")
        return (
            screener.sectors(reader),
            stock.companies(reader),
            screener.universe_size(reader),
            bounds,
            # computed_at is when each build ran: it differs between the two builds by design
            stock.price_history(reader, "AAPL", *bounds).drop(columns="computed_at", errors="ignore"),
            {k: v for k, v in stock.latest_row(reader, "AAPL").items() if k != "computed_at"},
        )

    duck, pg = _on_both(both_backends, reads)
    assert duck[0] == pg[0] and duck[2] == pg[2] and duck[3] == pg[3]
    pd.testing.assert_frame_equal(pg[1], duck[1])
    pd.testing.assert_frame_equal(pg[4], duck[4], check_exact=False, rtol=1e-9)
    assert len(pg[4]) > 1000
    assert pg[5].keys() == duck[5].keys()
    pd.testing.assert_series_equal(pd.Series(pg[5]), pd.Series(duck[5]), check_exact=False, rtol=1e-9)

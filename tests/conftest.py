"""Shared fixtures and the rules every test runs under.

Two layers. Unit tests use no warehouse, no build and run no Dagster job (``make test-fast``,
``pytest -m "not integration"``): :func:`unit_tests_touch_no_warehouse` makes them fail if they
do. Integration tests are marked ``integration``, explicitly or because they use a warehouse
fixture (:data:`WAREHOUSE_FIXTURES`), and share ONE built warehouse per backend and session:

``built_warehouse``
    the whole bundled build on DuckDB (the same Dagster job and range ``make build`` runs) into a
    temporary folder, with the KRX feed on a cut of the bundled KRX file (about 50 tickers, see
    :func:`tests.data_files.krx_cut`; the whole file takes minutes on PostgreSQL); tests that
    write copy it first (:func:`copy_built_warehouse`).
``built_postgres_warehouse``
    the same build on PostgreSQL, in a database it creates and drops, with a schema prefix.
``krx_full_warehouse``
    the bundled KRX file whole (2.4 M rows, feed ``krx`` only) on DuckDB, loaded by the prices
    asset and with ``fct_daily_indicators`` and the models it is built from (``dbt build``, their
    data tests included): TA-Lib equality on every Korean ticker. Nothing else is built (no
    other source, no snapshot, no alerts): the TA-Lib tests read only these tables.

Under ``pytest-xdist`` the builds are made once per session, not once per worker: the first
worker that needs one builds it under a file lock in the session's shared temporary folder, the
others wait and reuse it. The modules of :data:`ONE_WORKER_MODULES` run whole on one worker, so
their module-scoped warehouses are made once too. Set ``TEST_WAREHOUSE_PATH`` (and optionally
``TEST_SNAPSHOT_PATH``) to reuse an already built DuckDB file while developing.

Configuration: tests build :class:`~domain.settings.Settings` values (:func:`test_settings`) and
pass them on; the product's environment variables are removed for the session, and a test that
changes one and leaves it changed fails (:func:`configuration_does_not_leak`).

PostgreSQL: ``TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``)
names a server where the tests may create databases. Without a reachable server the
PostgreSQL tests skip with the reason, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from domain.settings import PostgresConnection, Settings

REPO_ROOT = Path(__file__).resolve().parents[1]

# The suite's own dbt target folder, set before anything imports pipelines (test_definitions
# imports the dbt assets while tests are collected): never the one `make build` / `make demo`
# use, so tests beside a served demo never write the manifest its code location reads. One
# folder for every session and xdist worker; parse_atomically's lock keeps them apart.
os.environ.setdefault(
    "DBT_TARGET_PATH", str(Path(tempfile.gettempdir()) / f"stock-warehouse-tests-dbt-target-{os.getuid()}")
)
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DEFAULT_TEST_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


PRODUCT_ENVIRONMENT = Settings.environment_variables()


# --------------------------------------------------------------------------- layers and rules

#: Fixtures that give a test a warehouse: a test using any of them (directly or through another
#: fixture) is an integration test.
WAREHOUSE_FIXTURES = frozenset(
    {
        # shared builds (this file) and the app harness
        "built_warehouse", "built_postgres_warehouse", "postgres_server", "source", "app_on", "warehouse_con",
        "krx_full_warehouse",
        # warehouses that test modules make for themselves
        "small_warehouse", "priced_duckdb", "first_ingest", "marts_template", "warehouse_file", "snapshot_env",
        "pg_env", "pg_scratch_prefix", "both_backends", "snapshot", "duckdb_build", "postgres_build", "build",
        "sec_settings", "postgres_sec_db",
        "alert_settings",
    }
)  # fmt: skip


def pytest_collection_modifyitems(config, items):
    """Mark as ``integration`` every test that uses a warehouse fixture; the rest is the unit
    layer (``make test-fast``: ``pytest -m "not integration"``)."""
    for item in items:
        if WAREHOUSE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


class WarehouseInUnitTest(AssertionError):
    """A unit test opened a database or ran a Dagster job: mark it ``integration``."""


@pytest.fixture(autouse=True)
def unit_tests_touch_no_warehouse(request, monkeypatch) -> None:
    """In the unit layer, opening a DuckDB file or a PostgreSQL connection, or executing a
    Dagster job, fails the test (in-memory DuckDB is allowed): the layers are checked, not
    trusted."""
    if request.node.get_closest_marker("integration"):
        return
    import duckdb
    import psycopg
    from dagster import JobDefinition

    real_connect = duckdb.connect

    def duckdb_connect(database=":memory:", *args, **kwargs):
        if str(database) not in (":memory:", ""):
            raise WarehouseInUnitTest(f"unit test opened the DuckDB file {database}: mark it integration")
        return real_connect(database, *args, **kwargs)

    def refuse(what):
        def refused(*args, **kwargs):
            raise WarehouseInUnitTest(f"unit test {what}: mark it integration")

        return refused

    monkeypatch.setattr(duckdb, "connect", duckdb_connect)
    monkeypatch.setattr(psycopg, "connect", refuse("connected to PostgreSQL"))
    monkeypatch.setattr(JobDefinition, "execute_in_process", refuse("executed a Dagster job"))


@pytest.fixture(scope="session", autouse=True)
def builds_start_at_once(request, hermetic_environment) -> None:
    """Under ``pytest -n 2`` the two shared builds start together, one per worker, before any test:
    worker ``gw0`` builds the DuckDB warehouse and ``gw1`` the PostgreSQL one, when a selected
    test needs it (the other worker reuses each build; see :func:`_once_per_session`)."""
    wanted = {"gw0": "built_warehouse", "gw1": "built_postgres_warehouse"}.get(os.environ.get("PYTEST_XDIST_WORKER", ""))
    if wanted and any(wanted in getattr(item, "fixturenames", ()) for item in request.session.items):
        try:
            request.getfixturevalue(wanted)
        except pytest.skip.Exception:
            pass  # no PostgreSQL here: the tests that need it skip with the reason


#: Test modules whose tests all run on one xdist worker, one after another (``--dist loadgroup``):
#: their module-scoped fixtures build warehouses, compute oracles or start a server, once instead
#: of once on each worker that gets one of their tests. Listed here because the ``xdist_group``
#: mark has no effect with pytest 9 (pytest-xdist 3.8 tags a marked test by rewriting
#: ``item._nodeid``, which pytest 9 no longer reads), so test_browser_walk's mark alone did not
#: keep it together.
ONE_WORKER_MODULES = frozenset(
    {
        "tests/test_backtest_engine.py", "tests/test_browser_walk.py", "tests/test_indicators_talib.py",
        "tests/test_news_ingest.py", "tests/test_portfolio_currency.py", "tests/test_portfolio_marts.py",
        "tests/test_yahoo_prices.py",
    }
)  # fmt: skip

#: Modules holding the suite's longest tests (each a build or a served app of its own): one unit of
#: work each as well, so xdist hands them out right after the groups above (it hands out the units
#: with the most tests first, then single tests in collection order) and not at the end of the
#: run, where one of them would keep one worker busy while the other has nothing left to do.
EARLY_MODULES = frozenset(
    {
        "tests/test_build_output.py", "tests/test_incremental_build.py", "tests/test_reference_data.py",
        "tests/test_serve.py",
    }
)  # fmt: skip


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Under ``--dist loadgroup``: xdist's group scheduling, with each module of
    :data:`ONE_WORKER_MODULES` and :data:`EARLY_MODULES` one group (one unit of work, its tests in
    collection order); other modes keep xdist's own scheduler (None)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class ModuleGroups(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            grouped = module in ONE_WORKER_MODULES or module in EARLY_MODULES
            return module if grouped else super()._split_scope(nodeid)

    return ModuleGroups(config, log)


@pytest.fixture(scope="session", autouse=True)
def hermetic_environment() -> Iterator[None]:
    """Remove the product's environment variables for the session (restored afterwards), so a
    developer's shell cannot change what a test sees."""
    saved = {name: os.environ.pop(name) for name in PRODUCT_ENVIRONMENT if name in os.environ}
    yield
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def configuration_does_not_leak(request) -> Iterator[None]:
    """Fail the test that leaves a product environment variable changed."""
    before = {name: os.environ.get(name) for name in PRODUCT_ENVIRONMENT}
    yield
    after = {name: os.environ.get(name) for name in PRODUCT_ENVIRONMENT}
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    assert not changed, f"{request.node.nodeid} left configuration in the environment: {changed}"


# --------------------------------------------------------------------------- settings


def test_settings(folder: Path, **values: Any) -> Settings:
    """Settings of a test: the DuckDB warehouse, its snapshot and the raw HTTP responses in
    ``folder``, the alert rules a copy of the shipped example in ``folder`` (never the
    developer's own ``data/alerts/rules.yml``), and an empty strategies folder (no backtest runs
    after a build); ``values`` override any field; nothing is read from the environment."""
    rules = Path(folder) / "rules.yml"
    if "alert_rules_file" not in values and not rules.exists():
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO_ROOT / "data" / "alerts" / "rules.example.yml", rules)
    defaults: dict[str, Any] = {
        "warehouse_path": folder / "warehouse.duckdb",
        "snapshot_path": folder / "warehouse.snapshot.duckdb",
        "raw_responses_dir": folder / "raw",
        "alert_rules_file": rules,
        # no strategy file unless a test asks (the session builds run the shipped ones)
        "strategies_dir": folder / "strategies",
        # the US feed only unless a test asks for more: the bundled KRX file is 2.4 M rows
        "price_feeds": ("us",),
    }
    return Settings.from_values(**{**defaults, **values})


test_settings.__test__ = False  # a helper, not a test


def resources_for(settings: Settings) -> dict[str, Any]:
    """The Dagster resources of ``settings`` (secrets as plain values)."""
    from pipelines.lib.resources import build_resources

    return build_resources(settings, environ={})


def materialize_prices(first: str, last: str, instance, settings: Settings, raise_on_error: bool = True):
    """Run the prices asset alone over the session keys ``first..last``."""
    from dagster import materialize

    from pipelines.defs.prices.assets import prices_daily

    return materialize(
        [prices_daily],
        resources=resources_for(settings),
        instance=instance,
        run_config={"ops": {"raw__prices_daily": {"config": {"first_session": first, "last_session": last}}}},
        raise_on_error=raise_on_error,
    )


@pytest.fixture(scope="session")
def definitions():
    """The Dagster code location with default settings (loading it needs no warehouse)."""
    from pipelines.definitions import build_definitions

    return build_definitions(Settings.from_values(), environ={})


# --------------------------------------------------------------------------- small warehouses


@pytest.fixture(scope="module")
def priced_duckdb(tmp_path_factory) -> Path:
    """A DuckDB warehouse with the prices of five tickers 2017-01-03..2018-02-07
    (``fixtures/sp500_5tickers_2017-01_2018-02.csv``), built once per test module: copy it."""
    from dagster import DagsterInstance

    from tests.data_files import sample_fixture

    directory = tmp_path_factory.mktemp("five_ticker_prices")
    settings = test_settings(directory, prices_csv=sample_fixture("sp500_5tickers_2017-01_2018-02.csv"))
    with DagsterInstance.ephemeral() as instance:
        materialize_prices("2017-01-03", "2018-02-07", instance, settings)
    return settings.warehouse_path


# --------------------------------------------------------------------------- user-data folders


@pytest.fixture()
def portfolios_dir(tmp_path) -> Path:
    """A portfolio folder in ``tmp_path`` holding a copy of the shipped example transaction file
    (``data/portfolios/example_us_core.csv``): what a page test may write to."""
    folder = tmp_path / "portfolios"
    folder.mkdir()
    shutil.copy(REPO_ROOT / "data" / "portfolios" / "example_us_core.csv", folder / "example_us_core.csv")
    return folder


@pytest.fixture()
def first_use(tmp_path) -> tuple[Path, Path]:
    """An alert-rules folder as in a fresh checkout, the tracked example only:
    ``(rules file (absent), example)``."""
    example = tmp_path / "alerts" / "rules.example.yml"
    example.parent.mkdir()
    example.write_bytes((REPO_ROOT / "data" / "alerts" / "rules.example.yml").read_bytes())
    return tmp_path / "alerts" / "rules.yml", example


# --------------------------------------------------------------------------- shared builds


@dataclass(frozen=True)
class BuiltWarehouse:
    """The session's DuckDB build and the settings it was built with."""

    settings: Settings

    @property
    def warehouse_path(self) -> Path:
        return self.settings.warehouse_path

    @property
    def snapshot_path(self) -> Path:
        return self.settings.snapshot_path


@dataclass(frozen=True)
class BuiltPostgresWarehouse:
    url: str
    conninfo: str
    dbname: str
    schema_prefix: str

    @property
    def connection(self) -> PostgresConnection:
        return PostgresConnection.from_url(self.url)


@contextmanager
def _once_per_session(tmp_path_factory, name: str) -> Iterator[tuple[Path, bool]]:
    """``(folder, first)``: a folder shared by every xdist worker of this session, and whether
    this process is the first to hold it (then it must build into it). Held under a file lock."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    folder = root / f"shared-{name}"
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        done = folder / "done.json"
        yield folder, not done.exists()


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory) -> BuiltWarehouse:
    """The whole bundled build on DuckDB, made once per session (see the module docstring)."""
    override = os.environ.get("TEST_WAREHOUSE_PATH")
    if override:
        path = Path(override).resolve()
        snapshot = Path(os.environ.get("TEST_SNAPSHOT_PATH", path)).resolve()
        return BuiltWarehouse(Settings.from_values(warehouse_path=path, snapshot_path=snapshot))
    return _duckdb_build_once(tmp_path_factory, "duckdb-build", "the full build of the bundled data", both_feeds)


def _duckdb_build_once(tmp_path_factory, name: str, what: str, values) -> BuiltWarehouse:
    """A whole build on DuckDB with the settings ``values(folder)``, made once per session in the
    shared folder ``name`` (see :func:`_once_per_session`)."""
    with _once_per_session(tmp_path_factory, name) as (folder, first):
        settings = test_settings(folder, **values(folder))
        if first:
            from dagster import DagsterInstance

            from pipelines.build import run_build

            with DagsterInstance.ephemeral() as instance:
                result = run_build(settings, instance=instance)
            assert result.success, f"{what} failed"
            (folder / "done.json").write_text(json.dumps({"build_run_id": result.build_run_id}))
    return BuiltWarehouse(settings)


def both_feeds(folder: Path) -> dict[str, Any]:
    """Settings values of the session builds: both price feeds, the KRX one on the suite's cut
    of the bundled KRX file (written into ``folder`` at test time), and the shipped strategy
    files (``data/strategies``: the build runs them)."""
    from tests.data_files import krx_cut

    return {"price_feeds": ("us", "krx"), "krx_prices_csv": krx_cut(folder / "krx_cut.csv.gz"),
            "strategies_dir": REPO_ROOT / "data" / "strategies"}  # fmt: skip


#: The dbt selection of :func:`krx_full_warehouse`: the indicator mart and every model upstream.
INDICATOR_MODELS = "+fct_daily_indicators"


@pytest.fixture(scope="session")
def krx_full_warehouse(tmp_path_factory) -> BuiltWarehouse:
    """The bundled KRX price file whole (feed ``krx`` only) on DuckDB, once per session: the
    prices asset (with the corporate actions asset, whose table dbt reads) loads it, then
    ``dbt build`` of :data:`INDICATOR_MODELS` (models and the data tests on them alone; dbt's
    unit tests run in tests/test_dbt_unit_tests.py). No snapshot is published
    (``snapshot_path`` does not exist)."""
    with _once_per_session(tmp_path_factory, "krx-full-build") as (folder, first):
        settings = test_settings(folder, price_feeds=("krx",))
        if first:
            _build_prices_and_indicators(settings, folder / "dbt-target")
            (folder / "done.json").write_text(json.dumps({"dbt_select": INDICATOR_MODELS}))
    return BuiltWarehouse(settings)


def _build_prices_and_indicators(settings: Settings, target_path: Path) -> None:
    """Materialize the prices and corporate-actions assets with the resources of ``settings``,
    then ``dbt build --select`` :data:`INDICATOR_MODELS` (``target_path``: dbt's artifacts)."""
    from dagster import DagsterInstance, materialize

    from pipelines.defs.prices.assets import prices_daily
    from pipelines.defs.prices.corporate_actions import corporate_actions

    resources = resources_for(settings)
    with DagsterInstance.ephemeral() as instance:
        assert materialize([prices_daily, corporate_actions], resources=resources, instance=instance).success
    args = ["build", "--select", INDICATOR_MODELS, "--indirect-selection", "cautious",
            "--exclude-resource-type", "unit_test"]  # fmt: skip
    error = resources["dbt"].cli(args, target_path=target_path, raise_on_error=False).wait().get_error()
    assert error is None, f"dbt {' '.join(args)} on the whole KRX file failed: {str(error)[-4000:]}"


def copy_built_warehouse(built: BuiltWarehouse, folder: Path, **values: Any) -> Settings:
    """A private copy of the session's DuckDB build (writer file and snapshot) in ``folder``, for
    a test that writes; returns its settings (``values`` override fields)."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = test_settings(folder, **values)
    shutil.copyfile(built.warehouse_path, settings.warehouse_path)
    shutil.copyfile(built.snapshot_path, settings.snapshot_path)
    return settings


@pytest.fixture(scope="module")
def warehouse_con(built_warehouse):
    """Read-only DuckDB connection to the built warehouse (the writer's file)."""
    import duckdb

    connection = duckdb.connect(str(built_warehouse.warehouse_path), read_only=True)
    yield connection
    connection.close()


def postgres_admin_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of a reachable PostgreSQL server, else skip (fail under ``CI=true``)."""
    import psycopg

    from domain.warehouse.postgres_backend import conninfo

    url = postgres_admin_url()
    try:
        with psycopg.connect(conninfo(PostgresConnection.from_url(url)), connect_timeout=5) as con:
            con.execute("select 1")
    except psycopg.OperationalError as error:
        reason = f"PostgreSQL not reachable at {url} (set TEST_POSTGRES_URL): {error}".strip()
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)
    return url


def _create_database(admin_url: str, dbname: str) -> BuiltPostgresWarehouse:
    import psycopg

    from domain.warehouse.postgres_backend import conninfo

    admin = PostgresConnection.from_url(admin_url)
    with psycopg.connect(conninfo(admin), autocommit=True) as con:
        con.execute(f'create database "{dbname}"')
    target = PostgresConnection(admin.host, admin.port, admin.user, admin.password, dbname)
    return BuiltPostgresWarehouse(url=target.url(), conninfo=conninfo(target), dbname=dbname, schema_prefix="t_")


def _drop_database(admin_url: str, dbname: str) -> None:
    import psycopg

    from domain.warehouse.postgres_backend import conninfo

    with psycopg.connect(conninfo(PostgresConnection.from_url(admin_url)), autocommit=True) as con:
        con.execute(f'drop database if exists "{dbname}" with (force)')


@contextmanager
def scratch_database(admin_url: str, label: str) -> Iterator[BuiltPostgresWarehouse]:
    """Create a fresh database on the server of ``admin_url``; drop it on exit."""
    database = _create_database(admin_url, f"sw_test_{label}_{uuid.uuid4().hex[:8]}")
    try:
        yield database
    finally:
        _drop_database(admin_url, database.dbname)


def postgres_settings(database: BuiltPostgresWarehouse, folder: Path, **values: Any) -> Settings:
    """Settings that point the whole product at ``database`` (raw responses in ``folder``)."""
    return test_settings(folder, warehouse_url=database.url, schema_prefix=database.schema_prefix, **values)


@pytest.fixture(scope="session")
def built_postgres_warehouse(postgres_server, tmp_path_factory) -> BuiltPostgresWarehouse:
    """The full bundled build on PostgreSQL (schema prefix ``t_``) in a database of its own, made
    once per session and dropped when the session ends (:func:`pytest_sessionfinish`)."""
    with _once_per_session(tmp_path_factory, "postgres-build") as (folder, first):
        if first:
            from dagster import DagsterInstance

            from pipelines.build import run_build

            database = _create_database(postgres_server, f"sw_test_build_{uuid.uuid4().hex[:8]}")
            with DagsterInstance.ephemeral() as instance:
                result = run_build(postgres_settings(database, folder, **both_feeds(folder)), instance=instance)
            assert result.success, "the full build on PostgreSQL failed"
            (folder / "done.json").write_text(json.dumps({**database.__dict__, "admin_url": postgres_server}))
        else:
            stored = json.loads((folder / "done.json").read_text())
            stored.pop("admin_url")
            database = BuiltPostgresWarehouse(**stored)
    return database


def pytest_sessionfinish(session, exitstatus):
    """Drop the shared PostgreSQL build's database once every worker has finished (this hook runs
    last in the main process, after the xdist workers)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    done = factory.getbasetemp() / "shared-postgres-build" / "done.json"
    if done.exists():
        stored = json.loads(done.read_text())
        _drop_database(stored["admin_url"], stored["dbname"])
        done.unlink()


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def source(request):
    """A built warehouse per backend with an independent reader (tests/app_harness.py)."""
    from tests.app_harness import make_source

    return make_source(request)


@pytest.fixture()
def app_on(source):
    """``source`` for one app test (readers closed afterwards; tests/app_harness.py)."""
    from domain.warehouse import readers

    yield source
    readers.close_all()

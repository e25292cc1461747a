"""Shared fixtures.

``built_warehouse`` builds the whole warehouse once per test session from the bundled
real data, with the same Dagster job and range ``make build`` runs, into a temporary
DuckDB file. ``built_postgres_warehouse`` does the same on PostgreSQL, in a database it
creates and drops, with a schema prefix. Set ``TEST_WAREHOUSE_PATH`` (and optionally
``TEST_SNAPSHOT_PATH``) to reuse an already built DuckDB file while developing.

PostgreSQL: ``TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``)
names a server where the tests may create databases. Without a reachable server the
PostgreSQL tests skip with the reason, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SETTINGS_ENV = (
    "WAREHOUSE_PATH", "WAREHOUSE_SNAPSHOT_PATH", "PRICES_CSV", "WAREHOUSE_URL", "WAREHOUSE_SCHEMA_PREFIX",
    "PRICE_SOURCE", "YAHOO_TICKERS", "RAW_RESPONSES_DIR", "NEWS_FEEDS", "PORTFOLIOS_DIR", "PORTFOLIO_BENCHMARK",
    "RISK_FREE_RATE", "ALERT_RULES_FILE", "ALERT_WEBHOOK_URL", "SMTP_HOST", "ALERT_EMAIL_TO",
)  # fmt: skip
DEFAULT_TEST_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class BuiltWarehouse:
    warehouse_path: Path
    snapshot_path: Path
    run_success: bool | None = None


@dataclass(frozen=True)
class BuiltPostgresWarehouse:
    url: str
    conninfo: str
    dbname: str
    schema_prefix: str


def use_warehouse(
    warehouse: Path,
    snapshot: Path | None = None,
    prices_csv: Path | None = None,
    url: str | None = None,
    schema_prefix: str = "",
    price_source: str | None = None,
    yahoo_tickers: str | None = None,
    raw_responses: Path | None = None,
    news_feeds: str | None = None,
) -> None:
    """Point the process's settings (env vars read by ``pipelines.lib.settings``) at these.

    Raw HTTP responses go to ``raw_responses`` (default: ``raw/`` beside the warehouse file), so
    a test never reads or writes the developer's ``data/raw``.
    """
    from pipelines.lib.settings import get_settings

    values = {
        "WAREHOUSE_PATH": str(warehouse),
        "WAREHOUSE_SNAPSHOT_PATH": str(snapshot or warehouse.with_name("snapshot.duckdb")),
        "PRICES_CSV": str(prices_csv) if prices_csv else None,
        "WAREHOUSE_URL": url,
        "WAREHOUSE_SCHEMA_PREFIX": schema_prefix or None,
        "PRICE_SOURCE": price_source,
        "YAHOO_TICKERS": yahoo_tickers,
        "RAW_RESPONSES_DIR": str(raw_responses or warehouse.with_name("raw")),
        "NEWS_FEEDS": news_feeds,  # unset by default: test builds never poll real feeds
    }
    _set_env(values)
    get_settings.cache_clear()


def _set_env(values: dict[str, str | None]) -> None:
    """Set each variable, or remove it where the value is None."""
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@contextmanager
def saved_settings_env() -> Iterator[None]:
    """Restore the settings' env vars (and the settings cache) on exit."""
    from pipelines.lib.settings import get_settings

    saved = {key: os.environ.get(key) for key in SETTINGS_ENV}
    try:
        yield
    finally:
        _set_env(saved)
        get_settings.cache_clear()


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory) -> BuiltWarehouse:
    override = os.environ.get("TEST_WAREHOUSE_PATH")
    if override:
        path = Path(override).resolve()
        snapshot = Path(os.environ.get("TEST_SNAPSHOT_PATH", path)).resolve()
        return BuiltWarehouse(path, snapshot)

    from dagster import DagsterInstance

    from pipelines.build import run_build

    directory = tmp_path_factory.mktemp("warehouse")
    warehouse = directory / "warehouse.duckdb"
    snapshot = directory / "warehouse.snapshot.duckdb"
    with saved_settings_env():
        use_warehouse(warehouse, snapshot)
        with DagsterInstance.ephemeral() as instance:
            success = run_build(instance=instance)
    assert success, "the full build of the bundled data failed"
    return BuiltWarehouse(warehouse, snapshot, success)


@pytest.fixture(scope="module")
def warehouse_con(built_warehouse):
    """Read-only DuckDB connection to the built warehouse (the writer's file)."""
    import duckdb

    connection = duckdb.connect(str(built_warehouse.warehouse_path), read_only=True)
    yield connection
    connection.close()


def materialize_prices(first: str, last: str, instance, raise_on_error: bool = True):
    """Run the prices asset alone over the session keys ``first..last`` with the current settings."""
    from dagster import materialize

    from pipelines.defs.prices.assets import prices_daily
    from pipelines.lib.resources import build_resources
    from pipelines.lib.settings import load_settings

    return materialize(
        [prices_daily],
        resources=build_resources(load_settings()),
        instance=instance,
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        raise_on_error=raise_on_error,
    )


def postgres_admin_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of a reachable PostgreSQL server, else skip (fail under ``CI=true``)."""
    import psycopg

    from pipelines.lib.settings import PostgresConnection

    url = postgres_admin_url()
    try:
        with psycopg.connect(PostgresConnection.from_url(url).conninfo(), connect_timeout=5) as con:
            con.execute("select 1")
    except psycopg.OperationalError as error:
        reason = f"PostgreSQL not reachable at {url} (set TEST_POSTGRES_URL): {error}".strip()
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)
    return url


@contextmanager
def scratch_database(admin_url: str, label: str) -> Iterator[BuiltPostgresWarehouse]:
    """Create a fresh database on the server of ``admin_url``; drop it on exit."""
    import psycopg

    from pipelines.lib.settings import PostgresConnection

    admin = PostgresConnection.from_url(admin_url)
    dbname = f"sw_test_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin.conninfo(), autocommit=True) as con:
        con.execute(f'create database "{dbname}"')
    target = PostgresConnection(admin.host, admin.port, admin.user, admin.password, dbname)
    url = f"postgresql://{admin.user}{':' + admin.password if admin.password else ''}@{admin.host}:{admin.port}/{dbname}"
    try:
        yield BuiltPostgresWarehouse(url=url, conninfo=target.conninfo(), dbname=dbname, schema_prefix="t_")
    finally:
        with psycopg.connect(admin.conninfo(), autocommit=True) as con:
            con.execute(f'drop database if exists "{dbname}" with (force)')


@pytest.fixture(scope="session")
def built_postgres_warehouse(postgres_server, tmp_path_factory) -> Iterator[BuiltPostgresWarehouse]:
    """The full bundled build on PostgreSQL (schema prefix ``t_``) in a database of its own."""
    from dagster import DagsterInstance

    from pipelines.build import run_build

    directory = tmp_path_factory.mktemp("postgres_build")
    with scratch_database(postgres_server, "build") as database, saved_settings_env():
        use_warehouse(directory / "unused.duckdb", url=database.url, schema_prefix=database.schema_prefix)
        with DagsterInstance.ephemeral() as instance:
            assert run_build(instance=instance), "the full build on PostgreSQL failed"
        use_warehouse(directory / "unused.duckdb")
        yield database


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def source(request):
    """A built warehouse per backend with an independent reader (tests/app_harness.py)."""
    from tests.app_harness import make_source

    return make_source(request)


@pytest.fixture()
def app_on(source, monkeypatch):
    """The app's settings point at ``source`` for the test."""
    from tests.app_harness import point_app_at

    yield from point_app_at(source, monkeypatch)

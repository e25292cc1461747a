"""App test harness shared by the dashboard tests: one built warehouse per backend (DuckDB
snapshot, PostgreSQL), an independent reader of it (not the app's code), and AppTest helpers
that hand the app a :class:`~domain.settings.Settings` value (``st.session_state``, see
:mod:`dashboards.lib.context`).

Fixtures ``source`` (parametrised over both backends) and ``app_on`` (the source, with the app's
cached readers closed after the test) are in ``conftest.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
from psycopg.types.numeric import FloatLoader
from streamlit.testing.v1 import AppTest

from dashboards.lib.context import SETTINGS_KEY
from domain.settings import Settings

APP = Path(__file__).resolve().parents[1] / "dashboards" / "app.py"


class Source:
    """One built warehouse, the settings that point the app at it, and an independent reader
    (not the app's code)."""

    def __init__(self, backend: str, settings: Settings, prefix: str = "", snapshot: Path | None = None,
                 conninfo: str | None = None):  # fmt: skip
        self.backend, self.settings, self.prefix, self.snapshot, self.conninfo = (
            backend, settings, prefix, snapshot, conninfo,
        )  # fmt: skip

    def t(self, layer: str, name: str) -> str:
        return f"{self.prefix}{layer}.{name}"

    def read(self, sql: str, params: list | None = None) -> pd.DataFrame:
        if self.backend == "duckdb":
            # the snapshot holds only what readers get (marts, portfolios, alerts, meta): an oracle
            # query of the raw, staging or intermediate layers reads the writer's file beside it
            unpublished = re.search(r"\b(raw|staging|intermediate)\.", sql)
            path = _writer_file(self.snapshot) if unpublished else self.snapshot
            with duckdb.connect(str(path), read_only=True) as con:
                return con.execute(sql, params).fetch_df()
        with psycopg.connect(self.conninfo) as con:
            con.adapters.register_loader("numeric", FloatLoader)
            cur = con.execute(sql.replace("?", "%s"), params)
            return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])

    def with_settings(self, **values) -> Source:
        """The same source with some settings replaced (e.g. ``alert_rules_file``)."""
        return Source(self.backend, self.settings.with_values(**values), self.prefix, self.snapshot, self.conninfo)


def _writer_file(snapshot: Path) -> Path:
    """The writer's file a test build published ``snapshot`` from (``x.snapshot.duckdb`` -> ``x.duckdb``)."""
    return snapshot.with_name(snapshot.name.replace(".snapshot", ""))


def duckdb_source(snapshot: Path, **values) -> Source:
    """The app reading the DuckDB snapshot at ``snapshot``."""
    return Source("duckdb", Settings.from_values(snapshot_path=snapshot, **values), snapshot=snapshot)


def postgres_source(pg, **values) -> Source:
    """The app reading the PostgreSQL build ``pg`` (:class:`tests.conftest.BuiltPostgresWarehouse`)."""
    settings = Settings.from_values(warehouse_url=pg.url, schema_prefix=pg.schema_prefix, **values)
    return Source("postgres", settings, prefix=pg.schema_prefix, conninfo=pg.conninfo)


def make_source(request) -> Source:
    """The ``Source`` of the backend ``request.param`` (``duckdb`` or ``postgres``)."""
    if request.param == "duckdb":
        return duckdb_source(request.getfixturevalue("built_warehouse").snapshot_path)
    return postgres_source(request.getfixturevalue("built_postgres_warehouse"))


def run_app(settings: Settings, **query_params: str) -> AppTest:
    """Run the app once with ``settings`` (and URL query parameters); fails on any exception."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state[SETTINGS_KEY] = settings
    for key, value in query_params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_stock_page(settings: Settings, ticker: str) -> AppTest:
    at = run_app(settings)
    at.query_params["ticker"] = ticker
    at.switch_page("views/stock.py")
    return rerun(at)


def frame(at: AppTest, *columns: str) -> pd.DataFrame:
    """The value of the one ``st.dataframe`` that has all of ``columns`` (AppTest does not keep
    the key of a dataframe without selection)."""
    found = [d.value for d in at.dataframe if set(columns) <= set(d.value.columns)]
    assert len(found) == 1, f"{len(found)} dataframes with columns {columns}"
    return found[0]

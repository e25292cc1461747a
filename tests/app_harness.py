"""App test harness shared by the dashboard tests: one built warehouse per backend (DuckDB
snapshot, PostgreSQL), an independent reader of it (not the app's code), and AppTest helpers.

Fixtures ``source`` (parametrised over both backends) and ``app_on`` (points the app's
settings at that warehouse) are registered in ``conftest.py``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import psycopg
from psycopg.types.numeric import FloatLoader
from streamlit.testing.v1 import AppTest

from dashboards.lib import warehouse
from pipelines.lib.settings import get_settings

APP = Path(__file__).resolve().parents[1] / "dashboards" / "app.py"


class Source:
    """One built warehouse and an independent reader (not the app's code)."""

    def __init__(self, backend: str, env: dict, prefix: str = "", snapshot: Path | None = None, conninfo=None):
        self.backend, self.env, self.prefix, self.snapshot, self.conninfo = backend, env, prefix, snapshot, conninfo

    def t(self, layer: str, name: str) -> str:
        return f"{self.prefix}{layer}.{name}"

    def read(self, sql: str, params: list | None = None) -> pd.DataFrame:
        if self.backend == "duckdb":
            with duckdb.connect(str(self.snapshot), read_only=True) as con:
                return con.execute(sql, params).fetch_df()
        with psycopg.connect(self.conninfo) as con:
            con.adapters.register_loader("numeric", FloatLoader)
            cur = con.execute(sql.replace("?", "%s"), params)
            return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def make_source(request) -> Source:
    """The ``Source`` of the backend ``request.param`` (``duckdb`` or ``postgres``)."""
    if request.param == "duckdb":
        snapshot = request.getfixturevalue("built_warehouse").snapshot_path
        env = {"WAREHOUSE_SNAPSHOT_PATH": str(snapshot), "WAREHOUSE_URL": None, "WAREHOUSE_SCHEMA_PREFIX": None}
        return Source("duckdb", env, snapshot=snapshot)
    pg = request.getfixturevalue("built_postgres_warehouse")
    env = {"WAREHOUSE_URL": pg.url, "WAREHOUSE_SCHEMA_PREFIX": pg.schema_prefix}
    return Source("postgres", env, prefix=pg.schema_prefix, conninfo=pg.conninfo)


def point_app_at(source: Source, monkeypatch):
    """Generator fixture body: the app's settings point at ``source`` until teardown."""
    for key, value in source.env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield source
    warehouse.close_all()
    get_settings.cache_clear()


def run_app(**query_params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in query_params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_stock_page(ticker: str) -> AppTest:
    at = run_app()
    at.query_params["ticker"] = ticker
    at.switch_page("views/stock.py")
    return rerun(at)


def frame(at: AppTest, *columns: str) -> pd.DataFrame:
    """The value of the one ``st.dataframe`` that has all of ``columns`` (AppTest does not keep
    the key of a dataframe without selection)."""
    found = [d.value for d in at.dataframe if set(columns) <= set(d.value.columns)]
    assert len(found) == 1, f"{len(found)} dataframes with columns {columns}"
    return found[0]

"""Test support shared by the alert tests: a small DuckDB copy of the built marts the alerts
read, per test. A test module defines a module-scoped ``marts_template`` fixture (usually
``copy_marts`` of the built warehouse) and imports ``warehouse_file`` and ``con`` from here."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

#: Tickers whose indicators :func:`copy_marts` copies by default.
TICKERS = ("AAPL", "AMZN", "GE", "NFLX", "NVDA")


def copy_marts(source: Path, target: Path, tickers: tuple[str, ...] = TICKERS) -> None:
    """A DuckDB file with the built marts the alerts read (indicators of ``tickers`` only)."""
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach '{source}' as built (read_only)")
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_daily_indicators as select * from built.marts.fct_daily_indicators "
            f"where ticker in ({', '.join('?' for _ in tickers)})",
            list(tickers),
        )
        con.execute("create table marts.mart_screener_latest as select * from built.marts.mart_screener_latest")
        con.execute("detach built")


@pytest.fixture()
def warehouse_file(marts_template, tmp_path) -> Path:
    """A fresh copy of the module's ``marts_template`` for one test."""
    target = tmp_path / "warehouse.duckdb"
    shutil.copy(marts_template, target)
    return target


@pytest.fixture()
def con(warehouse_file) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to ``warehouse_file``."""
    connection = duckdb.connect(str(warehouse_file))
    yield connection
    connection.close()

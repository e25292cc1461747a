"""The Streamlit app on a built warehouse, driven through ``streamlit.testing.v1.AppTest``.

Most tests run twice: on the DuckDB snapshot (fixture ``built_warehouse``) and on
PostgreSQL (fixture ``built_postgres_warehouse``, schemas behind its prefix; skipped
when no PostgreSQL server is reachable, see ``tests/conftest.py``). Expected
results are computed independently with pandas on ``marts.mart_screener_latest``
/ ``marts.fct_daily_indicators`` read directly (DuckDB / psycopg, not through the
app's code) and compared with what the app renders.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import plotly.io as pio
import psycopg
import pytest
from psycopg.types.numeric import FloatLoader
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

REPO_ROOT = Path(__file__).resolve().parents[1]

from dashboards.lib import formatting as fmt
from domain import screens
from domain.markets import markets as seed_markets
from domain.settings import Settings
from domain.warehouse import readers
from tests.app_harness import rerun, run_app

COUNT_RE = re.compile(r"\*\*(\d+)\*\* of (\d+) stocks match")


# ----------------------------------------------------------------------------- fixtures


def _read(path: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params).fetch_df()


def _read_pg(conninfo: str, sql: str, params: list | None = None) -> pd.DataFrame:
    with psycopg.connect(conninfo) as con:
        con.adapters.register_loader("numeric", FloatLoader)
        cur = con.execute(sql.replace("?", "%s"), params)
        return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


@dataclass(frozen=True)
class Source:
    """One built warehouse the app can read: the settings pointing the app at it, and an
    independent reader for expected values."""

    backend: str
    settings: Settings
    prefix: str = ""
    snapshot: Path | None = None
    conninfo: str | None = None

    def t(self, layer: str, name: str) -> str:
        return f"{self.prefix}{layer}.{name}"

    def read(self, sql: str, params: list | None = None) -> pd.DataFrame:
        if self.backend == "duckdb":
            return _read(self.snapshot, sql, params)
        return _read_pg(self.conninfo, sql, params)

    def build_info(self) -> tuple[pd.Timestamp, str]:
        if self.backend == "duckdb":
            us, run_id = self.read(f"SELECT epoch_us(built_at) AS us, run_id FROM {self.t('meta', 'build_info')}").iloc[0]
            return pd.Timestamp(int(us), unit="us", tz="UTC"), run_id
        built_at, run_id = self.read(f"SELECT built_at, run_id FROM {self.t('meta', 'build_info')}").iloc[0]
        return pd.Timestamp(built_at).tz_convert("UTC"), run_id


def duckdb_source(snapshot: Path) -> Source:
    return Source("duckdb", Settings.from_values(snapshot_path=snapshot), snapshot=snapshot)


def postgres_source(pg) -> Source:
    settings = Settings.from_values(warehouse_url=pg.url, schema_prefix=pg.schema_prefix)
    return Source("postgres", settings, prefix=pg.schema_prefix, conninfo=pg.conninfo)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def source(request) -> Source:
    """The built warehouse of each backend."""
    if request.param == "duckdb":
        return duckdb_source(request.getfixturevalue("built_warehouse").snapshot_path)
    return postgres_source(request.getfixturevalue("built_postgres_warehouse"))


@pytest.fixture(scope="module")
def mart(source) -> pd.DataFrame:
    """The whole screener mart, read directly (independent of the app's code)."""
    return source.read(f"SELECT * FROM {source.t('marts', 'mart_screener_latest')}")


@pytest.fixture()
def app_on(source) -> Source:
    """The app on ``source``; its cached readers are closed after the test."""
    yield source
    readers.close_all()


@pytest.fixture()
def snapshot(built_warehouse) -> Source:
    """DuckDB only: the app on the built snapshot file."""
    yield duckdb_source(built_warehouse.snapshot_path)
    readers.close_all()


def open_stock_page(settings: Settings, **query_params: str) -> AppTest:
    at = run_app(settings)
    for key, value in query_params.items():
        at.query_params[key] = value
    at.switch_page("views/stock.py")
    return rerun(at)


def shown(at: AppTest) -> pd.DataFrame:
    """The screener's result table (empty frame if the page shows none)."""
    tables = [d for d in at.dataframe if d.key == "scr_table"]
    return tables[0].value if tables else pd.DataFrame(columns=["ticker"])


def shown_tickers(at: AppTest) -> set[str]:
    return set(shown(at)["ticker"])


def match_count(at: AppTest) -> tuple[int, int]:
    for md in at.markdown:
        m = COUNT_RE.search(md.value)
        if m:
            return int(m.group(1)), int(m.group(2))
    raise AssertionError("no result count on the page")


def plotly_figures(at: AppTest) -> list:
    return [pio.from_json(el.proto.spec) for el in at.get("plotly_chart")]


def candles(at: AppTest) -> int:
    figs = plotly_figures(at)
    assert figs, "no plotly chart rendered"
    counts = [len(t.x) for fig in figs for t in fig.data if t.type == "candlestick"]
    assert len(counts) == 1
    return counts[0]


def trading_days(source: Source, ticker: str, start: date, end: date) -> int:
    frame = source.read(
        f"SELECT count(*) AS n FROM {source.t('marts', 'fct_daily_indicators')} "
        "WHERE ticker = ? AND trade_date BETWEEN ? AND ?",
        [ticker, start, end],
    )
    return int(frame.at[0, "n"])


def set_widgets(at: AppTest, settings: dict) -> None:
    if "scr_market" in settings:  # first, as a user does: the page redraws the filters in its currency
        at.selectbox(key="scr_market").set_value(settings["scr_market"])
        rerun(at)
    for key, value in settings.items():
        if key == "scr_market":
            continue
        if key == "scr_sectors":
            at.multiselect(key=key).set_value(value)
        elif key in ("scr_vs_sma_50", "scr_vs_sma_200"):
            at.radio(key=key).set_value(value)
        elif key == "scr_text":
            at.text_input(key=key).input(value)
        elif key in ("scr_new_high_52w", "scr_golden_cross_20d"):
            at.checkbox(key=key).set_value(value)
        else:
            at.number_input(key=key).set_value(value)


def by_currency_then_market_cap(mart: pd.DataFrame) -> list[str]:
    """The tickers of ``mart`` as the default screen orders them: the markets' currencies in the
    seed's order (USD, then KRW: amounts in two currencies are not compared), then market cap
    descending (NULLs last), then ticker."""
    ranks = {c: i for i, c in enumerate(dict.fromkeys(m.currency for m in seed_markets().values()))}
    rank = mart["market"].map(lambda code: ranks[seed_markets()[code].currency])
    ordered = mart.assign(_rank=rank).sort_values(["_rank", "market_cap", "ticker"], ascending=[True, False, True],
                                                  na_position="last")  # fmt: skip
    return list(ordered["ticker"])


# ----------------------------------------------------------------------------- frame


def test_screener_renders_everything(app_on, mart):
    at = run_app(app_on.settings)
    assert at.title[0].value == "Screener"
    table = shown(at)
    assert set(table["ticker"]) == set(mart["ticker"])
    assert match_count(at) == (len(mart), len(mart))
    assert list(table["ticker"]) == by_currency_then_market_cap(mart)
    built_at, run_id = app_on.build_info()
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert f"Warehouse built {built_at:%Y-%m-%d %H:%M} UTC" in captions
    assert run_id in captions
    assert at.download_button[0].label == "Download CSV"
    # the vendor snapshot (2018-02-08) sits beside prices ending 2018-02-07: marked as look-ahead
    ahead = int(mart["fundamentals_known_on_trade_date"].eq(False).sum())
    assert ahead == int((mart["valuation_source"] == "vendor_snapshot").sum()) > 0
    assert any(f"{ahead} of these rows show fundamentals dated after their price" in c.value for c in at.caption)


def _assert_not_built_message(settings: Settings, expected: str) -> None:
    at = run_app(settings)
    assert any("make build" in i.value and expected in i.value for i in at.info), [i.value for i in at.info]
    assert not at.dataframe and not at.get("plotly_chart")
    at.switch_page("views/stock.py")
    rerun(at)
    assert any("make build" in i.value for i in at.info)
    assert not at.dataframe and not at.get("plotly_chart")


def test_no_snapshot_message(tmp_path):
    _assert_not_built_message(duckdb_source(tmp_path / "nothing-here.duckdb").settings, "nothing-here.duckdb")


@pytest.fixture()
def pg_scratch_prefix(built_postgres_warehouse):
    """PostgreSQL: the fixture's database under a fresh schema prefix nothing was built in, and
    the settings that point the app at it."""
    pg = built_postgres_warehouse
    prefix = f"nobuild_{uuid.uuid4().hex[:8]}_"
    yield pg, prefix, Settings.from_values(warehouse_url=pg.url, schema_prefix=prefix)
    readers.close_all()
    with psycopg.connect(pg.conninfo, autocommit=True) as con:
        for layer in ("meta", "marts"):
            con.execute(f"DROP SCHEMA IF EXISTS {prefix}{layer} CASCADE")


def test_no_build_message_postgres(pg_scratch_prefix):
    _, prefix, settings = pg_scratch_prefix
    _assert_not_built_message(settings, f"{prefix}meta.build_info")


def test_no_build_info_table_postgres(pg_scratch_prefix):
    """A build in progress for the first time: marts exist already, build_info not yet."""
    pg, prefix, settings = pg_scratch_prefix
    with psycopg.connect(pg.conninfo, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {prefix}meta")
        con.execute(f"CREATE SCHEMA {prefix}marts")
        con.execute(f"CREATE TABLE {prefix}marts.dim_companies (ticker text, company_name text, sector text)")
    _assert_not_built_message(settings, f"{prefix}meta.build_info")


@pytest.mark.integration
def test_unreachable_postgres_shows_error_not_exception():
    settings = Settings.from_values(warehouse_url="postgresql://app:secret-pw@127.0.0.1:1/nothing")
    try:
        at = run_app(settings)
        errors = [e.value for e in at.error]
        assert any("Could not read" in e and "WAREHOUSE_URL" in e for e in errors), errors
        assert not any("secret-pw" in e for e in errors)
        assert not at.dataframe
    finally:
        readers.close_all()


def test_new_snapshot_is_picked_up_without_restart(built_warehouse, tmp_path):
    live = tmp_path / "warehouse.snapshot.duckdb"
    shutil.copyfile(built_warehouse.snapshot_path, live)
    with duckdb.connect(str(live)) as con:
        con.execute("UPDATE meta.build_info SET run_id = 'first-run'")
    try:
        at = run_app(duckdb_source(live).settings)
        assert "first-run" in " ".join(c.value for c in at.sidebar.caption)
        n_before = match_count(at)[1]
        partial = tmp_path / ".next.tmp"
        shutil.copyfile(built_warehouse.snapshot_path, partial)
        with duckdb.connect(str(partial)) as con:
            con.execute("UPDATE meta.build_info SET run_id = 'second-run'")
            victim = con.execute("SELECT min(ticker) FROM marts.mart_screener_latest").fetchone()[0]
            con.execute("DELETE FROM marts.mart_screener_latest WHERE ticker = ?", [victim])
        os.replace(partial, live)
        rerun(at)
        assert "second-run" in " ".join(c.value for c in at.sidebar.caption)
        assert match_count(at)[1] == n_before - 1
        assert victim not in shown_tickers(at)
    finally:
        readers.close_all()


def test_new_postgres_build_is_picked_up_without_restart(pg_scratch_prefix):
    """A build replaces a mart the way dbt does (new table renamed over the old) and rewrites build_info."""
    pg, prefix, settings = pg_scratch_prefix
    src = pg.schema_prefix
    with psycopg.connect(pg.conninfo, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {prefix}meta")
        con.execute(f"CREATE SCHEMA {prefix}marts")
        con.execute(f"CREATE TABLE {prefix}meta.build_info (built_at timestamptz, run_id text)")
        con.execute(f"INSERT INTO {prefix}meta.build_info VALUES (now(), 'first-run')")
        con.execute(f"CREATE TABLE {prefix}marts.mart_screener_latest AS SELECT * FROM {src}marts.mart_screener_latest")
        for name in ("dim_companies", "fct_daily_indicators"):
            con.execute(f"CREATE VIEW {prefix}marts.{name} AS SELECT * FROM {src}marts.{name}")
    at = run_app(settings)
    assert "first-run" in " ".join(c.value for c in at.sidebar.caption)
    n_before = match_count(at)[1]
    with psycopg.connect(pg.conninfo) as con:  # one transaction, like dbt's table materialization
        mart = f"{prefix}marts.mart_screener_latest"
        victim = con.execute(f"SELECT min(ticker) FROM {mart}").fetchone()[0]
        con.execute(f"CREATE TABLE {mart}__dbt_tmp AS SELECT * FROM {mart} WHERE ticker <> %s", [victim])
        con.execute(f"ALTER TABLE {mart} RENAME TO mart_screener_latest__dbt_backup")
        con.execute(f"ALTER TABLE {mart}__dbt_tmp RENAME TO mart_screener_latest")
        con.execute(f"DROP TABLE {prefix}marts.mart_screener_latest__dbt_backup")
        con.execute(f"DELETE FROM {prefix}meta.build_info")
        con.execute(f"INSERT INTO {prefix}meta.build_info VALUES (now(), 'second-run')")
    rerun(at)
    assert "second-run" in " ".join(c.value for c in at.sidebar.caption)
    assert match_count(at)[1] == n_before - 1
    assert victim not in shown_tickers(at)


def test_snapshot_file_untouched(snapshot):
    before = snapshot.snapshot.stat()
    at = run_app(snapshot.settings)
    at.selectbox(key="scr_preset").set_value("Momentum")
    rerun(at)
    at.switch_page("views/stock.py")
    rerun(at)
    after = snapshot.snapshot.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)


# ----------------------------------------------------------------------------- screener filters


def _sectors(mart: pd.DataFrame, n: int) -> list[str]:
    return mart["sector"].dropna().value_counts().index[:n].tolist()


def _us(mart: pd.DataFrame) -> pd.DataFrame:
    return mart[mart["market"] == "US"]


def _contains(column: pd.Series, text: str) -> pd.Series:
    return column.fillna("").str.contains(text, case=False, regex=False)


SCENARIOS: dict[str, tuple[Callable[[pd.DataFrame], dict], Callable[[pd.DataFrame], pd.Series]]] = {
    # a market-cap filter is in one currency: the US market's (USD bn)
    "sector + market cap": (
        lambda m: {"scr_market": "US", "scr_sectors": _sectors(_us(m), 2), "scr_market_cap_min": 20.0},
        lambda m: (m["market"] == "US") & m["sector"].isin(_sectors(_us(m), 2)) & (m["market_cap"] > 20e9),
    ),
    "market cap range": (
        lambda m: {"scr_market": "US", "scr_market_cap_min": 10.0, "scr_market_cap_max": 50.0},
        lambda m: (m["market"] == "US") & (m["market_cap"] > 10e9) & (m["market_cap"] < 50e9),
    ),
    "P/E, P/B, dividend yield": (
        lambda m: {"scr_pe_ratio_max": 20.0, "scr_pb_ratio_min": 1.0, "scr_dividend_yield_min": 2.0},
        lambda m: (m["pe_ratio"] < 20) & (m["pb_ratio"] > 1) & (m["dividend_yield"] > 0.02),
    ),
    "P/E range, P/B max, dividend max": (
        lambda m: {"scr_pe_ratio_min": 10.0, "scr_pe_ratio_max": 25.0, "scr_pb_ratio_max": 4.0, "scr_dividend_yield_max": 1.5},
        lambda m: (m["pe_ratio"] > 10) & (m["pe_ratio"] < 25) & (m["pb_ratio"] < 4) & (m["dividend_yield"] < 0.015),
    ),
    "RSI band above both SMAs": (
        lambda m: {"scr_rsi_14_min": 40.0, "scr_rsi_14_max": 60.0, "scr_vs_sma_50": "above", "scr_vs_sma_200": "above"},
        lambda m: (m["rsi_14"] > 40) & (m["rsi_14"] < 60) & (m["close"] > m["sma_50"]) & (m["close"] > m["sma_200"]),
    ),
    "below SMA50": (
        lambda m: {"scr_vs_sma_50": "below"},
        lambda m: m["close"] < m["sma_50"],
    ),
    "below SMA200, above SMA50": (
        lambda m: {"scr_vs_sma_200": "below", "scr_vs_sma_50": "above"},
        lambda m: (m["close"] < m["sma_200"]) & (m["close"] > m["sma_50"]),
    ),
    "near 52w high, relative volume": (
        lambda m: {"scr_max_below_high_52w": 10.0, "scr_min_relative_volume": 0.8},
        lambda m: (m["pct_from_high_52w"] >= -0.10) & (m["relative_volume"] >= 0.8),
    ),
    "returns 1d/21d/252d": (
        lambda m: {"scr_return_1d_min": -1.0, "scr_return_21d_min": 0.0, "scr_return_252d_max": 10.0},
        lambda m: (m["return_1d"] > -0.01) & (m["return_21d"] > 0) & (m["return_252d"] < 0.10),
    ),
    "returns 5d/63d/126d": (
        lambda m: {"scr_return_5d_max": 0.0, "scr_return_63d_min": -5.0, "scr_return_126d_min": 5.0},
        lambda m: (m["return_5d"] < 0) & (m["return_63d"] > -0.05) & (m["return_126d"] > 0.05),
    ),
    "stochastic oversold with RSI": (  # the stochastic reached the screener through its registry entry only
        lambda m: {"scr_stoch_k_max": 20.0, "scr_stoch_d_max": 30.0, "scr_rsi_14_max": 50.0},
        lambda m: (m["stoch_k"] < 20) & (m["stoch_d"] < 30) & (m["rsi_14"] < 50),
    ),
    "text search": (
        lambda m: {"scr_text": "bank"},
        lambda m: _contains(m["ticker"], "bank") | _contains(m["company_name"], "bank"),
    ),
    "sector + flag": (
        lambda m: {"scr_sectors": _sectors(m, 4), "scr_golden_cross_20d": True},
        lambda m: m["sector"].isin(_sectors(m, 4)) & (m["golden_cross_20d"] == True),  # noqa: E712
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_filters_match_independent_pandas(app_on, mart, name):
    settings, predicate = SCENARIOS[name]
    expected = set(mart.loc[predicate(mart).fillna(False).astype(bool), "ticker"])
    assert 0 < len(expected) < len(mart), f"scenario {name!r} does not discriminate on this data"
    at = run_app(app_on.settings)
    widgets = settings(mart)
    set_widgets(at, widgets)
    rerun(at)
    assert shown_tickers(at) == expected
    universe = mart[mart["market"] == widgets["scr_market"]] if "scr_market" in widgets else mart
    assert match_count(at) == (len(expected), len(universe))
    assert at.selectbox(key="scr_preset").value == "Custom"


def test_filters_can_be_relaxed_again(app_on, mart):
    at = run_app(app_on.settings)
    at.number_input(key="scr_rsi_14_max").set_value(50.0)
    rerun(at)
    narrowed = shown_tickers(at)
    assert narrowed == set(mart.loc[mart["rsi_14"] < 50, "ticker"])
    at.number_input(key="scr_rsi_14_max").set_value(None)
    rerun(at)
    assert shown_tickers(at) == set(mart["ticker"])


def test_sort_by_column_and_direction(app_on, mart):
    at = run_app(app_on.settings)
    at.selectbox(key="scr_sort_by").set_value("rsi_14")
    at.toggle(key="scr_sort_desc").set_value(False)
    rerun(at)
    expected = mart.sort_values(["rsi_14", "ticker"], ascending=[True, True], na_position="last")["ticker"]
    assert list(shown(at)["ticker"]) == list(expected)
    at.toggle(key="scr_sort_desc").set_value(True)
    rerun(at)
    expected = mart.sort_values(["rsi_14", "ticker"], ascending=[False, True], na_position="last")["ticker"]
    assert list(shown(at)["ticker"]) == list(expected)


def test_invalid_range_shows_error_not_exception(app_on):
    at = run_app(app_on.settings)
    at.number_input(key="scr_pe_ratio_min").set_value(30.0)
    at.number_input(key="scr_pe_ratio_max").set_value(10.0)
    rerun(at)
    assert any("minimum" in e.value for e in at.error)
    assert not [d for d in at.dataframe if d.key == "scr_table"]


def test_empty_result(app_on, mart):
    at = run_app(app_on.settings)
    at.text_input(key="scr_text").input("no company is called this")
    rerun(at)
    assert match_count(at) == (0, len(mart))
    assert shown_tickers(at) == set()
    assert any("No stock matches" in i.value for i in at.info)


# ----------------------------------------------------------------------------- presets

#: What each preset selects, in pandas on the mart (a preset that names markets: within them).
PRESET_EXPECTATIONS: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "Oversold above SMA200": lambda m: (m["rsi_14"] < 30) & (m["close"] > m["sma_200"]),
    "New 52-week highs": lambda m: m["new_high_52w"] == True,  # noqa: E712
    "Golden cross (20d)": lambda m: m["golden_cross_20d"] == True,  # noqa: E712
    "Value: P/E < 15 and dividend yield > 3 %": lambda m: (m["market"] == "US") & (m["pe_ratio"] < 15)
    & (m["dividend_yield"] > 0.03),
    "Momentum": lambda m: (m["return_63d"] > 0.10)
    & (m["return_252d"] > 0.20)
    & (m["close"] > m["sma_50"])
    & (m["close"] > m["sma_200"]),
    "Overbought (RSI > 70)": lambda m: m["rsi_14"] > 70,
    "Near 52-week high on heavy volume": lambda m: (m["pct_from_high_52w"] >= -0.05) & (m["relative_volume"] >= 1.5),
    "Quality (filings): ROE > 15 % and debt/equity < 2": lambda m: (m["market"] == "US") & (m["roe"] > 0.15)
    & (m["debt_to_equity"] < 2),
    # on a build without Korean prices these select nothing, out of no stock
    "KOSPI 52-week high breakout": lambda m: (m["market"] == "KOSPI") & (m["new_high_52w"] == True)  # noqa: E712
    & (m["relative_volume"] >= 2),
    "KOSDAQ oversold": lambda m: (m["market"] == "KOSDAQ") & (m["rsi_14"] < 30) & (m["stoch_k"] < 20),
}


@pytest.mark.parametrize("name", list(PRESET_EXPECTATIONS))
def test_presets(app_on, mart, name):
    expected = set(mart.loc[PRESET_EXPECTATIONS[name](mart).fillna(False).astype(bool), "ticker"])
    preset_markets = screens.presets()[name].markets
    universe = mart[mart["market"].isin(preset_markets)] if preset_markets else mart
    at = run_app(app_on.settings)
    at.selectbox(key="scr_preset").set_value(name)
    rerun(at)
    assert shown_tickers(at) == expected
    assert match_count(at) == (len(expected), len(universe))
    assert at.selectbox(key="scr_preset").value == name
    assert at.selectbox(key="scr_market").value == (preset_markets[0] if preset_markets else "All markets")


def test_preset_sets_the_filter_widgets(app_on):
    at = run_app(app_on.settings)
    at.selectbox(key="scr_preset").set_value("Oversold above SMA200")
    rerun(at)
    assert at.number_input(key="scr_rsi_14_max").value == 30
    assert at.number_input(key="scr_rsi_14_min").value is None
    assert at.radio(key="scr_vs_sma_200").value == "above"
    assert at.selectbox(key="scr_sort_by").value == "rsi_14"
    at.selectbox(key="scr_preset").set_value("Value: P/E < 15 and dividend yield > 3 %")
    rerun(at)
    assert at.number_input(key="scr_pe_ratio_max").value == 15
    assert at.number_input(key="scr_dividend_yield_min").value == 3  # percent in the UI
    assert at.number_input(key="scr_rsi_14_max").value is None  # previous preset cleared
    assert at.radio(key="scr_vs_sma_200").value == "any"
    at.selectbox(key="scr_preset").set_value("Momentum")
    rerun(at)
    assert at.number_input(key="scr_return_63d_min").value == 10
    assert at.number_input(key="scr_return_252d_min").value == 20
    # editing a filter after a preset turns the menu to "Custom" and keeps the other values
    at.number_input(key="scr_return_63d_min").set_value(15.0)
    rerun(at)
    assert at.selectbox(key="scr_preset").value == "Custom"
    assert at.number_input(key="scr_return_252d_min").value == 20
    at.selectbox(key="scr_preset").set_value("All stocks")
    rerun(at)
    assert all(at.number_input(key=k).value is None for k in ("scr_return_63d_min", "scr_return_252d_min"))
    assert at.radio(key="scr_vs_sma_50").value == "any"


# ----------------------------------------------------------------------------- CSV + link


def test_csv_download_has_the_shown_rows(app_on, mart, monkeypatch):
    captured: list[tuple[bytes, str, str | None]] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        captured.append((path_or_data, mimetype, filename))
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    at = run_app(app_on.settings)
    at.selectbox(key="scr_preset").set_value("Momentum")
    rerun(at)
    csvs = [(data, name) for data, mime, name in captured if mime.startswith("text/csv")]
    assert csvs, "no CSV handed to the download button"
    data, file_name = csvs[-1]
    assert file_name.endswith(".csv") and "momentum" in file_name
    frame = pd.read_csv(io.BytesIO(data if isinstance(data, bytes) else data.encode()))
    assert list(frame["ticker"]) == list(shown(at)["ticker"])
    assert "market_cap" in frame.columns and "dividend_yield" in frame.columns


def test_open_ticker_on_stock_page(app_on, mart):
    at = run_app(app_on.settings)
    at.selectbox(key="scr_preset").set_value("Momentum")
    rerun(at)
    tickers = list(shown(at)["ticker"])
    target = tickers[min(1, len(tickers) - 1)]
    picker = next(s for s in at.selectbox if s.label.startswith("Open a ticker"))
    picker.set_value(target)
    at.button(key="scr_open").click()
    rerun(at)
    assert at.title[0].value == "Stock"
    assert at.selectbox(key="ticker").value == target
    assert candles(at) > 0


def test_table_row_selection_preselects_ticker(app_on):
    at = run_app(app_on.settings)
    second = list(shown(at)["ticker"])[1]
    at.session_state["scr_table"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    rerun(at)
    picker = next(s for s in at.selectbox if s.label.startswith("Open a ticker"))
    assert picker.value == second


# ----------------------------------------------------------------------------- stock page


def _default_range(source: Source, ticker: str) -> tuple[date, date]:
    bounds = source.read(
        f"SELECT min(trade_date) AS a, max(trade_date) AS b FROM {source.t('marts', 'fct_daily_indicators')} "
        "WHERE ticker = ?",
        [ticker],
    ).iloc[0]
    first, last = pd.Timestamp(bounds["a"]).date(), pd.Timestamp(bounds["b"]).date()
    return max(first, last - timedelta(days=365)), last


def test_stock_page_renders_charts_for_aapl(app_on, mart):
    assert "AAPL" in set(mart["ticker"])
    at = open_stock_page(app_on.settings, ticker="AAPL")
    assert at.selectbox(key="ticker").value == "AAPL"
    start, end = _default_range(app_on, "AAPL")
    assert at.date_input(key="stock_dates").value == (start, end)
    n = candles(at)
    assert n == trading_days(app_on, "AAPL", start, end) > 100
    fig = plotly_figures(at)[0]
    names = {t.name for t in fig.data}
    assert {"OHLC", "SMA 20", "SMA 50", "SMA 200", "BB upper", "BB lower", "Volume", "RSI 14", "MACD", "Signal"} <= names
    assert "MACD hist" in names
    rsi_lines = sorted(s["y0"] for s in fig.layout.shapes if s["y0"] == s["y1"])
    assert rsi_lines == [30, 70]


def test_date_range_changes_candles(app_on):
    at = open_stock_page(app_on.settings, ticker="AAPL")
    before = candles(at)
    start, end = _default_range(app_on, "AAPL")
    narrow = (end - timedelta(days=60), end)
    at.date_input(key="stock_dates").set_value(narrow)
    rerun(at)
    after = candles(at)
    assert after == trading_days(app_on, "AAPL", *narrow)
    assert 0 < after < before
    assert at.button_group(key="stock_period").value is None  # manual range clears the quick period
    at.button_group(key="stock_period").set_value("Max")
    rerun(at)
    table = app_on.t("marts", "fct_daily_indicators")
    first = pd.Timestamp(app_on.read(f"SELECT min(trade_date) AS a FROM {table} WHERE ticker = 'AAPL'").at[0, "a"]).date()
    assert candles(at) == trading_days(app_on, "AAPL", first, end) > before


def test_overlays_can_be_hidden(app_on):
    at = open_stock_page(app_on.settings, ticker="AAPL")
    at.toggle(key="stock_show_sma").set_value(False)
    at.toggle(key="stock_show_bb").set_value(False)
    rerun(at)
    names = {t.name for t in plotly_figures(at)[0].data}
    assert "SMA 50" not in names and "BB upper" not in names and "OHLC" in names


def test_stock_fundamentals(app_on, mart):
    ticker = "MSFT" if "MSFT" in set(mart["ticker"]) else mart["ticker"].iloc[0]
    at = open_stock_page(app_on.settings, ticker=ticker)
    assert at.selectbox(key="ticker").value == ticker
    row = mart.set_index("ticker").loc[ticker]
    metrics = {m.label: m.value for m in at.metric}
    labels = screens.registry()  # one label per column, from the registry
    assert metrics[labels["return_252d"].label] == fmt.pct(row["return_252d"], signed=True)
    assert metrics["Market cap"] == fmt.money_compact(row["market_cap"], "USD")
    assert metrics["P/E"] == fmt.number(row["pe_ratio"])
    assert metrics["P/B"] == fmt.number(row["pb_ratio"])
    assert metrics["Dividend yield"] == fmt.pct(row["dividend_yield"])
    assert metrics["EPS"] == fmt.usd(row["eps"])
    assert any(c.value.startswith(f"Sector: {row['sector']} · ") for c in at.caption)
    assert metrics["52-week high"] == fmt.usd(row["high_52w"])
    assert metrics["52-week low"] == fmt.usd(row["low_52w"])
    assert metrics["RSI 14"] == fmt.number(row["rsi_14"], 1)
    indicators = at.dataframe[0].value.set_index("Indicator")["Value"]
    assert indicators["SMA 200"] == fmt.usd(row["sma_200"])
    assert indicators["MACD"] == fmt.number(row["macd"], 3)
    assert indicators["Stochastic %K"] == fmt.number(row["stoch_k"], 1)  # from the registry, no page code
    assert indicators["Stochastic %D"] == fmt.number(row["stoch_d"], 1)


def test_switching_ticker_keeps_working(app_on, mart):
    at = open_stock_page(app_on.settings, ticker="AAPL")
    other = next(t for t in mart["ticker"] if t != "AAPL")
    at.selectbox(key="ticker").set_value(other)
    rerun(at)
    start, end = _default_range(app_on, other)
    assert candles(at) == trading_days(app_on, other, start, end)
    assert at.subheader[0].value.startswith(other)


def test_filters_survive_a_visit_to_the_stock_page(app_on, mart):
    at = run_app(app_on.settings)
    at.selectbox(key="scr_preset").set_value("Momentum")
    rerun(at)
    at.number_input(key="scr_pe_ratio_max").set_value(30.0)
    rerun(at)
    before = shown_tickers(at)
    at.switch_page("views/stock.py")
    rerun(at)
    at.switch_page("views/screener.py")
    rerun(at)
    assert at.number_input(key="scr_pe_ratio_max").value == 30
    assert at.number_input(key="scr_return_252d_min").value == 20
    assert shown_tickers(at) == before

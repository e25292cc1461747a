"""The Backtest page (dashboards/views/backtest.py), its figures and tables
(dashboards/lib/backtest_charts.py) and its HTML tear sheet (dashboards/lib/tear_sheet.py).

- Unit: metric formatting, the survivorship statement per market, the rolling Sharpe ratio
  against empyrical's and the monthly table against pandas' own compounding, on real AAPL
  prices of the bundled S&P 500 file (no warehouse).
- The page (AppTest, both backends) runs the shipped US strategy and shows the metrics of that
  run equal to :func:`~domain.backtests.run.run_backtest`'s on the same reader, its charts
  (equity, rolling Sharpe against empyrical, monthly returns against an independent
  compounding) and the holdings of the last rebalance with their company names.
- The tear sheet holds the metrics, the strategy file, the survivorship statement, the monthly
  table and the last holdings (Korean names for the KRX strategy), with plotly.js inline once
  and no external script.
- Saving an edited strategy writes a file :func:`~domain.backtests.spec.load_strategy` reads back
  equal; an invalid one shows the error and writes nothing.
- The comparison shows two runs (one of this session, one stored in ``backtests.backtest_runs``),
  and a warehouse without that table lists no stored run and raises nothing.
"""

from __future__ import annotations

import base64
import html
import json
import shutil
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import duckdb
import empyrical
import numpy as np
import pandas as pd
import polars as pl
import pytest
import yaml

from dashboards.lib import backtest_charts as charts
from dashboards.lib.tear_sheet import survivorship_statement, tear_sheet_html
from domain.backtests import store
from domain.backtests.data import ReaderSource
from domain.backtests.run import BacktestResult, run_backtest
from domain.backtests.spec import dump_strategy, load_strategy, strategy_from_mapping
from domain.warehouse import readers
from domain.warehouse.duckdb_backend import DuckDBWarehouse
from domain.warehouse.sql import TableNames
from tests.app_harness import frame, rerun, run_app
from tests.conftest import REPO_ROOT
from tests.data_files import sample_file

SHIPPED = REPO_ROOT / "data" / "strategies"
US_FILE = "us_momentum_top20.yml"
KRX_FILE = "krx_momentum_top20.yml"
PAGE = "views/backtest.py"

#: The metrics table's rows as the page states them: label -> (metric key, kind).
TABLE_ROWS = {
    "CAGR": ("cagr", "percent"), "Annualised volatility": ("annual_volatility", "percent"),
    "Sharpe ratio": ("sharpe", "ratio"), "Sortino ratio": ("sortino", "ratio"),
    "Max drawdown": ("max_drawdown", "percent"), "Max drawdown peak": ("max_drawdown_peak", "date"),
    "Max drawdown trough": ("max_drawdown_trough", "date"),
    "Max drawdown recovery": ("max_drawdown_recovery", "date"), "Calmar ratio": ("calmar", "ratio"),
    "Beta": ("beta", "ratio"), "Alpha (annualised)": ("alpha", "percent"),
    "Information ratio": ("information_ratio", "ratio"), "Best month": ("best_month", "percent"),
    "Worst month": ("worst_month", "percent"), "Turnover per year": ("turnover_per_year", "percent"),
    "Hit rate": ("hit_rate", "percent"), "Rebalances": ("rebalances", "count"), "Sessions": ("sessions", "count"),
}  # fmt: skip


def _text(kind: str, value) -> str:
    """A metric as the page must show it, formatted here independently of the app's code."""
    if value is None:
        return "—"
    return {
        "percent": lambda v: f"{v * 100:.2f}%",
        "ratio": lambda v: f"{v:,.2f}",
        "date": lambda v: v.isoformat(),
        "count": lambda v: f"{v:,}",
    }[kind](value)


def _expected_table(metrics: dict) -> dict[str, str]:
    return {label: _text(kind, metrics[key]) for label, (key, kind) in TABLE_ROWS.items()}


def _array(values) -> np.ndarray:
    """A plotly trace's numbers as floats (NaN for null), whether plain lists or a typed array
    (``bdata``, with its ``shape`` for a 2-D one)."""
    if isinstance(values, dict):
        flat = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).astype(float)
        shape = values.get("shape")
        return flat.reshape([int(n) for n in shape.split(",")]) if shape else flat
    return np.array(values, dtype=float)  # None -> NaN


def _numbers(values) -> list[float]:
    return _array(values).tolist()


def _monthly(daily: pl.DataFrame) -> pd.Series:
    """Compounded calendar-month returns, with pandas (an independent computation)."""
    returns = daily.to_pandas().set_index("session")["daily_return"]
    returns.index = pd.to_datetime(returns.index)
    return (1 + returns).groupby([returns.index.year, returns.index.month]).prod() - 1


def _aapl_daily() -> pl.DataFrame:
    """AAPL's daily close-to-close returns of the bundled S&P 500 file (real data, no warehouse)."""
    prices = pd.read_csv(sample_file("sp500_all_stocks_5yr.csv.gz"), usecols=["date", "close", "Name"])
    closes = prices[prices["Name"] == "AAPL"].set_index("date")["close"].sort_index()
    returns = closes.pct_change().dropna()
    sessions = pl.Series("session", list(pd.to_datetime(returns.index).date), dtype=pl.Date)
    return pl.DataFrame([sessions, pl.Series("daily_return", returns.to_numpy())])


# ----------------------------------------------------------------------------- unit


def test_metrics_are_formatted_by_kind():
    assert charts.format_metric("percent", 0.13084263641239113) == "13.08%"
    assert charts.format_metric("percent", -0.1281) == "-12.81%"
    assert charts.format_metric("ratio", 0.8761447862443149) == "0.88"
    assert charts.format_metric("date", date(2016, 1, 20)) == "2016-01-20"
    assert charts.format_metric("count", 1033) == "1,033"
    assert charts.format_metric("date", None) == charts.format_metric("ratio", None) == "—"
    with pytest.raises(ValueError, match="unknown metric kind"):
        charts.format_metric("money", 1.0)
    assert [label for _, label, _ in charts.METRICS] == list(TABLE_ROWS)


def test_the_survivorship_statement_names_each_universe_of_the_markets():
    us = survivorship_statement(("US",))
    krx = survivorship_statement(("KOSPI", "KOSDAQ"))
    assert "S&P 500 as of February 2018" in us and "2022-05-16" not in us
    assert "KRX listing of 2022-05-16" in krx and "472 companies delisted" in krx and "S&P 500" not in krx
    assert survivorship_statement(("KOSDAQ",)) == krx
    both = survivorship_statement()
    assert "S&P 500" in both and "472" in both and both.endswith("read every result so.")


def test_rolling_sharpe_equals_empyricals_on_real_returns():
    daily = _aapl_daily()
    rolling = charts.rolling_sharpe(daily)
    oracle = empyrical.roll_sharpe_ratio(pd.Series(daily["daily_return"].to_numpy()), window=charts.ROLLING_WINDOW)
    values = rolling["rolling_sharpe"].to_numpy()
    assert rolling["rolling_sharpe"][: charts.ROLLING_WINDOW - 1].null_count() == charts.ROLLING_WINDOW - 1
    np.testing.assert_allclose(values[charts.ROLLING_WINDOW - 1 :], np.asarray(oracle), rtol=1e-9)
    assert len(oracle) == daily.height - charts.ROLLING_WINDOW + 1 == 1007


def test_the_monthly_table_compounds_each_calendar_month_and_year():
    daily = _aapl_daily()
    table = charts.monthly_table(daily)
    expected = _monthly(daily)
    for (year, month), value in expected.items():
        assert table.loc[year, charts.MONTHS[month - 1]] == pytest.approx(value, rel=1e-12)
    assert np.isnan(table.loc[2013, "Jan"])  # the file starts on 2013-02-08
    assert table.loc[2017, "Year"] == pytest.approx(float(np.prod(1 + expected.loc[2017]) - 1), rel=1e-12)
    # AAPL's close: 115.82 on 2016-12-30, 169.23 on 2017-12-29
    assert table.loc[2017, "Year"] == pytest.approx(169.23 / 115.82 - 1, rel=1e-9)


# ----------------------------------------------------------------------------- the page (integration)


def open_page(settings):
    at = run_app(settings)
    at.switch_page(PAGE)
    return rerun(at)


def run_file(at, file_name: str):
    at.selectbox(key="bt_file").set_value(file_name)
    at = rerun(at)
    at.button(key="bt_run").click()
    return rerun(at)


def _chart(at, title: str) -> dict:
    found = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    found = [spec for spec in found if spec["layout"].get("title", {}).get("text", "").startswith(title)]
    assert len(found) == 1, f"{len(found)} charts titled {title!r}"
    return found[0]


def _last_holdings(result: BacktestResult) -> pl.DataFrame:
    last = result.holdings["rebalance_session"].max()
    return result.holdings.filter(pl.col("rebalance_session") == last).sort("rank")


def test_the_page_runs_a_shipped_us_strategy_with_the_metrics_of_run_backtest(app_on):
    settings = app_on.settings.with_values(strategies_dir=SHIPPED)  # read only: nothing is saved
    at = run_file(open_page(settings), US_FILE)
    assert not at.error, [e.value for e in at.error]
    shown: BacktestResult = at.session_state["bt_runs"][-1]["result"]

    spec = load_strategy(SHIPPED / US_FILE)
    expected = run_backtest(spec, ReaderSource(readers.open_reader(app_on.settings)))
    assert shown.spec == spec
    assert shown.metrics == expected.metrics  # exactly: the same run on the same reader
    assert shown.daily.equals(expected.daily) and shown.holdings.equals(expected.holdings)
    # the bundled US sessions from the first monthly rebalance (2014-01-02) to 2018-02-07
    assert (expected.metrics["sessions"], expected.metrics["rebalances"]) == (1033, 50)
    assert expected.daily["session"][0] == date(2014, 1, 2)

    table = frame(at, "Metric", "Value")
    assert dict(zip(table["Metric"], table["Value"], strict=True)) == _expected_table(expected.metrics)
    assert any("S&P 500 as of February 2018" in w.value for w in at.warning)

    equity = _chart(at, "Equity")["data"]
    assert [t["name"] for t in equity] == ["Strategy", "Equal-weight universe"]
    assert _numbers(equity[0]["y"])[-1] == expected.daily["equity"][-1]
    assert _numbers(equity[1]["y"])[-1] == expected.daily["benchmark_equity"][-1]
    rolling = _numbers(_chart(at, "Rolling Sharpe")["data"][0]["y"])
    oracle = empyrical.roll_sharpe_ratio(pd.Series(expected.daily["daily_return"].to_numpy()), window=252)
    np.testing.assert_allclose(rolling[251:], np.asarray(oracle), rtol=1e-9)
    heatmap = _chart(at, "Monthly returns")["data"][0]
    z = _array(heatmap["z"])
    for (year, month), value in _monthly(expected.daily).items():
        assert z[heatmap["y"].index(str(year)), month - 1] == pytest.approx(value, rel=1e-12)

    holdings = frame(at, "ticker", "company_name", "target_weight")
    last = _last_holdings(expected)
    assert holdings["ticker"].tolist() == last["ticker"].to_list() and len(last) == 20
    names = app_on.read(f"SELECT ticker, company_name FROM {app_on.t('marts', 'dim_companies')}")
    by_ticker = dict(zip(names["ticker"], names["company_name"], strict=True))
    assert holdings["company_name"].tolist() == [by_ticker[t] for t in last["ticker"].to_list()]
    assert holdings["target_weight"].tolist() == [0.05] * 20


@pytest.fixture(scope="module")
def duckdb_runs(built_warehouse) -> dict[str, BacktestResult]:
    """The shipped US and KRX strategies run on the DuckDB snapshot, once per module."""
    reader = readers.snapshot_reader(built_warehouse.snapshot_path)
    try:
        return {name: run_backtest(load_strategy(SHIPPED / name), ReaderSource(reader)) for name in (US_FILE, KRX_FILE)}
    finally:
        readers.close_all()


class _Document(HTMLParser):
    """The tables (rows of cell texts), the ``<script>`` attributes and the ``<pre>`` texts of an
    HTML document (the standard library's parser: no app code)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.scripts: list[dict] = []
        self.links: list[dict] = []
        self.pre: dict[str, str] = {}
        self._cell: list[str] | None = None
        self._pre: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "script":
            self.scripts.append(dict(attrs))
        elif tag == "link":
            self.links.append(dict(attrs))
        elif tag == "pre":
            self._pre = dict(attrs).get("id", "")
            self.pre[self._pre] = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "pre":
            self._pre = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._pre is not None:
            self.pre[self._pre] += data


@pytest.mark.parametrize("source", ["duckdb"], indirect=True)
def test_the_tear_sheet_is_self_contained_with_metrics_spec_and_survivorship(app_on, duckdb_runs):
    result = duckdb_runs[US_FILE]
    generated = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    text = tear_sheet_html(result, {"AAPL": "Apple Inc."}, "build-42", generated)
    document = _Document(text)

    assert text.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in text
    assert all("src" not in attrs for attrs in document.scripts) and not document.links  # nothing fetched
    assert text.count("plotly.js v") == 1 and text.count("Plotly.newPlot(") == 4  # plotly.js inline, once
    assert "Data build build-42" in text and "Generated 2026-12-06 12:00 UTC" in text
    assert html.escape(survivorship_statement(("US",))) in text and "S&amp;P 500 as of February 2018" in text

    metrics, monthly, holdings = document.tables
    assert metrics[0] == ["Metric", "Value"]
    assert dict(map(tuple, metrics[1:])) == _expected_table(result.metrics)

    assert document.pre["strategy"] == dump_strategy(result.spec)
    assert strategy_from_mapping(yaml.safe_load(document.pre["strategy"])) == result.spec

    assert monthly[0][:2] == ["", "Jan"] and monthly[0][-1] == "Year"
    cells = {row[0]: row[1:] for row in monthly[1:] if row and row[0].isdigit()}
    for (year, month), value in _monthly(result.daily).items():
        assert cells[str(year)][month - 1] == f"{value * 100:.1f}%"

    last = _last_holdings(result)
    assert [row[1] for row in holdings[1:]] == last["ticker"].to_list()
    assert [row[4] for row in holdings[1:]] == ["5.00%"] * 20  # target weight

    # the KRX strategy: Korean company names as listed, the KRX universe's statement
    krx = duckdb_runs[KRX_FILE]
    tickers = _last_holdings(krx)["ticker"].to_list()
    names = app_on.read(
        f"SELECT ticker, company_name FROM {app_on.t('marts', 'dim_companies')} "
        f"WHERE ticker IN ({', '.join('?' for _ in tickers)})",
        tickers,
    )
    korean = dict(zip(names["ticker"], names["company_name"], strict=True))
    hangul = [korean[t] for t in tickers if any("\uac00" <= ch <= "\ud7a3" for ch in korean[t])]
    assert 0 < len(tickers) <= 20 and hangul  # e.g. LG이노텍, SK텔레콤 (some names are Latin: NAVER)
    krx_text = tear_sheet_html(krx, korean)
    krx_rows = _Document(krx_text).tables[2][1:]
    assert [(row[1], row[2]) for row in krx_rows] == [(t, korean[t]) for t in tickers]
    assert all(name in krx_text for name in hangul)  # as text, not as character references
    assert "472 companies delisted" in krx_text and "S&amp;P 500" not in krx_text


@pytest.mark.parametrize("source", ["duckdb"], indirect=True)
def test_saving_an_edited_strategy_writes_a_file_that_reads_back_equal(app_on, tmp_path):
    folder = tmp_path / "strategies"
    shutil.copytree(SHIPPED, folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    at = open_page(app_on.settings.with_values(strategies_dir=folder))
    at.selectbox(key="bt_file").set_value(US_FILE)
    at = rerun(at)
    assert at.selectbox(key="bt_preset").value == "Momentum"

    at.text_input(key="bt_name").input("us_momentum_rsi_top15")
    at.number_input(key="bt_top_n").set_value(15)
    at.number_input(key="bt_scr_rsi_14_max").set_value(80.0)  # the screener's "RSI 14 under" input
    at.button(key="bt_save").click()
    at = rerun(at)

    written = folder / "us_momentum_rsi_top15.yml"
    assert [s.value for s in at.success] == [f"Saved {written.name} in {folder}."]
    original = yaml.safe_load((SHIPPED / US_FILE).read_text())
    expected = strategy_from_mapping(
        original | {"name": "us_momentum_rsi_top15", "top_n": 15,
                    "screen": {"preset": "Momentum", "filters": {"rsi_14": {"max": 80}}}}
    )  # fmt: skip
    assert load_strategy(written) == expected
    assert at.selectbox(key="bt_file").value == written.name
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p != written} == before

    # an invalid name, then an invalid range of dates: the error, and nothing written
    at.text_input(key="bt_name").input("no/such folder")
    at.button(key="bt_save").click()
    at = rerun(at)
    errors = [e.value for e in at.error]
    assert len(errors) == 1
    assert errors[0].startswith(f"Not saved: {folder / 'no/such folder.yml'}: field 'name': must be 1-80 letters")
    at.text_input(key="bt_name").input("us_backwards")
    at.date_input(key="bt_start").set_value(date(2018, 2, 7))
    at.date_input(key="bt_end").set_value(date(2014, 1, 1))
    at.button(key="bt_save").click()
    at = rerun(at)
    assert [e.value for e in at.error] == [
        f"Not saved: {folder / 'us_backwards.yml'}: field '(spec)': start 2018-02-07 must be before end 2014-01-01"
    ]
    assert sorted(p.name for p in folder.iterdir()) == sorted([*before, written.name])
    assert not at.success


def _write_stored_run(snapshot, result: BacktestResult) -> str:
    with duckdb.connect(str(snapshot)) as con:
        now = datetime.now(UTC)
        return store.write_run(DuckDBWarehouse(con, TableNames()), result, "test-build", now, now)


@pytest.mark.parametrize("source", ["duckdb"], indirect=True)
def test_the_comparison_shows_a_session_run_and_a_stored_run(app_on, tmp_path):
    snapshot = tmp_path / "warehouse.snapshot.duckdb"
    shutil.copyfile(app_on.snapshot, snapshot)
    with duckdb.connect(str(snapshot)) as con:
        con.execute("DROP SCHEMA IF EXISTS backtests CASCADE")
    settings = app_on.settings.with_values(snapshot_path=snapshot, strategies_dir=SHIPPED)
    at = run_file(open_page(settings), US_FILE)
    assert any("No stored runs: the warehouse has no `backtests.backtest_runs` table" in c.value for c in at.caption)
    assert list(at.multiselect(key="bt_compare").options) == [at.session_state["bt_runs"][-1]["label"]]

    session_run = at.session_state["bt_runs"][-1]
    readers.close_all()  # the page's reader lets go of the file before it is written
    run_id = _write_stored_run(snapshot, session_run["result"])
    at = rerun(at)
    options = list(at.multiselect(key="bt_compare").options)
    stored = [o for o in options if o.startswith("stored · us_momentum_top20 · ") and o.endswith(run_id[:8])]
    assert len(options) == 2 and len(stored) == 1
    at.multiselect(key="bt_compare").set_value([session_run["label"], stored[0]])
    at = rerun(at)

    curves = _chart(at, "Equity of the compared runs")["data"]
    assert [t["name"] for t in curves] == [session_run["label"], stored[0]]
    final = session_run["result"].daily["equity"][-1]
    assert [_numbers(t["y"])[-1] for t in curves] == [final, final]
    table = frame(at, "Metric", session_run["label"], stored[0])
    expected = list(_expected_table(session_run["result"].metrics).values())
    assert table[session_run["label"]].tolist() == expected == table[stored[0]].tolist()

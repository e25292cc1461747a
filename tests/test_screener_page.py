"""The screener page's layout: the market data date per market in the sidebar (build time in
small print), the result table's column order and column chooser, empty cells, counted nouns,
and the filter form's accessible labels.

Unit tests use the registry and an in-memory DuckDB; the app tests run the app (AppTest) on the
built warehouse of each backend and compare with values read directly (``Source.read``).
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboards.lib import filter_form as ff
from dashboards.lib import formatting as fmt
from dashboards.lib import tables
from dashboards.queries import build
from domain import screens
from domain.screens import Range, ScreenSpec, Trend
from tests.app_harness import rerun, run_app

# ----------------------------------------------------------------------------- unit: labels


def test_every_filter_form_label_is_unique_and_names_its_field():
    reg = screens.registry()
    labels = ff.form_labels(reg)
    assert set(labels) == set(ff.widget_keys(reg)) - {ff.KEY_SORT_BY, ff.KEY_SORT_DESC}
    assert len(set(labels.values())) == len(labels), "two filter widgets share a label"
    for key, column in reg.filters.items():
        bounds = ("min", "max") if column.filter == "range" else (None,)
        for bound in bounds:
            label = labels[ff.widget_key(column, bound)]
            assert column.label.lower() in label.lower(), (key, label)
            assert label not in ("over", "under")
    assert labels["scr_rsi_14_min"] == "RSI 14 over"
    assert labels["scr_rsi_14_max"] == "RSI 14 under"
    assert labels["scr_market_cap_min"] == "Market cap (USD bn) over"
    assert labels["scr_dividend_yield_max"] == "Dividend yield (%) under"
    assert labels["scr_vs_sma_200"] == "Close vs SMA 200"
    assert labels["scr_min_relative_volume"] == "Min relative volume"
    assert labels[ff.KEY_MARKET] == "Market"
    assert ff.form_labels(reg, "KRW")["scr_market_cap_min"] == "Market cap (KRW 억) over"


def test_widget_label_rejects_a_missing_or_stray_bound():
    reg = screens.registry()
    with pytest.raises(ValueError, match="rsi_14"):
        ff.widget_label(reg["rsi_14"])
    with pytest.raises(ValueError, match="vs_sma_50"):
        ff.widget_label(reg["sma_50"], "min")
    with pytest.raises(ValueError, match="'ticker' has no filter"):
        ff.widget_label(reg["ticker"])


# ----------------------------------------------------------------------------- unit: columns


def test_screen_columns_of_the_presets():
    presets = screens.presets()
    assert tables.screen_columns(presets["Oversold above SMA200"]) == ("rsi_14", "close", "sma_200")
    assert tables.screen_columns(presets["Momentum"]) == ("return_252d", "return_63d", "close", "sma_50", "sma_200")
    assert tables.screen_columns(presets["Value: P/E < 15 and dividend yield > 3 %"]) == ("dividend_yield", "pe_ratio")
    assert tables.screen_columns(presets["Near 52-week high on heavy volume"]) == (
        "relative_volume",
        "pct_from_high_52w",
    )
    assert tables.screen_columns(presets[screens.NO_PRESET]) == ("market_cap",)
    spec = ScreenSpec(text="bank", sectors=("Energy",), sort_by="ticker", stoch_k=Range(max=20))
    assert tables.screen_columns(spec) == ("stoch_k", "sector")  # ticker is a lead column already


def test_column_order_puts_the_screen_columns_after_the_company():
    spec = ScreenSpec(rsi_14=Range(max=30), vs_sma_200=Trend.ABOVE, sort_by="rsi_14", descending=False)
    order = tables.column_order(spec, ["sector", "rsi_14", "market_cap", "pe_ratio"])
    assert order == ["ticker", "company_name", "rsi_14", "close", "sma_200", "sector", "market_cap", "pe_ratio"]
    assert tables.column_order(spec, []) == ["ticker", "company_name", "rsi_14", "close", "sma_200"]
    default = tables.column_order(spec, tables.DEFAULT_COLUMNS)
    assert default.index("rsi_14") < default.index("market_cap") < default.index("dividend_yield")
    with pytest.raises(ValueError, match="'volume_of_nothing'"):
        tables.column_order(spec, ["pe_ratio", "volume_of_nothing"])


def test_default_columns_are_result_columns():
    assert set(tables.DEFAULT_COLUMNS) <= set(screens.registry().result_columns)


# ----------------------------------------------------------------------------- unit: counts


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "0 articles"), (1, "1 article"), (2, "2 articles"), (1204, "1,204 articles")],
)
def test_counted_agrees_with_the_count(count, expected):
    assert fmt.counted(count, "article") == expected


def test_noun_forms():
    assert fmt.noun(1, "matches", "match") == "matches"
    assert fmt.noun(3, "matches", "match") == "match"
    assert fmt.noun(1, "stock") == "stock" and fmt.noun(505, "stock") == "stocks"
    with pytest.raises(TypeError, match="whole number"):
        fmt.noun(1.5, "stock")


def test_market_names():
    assert fmt.market_name("US") == "US"
    assert fmt.market_name("KOSPI") == "KOSPI (Korea)"
    assert fmt.market_name("TSX") == "TSX"


# ----------------------------------------------------------------------------- unit: market dates


class _MemoryReader:
    """The two reader methods :func:`build.market_dates` uses, over an in-memory DuckDB."""

    backend = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def table(self, layer: str, name: str) -> str:
        return f"{layer}.{name}"

    def query(self, sql: str, params=None) -> pd.DataFrame:
        return self.con.execute(sql, params).fetch_df()


@pytest.fixture()
def companies() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.dim_companies (ticker VARCHAR, last_trade_date DATE)")
    con.execute(
        "INSERT INTO marts.dim_companies VALUES ('AAA', DATE '2018-02-07'), ('BBB', DATE '2018-02-06'), "
        "('005930.KS', DATE '2018-02-08')"
    )
    yield con
    con.close()


def test_market_dates_one_market_without_a_market_column(companies):
    assert build.market_dates(_MemoryReader(companies)) == [
        build.MarketDate(market=build.DEFAULT_MARKET, last_trade_date=date(2018, 2, 8), tickers=3)
    ]


def test_market_dates_per_market_when_the_warehouse_names_them(companies):
    companies.execute("ALTER TABLE marts.dim_companies ADD COLUMN market VARCHAR")
    companies.execute(
        "UPDATE marts.dim_companies SET market = CASE WHEN ticker LIKE '%.KS' THEN 'KOSPI' ELSE 'US' END"
    )
    assert build.market_dates(_MemoryReader(companies)) == [
        build.MarketDate(market="KOSPI", last_trade_date=date(2018, 2, 8), tickers=1),
        build.MarketDate(market="US", last_trade_date=date(2018, 2, 7), tickers=2),
    ]


def test_market_dates_of_an_empty_warehouse(companies):
    companies.execute("DELETE FROM marts.dim_companies")
    assert build.market_dates(_MemoryReader(companies)) == []


# ----------------------------------------------------------------------------- app


def _table(at: AppTest):
    found = [d for d in at.dataframe if d.key == "scr_table"]
    assert len(found) == 1
    return found[0]


def run_us_screener(settings) -> AppTest:
    """The screener on the US market (one currency: the table's columns as before markets)."""
    at = run_app(settings)
    at.selectbox(key=ff.KEY_MARKET).set_value("US")
    return rerun(at)


def test_sidebar_shows_the_market_date_and_the_build_time_apart(app_on):
    dates = app_on.read(
        f"SELECT market, max(last_trade_date) AS d FROM {app_on.t('marts', 'dim_companies')} GROUP BY market"
    )
    run_id = app_on.read(f"SELECT run_id FROM {app_on.t('meta', 'build_info')}").at[0, "run_id"]
    at = run_app(app_on.settings)
    markdown = [m.value for m in at.sidebar.markdown]
    for market, day in zip(dates["market"], dates["d"], strict=True):  # each market its own date
        line = f"**{fmt.market_name(market)} market data as of {pd.Timestamp(day):%Y-%m-%d}**"
        assert any(line in m for m in markdown), (line, markdown)
    assert "US" in set(dates["market"])
    captions = [c.value for c in at.sidebar.caption]
    build_line = next(c for c in captions if c.startswith("Warehouse built "))
    assert run_id in build_line and build_line.endswith(f"run `{run_id}`")
    assert not any("Data as of" in text for text in markdown + captions)  # the build time is not the data's date


def test_oversold_preset_shows_its_columns_first(app_on):
    at = run_us_screener(app_on.settings)
    at.selectbox(key="scr_preset").set_value("Oversold above SMA200")
    rerun(at)
    table = _table(at)
    visible = list(table.proto.column_order)
    assert visible[:5] == ["ticker", "company_name", "rsi_14", "close", "sma_200"]
    assert visible == tables.column_order(screens.presets()["Oversold above SMA200"], tables.DEFAULT_COLUMNS)
    # the data keeps every result column (hidden ones behind column_order), shown ones first, and
    # each row's market and currency
    assert set(table.value.columns) == {*screens.registry().result_columns, "market", "currency"}
    assert list(table.value.columns[: len(visible)]) == visible
    assert table.proto.HasField("placeholder") and table.proto.placeholder == ""  # empty cells, not "None"


def test_column_chooser(app_on):
    at = run_us_screener(app_on.settings)
    chooser = at.multiselect(key="scr_columns")
    assert chooser.label == "Columns"
    assert chooser.value == list(tables.DEFAULT_COLUMNS)
    chooser.set_value(["roe", "news_sentiment_7d", "pe_ratio"])
    rerun(at)
    assert list(_table(at).proto.column_order) == [
        "ticker",
        "company_name",
        "market_cap",
        "roe",
        "news_sentiment_7d",
        "pe_ratio",
    ]
    at.number_input(key="scr_rsi_14_max").set_value(40.0)  # a filter's column joins, whatever was chosen
    rerun(at)
    assert list(_table(at).proto.column_order)[:4] == ["ticker", "company_name", "market_cap", "rsi_14"]
    at.button(key="scr_columns_reset").click()
    rerun(at)
    assert at.multiselect(key="scr_columns").value == list(tables.DEFAULT_COLUMNS)


def test_rendered_filter_labels_are_unique_and_name_their_fields(app_on):
    at = run_us_screener(app_on.settings)
    expected = ff.form_labels(currency="USD")
    widgets = [
        *at.sidebar.number_input, *at.sidebar.radio, *at.sidebar.checkbox,
        *at.sidebar.text_input, *at.sidebar.multiselect,
    ]  # fmt: skip
    rendered = {w.key: w.label for w in [*widgets, at.selectbox(key=ff.KEY_MARKET)] if w.key in expected}
    assert rendered == expected
    labels = [w.label for w in widgets]
    assert len(labels) == len(set(labels)), sorted(labels)
    assert not {"over", "under"} & set(labels)


def test_one_match_is_singular(app_on):
    mart = app_on.read(f"SELECT ticker, company_name FROM {app_on.t('marts', 'mart_screener_latest')}")
    hits = mart["ticker"].str.contains("AAPL", case=False) | mart["company_name"].str.contains("AAPL", case=False)
    assert int(hits.sum()) == 1
    at = run_app(app_on.settings)
    at.text_input(key="scr_text").input("AAPL")
    rerun(at)
    assert any(m.value == f"**1** of {len(mart)} stocks matches" for m in at.markdown), [m.value for m in at.markdown]

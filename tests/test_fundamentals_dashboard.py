"""Fundamentals in the app, on DuckDB and PostgreSQL: the screener's filing-based filters and
``valuation_source`` column, and the Stock page's valuation panel, checked against independent
reads of the marts (``tests/app_harness.py``)."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboards.lib import filter_form as ff
from dashboards.queries import screener as screener_queries
from dashboards.queries import stock as stock_queries
from domain import screens
from domain.warehouse.readers import open_reader
from dashboards.lib.fundamentals_panel import VALUATION_PANELS, valuation_figure
from domain.screens import Range, ScreenSpec, build_screen_query
from tests.app_harness import open_stock_page, rerun, run_app


def test_filing_filters_compile_to_parameters():
    q = build_screen_query(ScreenSpec(roe=Range(min=0.15), debt_to_equity=Range(max=2), net_margin=Range(min=0.1)))
    assert "roe > ?" in q.sql and "debt_to_equity < ?" in q.sql and "net_margin > ?" in q.sql
    assert q.params == [0.15, 2.0, 0.1]
    assert {"roe", "debt_to_equity", "net_margin", "revenue_growth_yoy", "valuation_source"} <= set(
        screens.registry().result_columns
    )


def test_filter_form_percent_units_for_roe():
    spec = ScreenSpec(roe=Range(min=0.15), revenue_growth_yoy=Range(max=0.5))
    values = ff.widget_values(spec)
    assert values["scr_roe_min"] == 15.0 and values["scr_revenue_growth_yoy_max"] == 50.0
    assert ff.spec_from_widgets(values) == spec


QUALITY = "Quality (filings): ROE > 15 % and debt/equity < 2"


@pytest.fixture()
def mart(app_on) -> pd.DataFrame:
    return app_on.read(
        "SELECT ticker, market, valuation_source, roe, debt_to_equity, pe_ratio, market_cap "
        f"FROM {app_on.t('marts', 'mart_screener_latest')}"
    ).set_index("ticker")


def _quality(mart: pd.DataFrame, market: str) -> list[str]:
    """The quality screen over ``market``'s rows, independently: ROE > 15 %, debt/equity < 2, by ROE."""
    rows = mart[(mart["market"] == market) & (mart["roe"] > 0.15) & (mart["debt_to_equity"] < 2)]
    return list(rows.sort_values("roe", ascending=False).index)


def test_quality_preset_matches_independent_filter(app_on, mart):
    spec = screens.presets()[QUALITY]
    assert spec.markets == ("US",)
    result = screener_queries.run_screen(open_reader(app_on.settings), spec)
    assert list(result["ticker"]) == _quality(mart, "US")
    assert set(result["ticker"]) == {"AAPL", "NVDA"}  # GOOG(L): ROE 8.7 % on 2018-02-07
    assert set(result["valuation_source"]) == {"sec_filings"}


def test_quality_filters_on_kospi_use_the_dart_ratios(app_on, mart):
    """The same filters over KOSPI: the companies whose DART accounts give ROE > 15 % and
    debt/equity < 2 on 2022-05-16 (e.g. SK hynix 000660, ROE 16.8 % for FY2021)."""
    spec = ScreenSpec(markets=("KOSPI",), roe=Range(min=0.15), debt_to_equity=Range(max=2.0), sort_by="roe")
    result = screener_queries.run_screen(open_reader(app_on.settings), spec)
    assert list(result["ticker"]) == _quality(mart, "KOSPI")
    assert "000660" in set(result["ticker"]) and set(result["valuation_source"]) == {"dart_annual"}


def test_valuation_source_on_both_backends(app_on, mart):
    assert mart.loc["AAPL", "valuation_source"] == "sec_filings"
    assert mart.loc["ABT", "valuation_source"] == "vendor_snapshot"
    assert mart.loc["005930", "valuation_source"] == "dart_annual"
    assert pd.isna(mart.loc["GOOGL", "pe_ratio"])  # filings give no dimensionless diluted EPS
    us, krx = mart[mart["market"] == "US"], mart[mart["market"] != "US"]
    assert us["valuation_source"].value_counts().to_dict() == {"vendor_snapshot": len(us) - 4, "sec_filings": 4}
    # the 43 companies of the bundled DART file; the other KRX tickers have no fundamentals
    assert krx["valuation_source"].value_counts().to_dict() == {"dart_annual": 43}
    assert krx["valuation_source"].isna().sum() == len(krx) - 43 > 0


def test_valuation_history_and_figure(app_on):
    history = stock_queries.valuation_history(open_reader(app_on.settings), "AAPL", pd.Timestamp("2013-06-03").date(), pd.Timestamp("2013-06-07").date())
    expected = app_on.read(
        f"SELECT trade_date, pe_ratio FROM {app_on.t('marts', 'fct_daily_valuation')} "
        "WHERE ticker = ? AND trade_date BETWEEN ? AND ? ORDER BY trade_date",
        ["AAPL", "2013-06-03", "2013-06-07"],
    )
    assert len(history) == 5
    assert list(history["pe_ratio"].astype(float)) == pytest.approx(list(expected["pe_ratio"].astype(float)))
    assert 10.7 < float(history["pe_ratio"].iloc[0]) < 10.8
    fig = valuation_figure(history)
    assert [a.text for a in fig.layout.annotations] == list(VALUATION_PANELS)
    assert [t.name for t in fig.data] == ["P/E (TTM diluted EPS)", "P/B", "ROE (TTM)", "Net margin (TTM)"]


def test_stock_page_valuation_panel(app_on):
    at = open_stock_page(app_on.settings, "AAPL")
    last = app_on.read(
        f"SELECT * FROM {app_on.t('marts', 'fct_daily_valuation')} WHERE ticker = 'AAPL' "
        "ORDER BY trade_date DESC LIMIT 1"
    ).iloc[0]
    pe_metric = next(m for m in at.metric if m.label.startswith("P/E (2018-02-07)"))
    assert pe_metric.value == f"{float(last['pe_ratio']):,.2f}"
    assert any("computed from SEC filings known on 2018-02-02" in c.value for c in at.caption)
    quarters = next(d.value for d in at.dataframe if "Quarter end" in d.value.columns)
    expected = app_on.read(
        f"SELECT period_end, quarter_eps_diluted FROM {app_on.t('marts', 'fct_quarterly_fundamentals')} "
        "WHERE cik = '0000320193' AND first_reported_date <= '2018-02-07' ORDER BY period_end DESC LIMIT 12"
    )
    assert list(quarters["Quarter end"]) == [str(d)[:10] for d in expected["period_end"]]
    assert quarters["Quarter end"].iloc[0] == "2017-12-30"  # Q1 FY2018, 10-Q filed 2018-02-02
    assert quarters["Diluted EPS"].iloc[0] == f"${float(expected['quarter_eps_diluted'].iloc[0]):,.2f}"


def test_stock_page_without_filings(app_on):
    at = open_stock_page(app_on.settings, "ABT")
    assert any(c.value.startswith("No SEC filings for ABT") for c in at.caption)
    assert any("vendor snapshot of 2018-02-08" in c.value for c in at.caption)


def test_screener_page_roe_filter(app_on, mart):
    at = run_app(app_on.settings)
    at.number_input(key="scr_roe_min").set_value(30.0)
    rerun(at)
    table = next(d for d in at.dataframe if d.key == "scr_table").value
    assert set(table["ticker"]) == set(mart.index[mart["roe"] > 0.30])
    assert len(table) >= 1 and "valuation_source" in table.columns

"""The Portfolio page on both backends: figures equal the marts read independently, the example
portfolio's holdings, allocation and transactions are listed, and the upload form writes only
valid files (errors name line and field; nothing written)."""

from __future__ import annotations


import pandas as pd
import pytest

from dashboards.lib import formatting as fmt
from tests.app_harness import frame, rerun, run_app
from tests.conftest import REPO_ROOT

EXAMPLE = "example_us_core"
EXAMPLE_FILE = REPO_ROOT / "data" / "portfolios" / "example_us_core.csv"


def open_portfolio_page(settings):
    """The Portfolio page on the US example (the Korean example sorts first)."""
    at = run_app(settings)
    at.switch_page("views/portfolio.py")
    at = rerun(at)
    at.selectbox(key="portfolio").set_value(EXAMPLE)
    return rerun(at)


def metric(at, label_start: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label_start))


def test_figures_and_tables_match_the_marts(app_on):
    source = app_on
    risk = source.read(f"select * from {source.t('portfolios', 'mart_portfolio_risk')} where portfolio = ?", [EXAMPLE])
    assert len(risk) == 1
    row = risk.iloc[0]
    at = open_portfolio_page(source.settings)
    assert at.selectbox(key="portfolio").value == EXAMPLE
    assert metric(at, "Market value") == fmt.usd(row["market_value"])
    assert metric(at, "Time-weighted return") == fmt.pct(row["total_return"], signed=True)
    assert metric(at, "Annualised volatility") == fmt.pct(row["annualised_volatility"])
    assert metric(at, "Sharpe") == fmt.number(row["sharpe_ratio"])
    assert metric(at, "Sortino") == fmt.number(row["sortino_ratio"])
    assert metric(at, "Max drawdown") == fmt.pct(row["max_drawdown"])
    assert metric(at, "Beta") == fmt.number(row["beta"])
    assert metric(at, "Equal-weight universe return") == fmt.pct(row["benchmark_total_return"], signed=True)

    holdings = frame(at, "ticker", "company_name", "unrealised_pnl")
    positions = source.read(
        f"select ticker, quantity, market_value from {source.t('portfolios', 'fct_portfolio_positions_daily')} "
        f"where portfolio = ? and trade_date = (select max(trade_date) from "
        f"{source.t('portfolios', 'fct_portfolio_positions_daily')} where portfolio = ?)",
        [EXAMPLE, EXAMPLE],
    )
    assert sorted(holdings["ticker"]) == sorted(positions["ticker"])
    # the example sold all its XOM in 2017: AAPL 30, JNJ 30, JPM 40, MSFT 20, NVDA 10 remain
    held = holdings.set_index("ticker")["quantity"]
    assert held[held > 0].to_dict() == {"AAPL": 30, "JNJ": 30, "JPM": 40, "MSFT": 20, "NVDA": 10}
    assert holdings["market_value"].sum() == pytest.approx(row["market_value"], rel=1e-12)

    allocation = frame(at, "sector", "holding_count")
    assert allocation["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert set(allocation["sector"]) == {"Information Technology", "Health Care", "Financials"}

    transactions = frame(at, "side", "quantity_after")
    assert len(transactions) == 12
    assert pd.Timestamp(transactions["trade_date"].iloc[0]).date().isoformat() == "2017-11-16"


@pytest.mark.parametrize("source", ["duckdb"], indirect=True)
def test_upload_rejects_a_bad_file_and_writes_a_good_one(app_on, portfolios_dir):
    at = open_portfolio_page(app_on.settings.with_values(portfolios_dir=portfolios_dir))
    bad = EXAMPLE_FILE.read_text().replace("example_us_core", "uploaded") + (
        "uploaded,2017-12-01,AAPL,sell,500,171.05,1.00,USD\n"
    )
    at.file_uploader(key="portfolio_upload").upload("uploaded.csv", bad.encode(), "text/csv")
    at = rerun(at)
    at.text_input(key="portfolio_upload_name").set_value("uploaded.csv")
    at.button(key="portfolio_upload_save").click()
    at = rerun(at)
    assert not (portfolios_dir / "uploaded.csv").exists()
    errors = frame(at, "line", "field", "error")
    assert errors["line"].tolist() == [14]
    assert errors["field"].tolist() == ["quantity"]
    assert "500" in errors["error"].iloc[0] and "30" in errors["error"].iloc[0]

    good = EXAMPLE_FILE.read_text().replace("example_us_core", "uploaded")
    at.file_uploader(key="portfolio_upload").upload("uploaded.csv", good.encode(), "text/csv")
    at = rerun(at)
    at.button(key="portfolio_upload_save").click()
    at = rerun(at)
    assert (portfolios_dir / "uploaded.csv").read_text() == good
    assert any("Saved uploaded.csv" in s.value for s in at.success)


@pytest.mark.parametrize("source", ["duckdb"], indirect=True)
def test_edit_tab_saves_the_current_file_back_through_validation(app_on, portfolios_dir):
    at = open_portfolio_page(app_on.settings.with_values(portfolios_dir=portfolios_dir))
    editors = at.data_editor
    assert len(editors) == 1
    shown = editors[0].value
    assert shown.columns.tolist() == ["portfolio", "trade_date", "ticker", "side", "quantity", "price", "fees", "currency"]
    assert len(shown) == 12  # the example file's rows, as text
    before = (portfolios_dir / EXAMPLE_FILE.name).read_bytes()
    next(b for b in at.button if b.label == "Validate and save changes").click()
    at = rerun(at)
    assert any(f"Saved {EXAMPLE_FILE.name}" in s.value for s in at.success)
    assert (portfolios_dir / EXAMPLE_FILE.name).read_bytes() == before  # unchanged rows, same bytes

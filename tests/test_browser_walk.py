"""A walk through the running app in a real browser: ``streamlit run dashboards/app.py`` on the
session's built DuckDB snapshot, driven by Playwright on the system Chromium (tests/browser.py).

Each page is opened by URL as a user would, waited for until Streamlit has finished running it,
checked for exception boxes and JavaScript errors, for the content that page exists to show
(compared with the snapshot read directly, not through the app's code), and saved as a full-page
screenshot (``BROWSER_SCREENSHOTS_DIR``, else a pytest temporary folder).

Skips without Chromium or playwright, except under ``CI=true`` where it fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
import yaml

from tests import browser
from tests.browser import (
    ALERT,
    DATAFRAME,
    PLOTLY,
    BrowserWalk,
    grid_column,
    grid_headers,
    grid_shape,
    plotly_trace_types,
    wait_for_app,
)

# the walk's fixtures (tests/browser.py): one app server and one browser for the module
chromium_executable = browser.chromium_executable
screenshots_dir = browser.screenshots_dir
app_server = browser.app_server
browser_walk = browser.browser_walk

#: one app server and one browser per module: under pytest-xdist, ``--dist loadgroup`` keeps the
#: walk on one worker (other modes may split it, each worker then starting its own server)
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("browser_walk")]

COUNT_RE = re.compile(r"(\d+) of (\d+) stocks match")
TRADING_DAYS_RE = re.compile(r"(\d+) trading days, (\d{4}-\d{2}-\d{2}) to (\d{4}-\d{2}-\d{2})")


def snapshot_rows(walk: BrowserWalk, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of ``sql`` on the snapshot the app reads (read-only, independent of the app's code)."""
    with duckdb.connect(str(walk.server.settings.snapshot_path), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def headings(page, level: str) -> list[str]:
    return [text.strip() for text in page.locator(f"[data-testid='stMain'] {level}").all_inner_texts()]


def assert_title(page, title: str) -> None:
    """The page's one ``h1`` is ``title`` (else the failure shows the page's messages: the app's
    frame replaces every page with a message when it cannot read the warehouse)."""
    assert headings(page, "h1") == [title], f"page messages: {_messages(page)!r}"


def _messages(page) -> str:
    """The text of every message box (``st.info``, ``st.warning``, ``st.error``...) on the page."""
    return "\n".join(page.locator(ALERT).all_inner_texts())


def grid_with(page, *headers: str):
    """The one ``st.dataframe`` whose headers include ``headers``."""
    grids = [g for g in page.locator(DATAFRAME).all() if set(headers) <= set(grid_headers(g))]
    assert len(grids) == 1, f"{len(grids)} tables with the columns {headers}"
    return grids[0]


def company_name(walk: BrowserWalk, ticker: str) -> str:
    return snapshot_rows(walk, "SELECT company_name FROM marts.mart_screener_latest WHERE ticker = ?", [ticker])[0][0]


def candlestick_chart(page):
    """The plotly chart whose first trace is a candlestick (the stock page's price chart)."""
    charts = [c for c in page.locator(PLOTLY).all() if plotly_trace_types(c)[:1] == ["candlestick"]]
    assert len(charts) == 1, f"{len(charts)} candlestick charts on the page"
    return charts[0]


# --------------------------------------------------------------------------- screener


def test_screener_lists_every_stock_largest_first(browser_walk):
    page = browser_walk.visit("")
    assert_title(page, "Screener")
    (universe,) = snapshot_rows(browser_walk, "SELECT count(*) FROM marts.mart_screener_latest")[0]
    match = COUNT_RE.search(page.locator("[data-testid='stMain']").inner_text())
    assert match, "no 'N of M stocks match' line on the screener"
    assert (int(match[1]), int(match[2])) == (universe, universe), "no preset: every stock matches"

    table = grid_with(page, "Ticker", "Company", "Sector")
    rows, _ = grid_shape(table)
    assert rows == universe
    largest = [t for (t,) in snapshot_rows(browser_walk, "SELECT ticker FROM marts.mart_screener_latest "
                                                         "ORDER BY CASE market WHEN 'US' THEN 0 ELSE 1 END, market_cap DESC NULLS LAST, ticker LIMIT 5")]  # fmt: skip
    assert grid_column(table, "Ticker")[:5] == largest, "default sort: market cap, descending"
    assert page.get_by_role("button", name="Open chart").is_visible()
    browser_walk.screenshot("01_screener")


def test_screener_opens_the_chosen_ticker_on_the_stock_page(browser_walk):
    page = browser_walk.visit("")
    ticker = "MSFT"
    picker = page.locator("[data-testid='stSelectbox']").filter(has_text="Open a ticker on the Stock page")
    picker.locator("input").click()
    page.keyboard.type(ticker)
    page.keyboard.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Open chart").click()
    page.wait_for_url(re.compile(r"/stock"))
    page.locator("[data-testid='stMain'] h3", has_text=f"{ticker} · ").wait_for()
    wait_for_app(page)
    browser_walk.check("stock (from the screener)")
    assert_title(page, "Stock")
    assert f"{ticker} · {company_name(browser_walk, ticker)}" in headings(page, "h3")
    candlestick_chart(page)


# --------------------------------------------------------------------------- stock


def test_stock_page_draws_the_candlestick_chart(browser_walk):
    page = browser_walk.visit("stock?ticker=AAPL")
    assert_title(page, "Stock")
    assert f"AAPL · {company_name(browser_walk, 'AAPL')}" in headings(page, "h3")

    match = TRADING_DAYS_RE.search(page.locator("[data-testid='stMain']").inner_text())
    assert match, "no 'N trading days, first to last' caption under the ticker"
    days, first, last = int(match[1]), match[2], match[3]
    (expected,) = snapshot_rows(browser_walk, "SELECT count(*) FROM marts.fct_daily_indicators "
                                              "WHERE ticker = 'AAPL' AND trade_date BETWEEN ? AND ?", [first, last])[0]  # fmt: skip
    assert days == expected > 200, "default period 1Y: about 252 sessions"
    (latest,) = snapshot_rows(
        browser_walk, "SELECT max(trade_date) FROM marts.fct_daily_indicators WHERE ticker = 'AAPL'"
    )[0]
    assert last == latest.isoformat()

    chart = candlestick_chart(page)
    candles = chart.locator(".js-plotly-plot").first.evaluate("e => e.data[0].x.length")
    assert candles == days
    assert chart.locator(".main-svg").first.bounding_box()["height"] > 300, "the price chart is drawn, not collapsed"
    assert page.locator("[data-testid='stMetric']").count() >= 12, "fundamentals and latest indicators"
    browser_walk.screenshot("02_stock_AAPL")


def _shown_ticker(page) -> str | None:
    """The ticker of the ``TICKER · Company`` heading, if the page shows one."""
    for text in headings(page, "h3"):
        if " · " in text:
            return text.split(" · ", 1)[0]
    return None


def test_stock_page_takes_a_lower_case_ticker(browser_walk):
    page = browser_walk.visit("stock?ticker=msft")
    browser_walk.screenshot("03_stock_lower_case_msft")
    assert_title(page, "Stock")
    assert _shown_ticker(page) == "MSFT", f"?ticker=msft opens MSFT; page messages: {_messages(page)!r}"
    assert plotly_trace_types(candlestick_chart(page))[0] == "candlestick"


def test_stock_page_explains_an_unknown_ticker(browser_walk):
    page = browser_walk.visit("stock?ticker=ZZZZ")
    browser_walk.screenshot("04_stock_unknown_ZZZZ")
    assert_title(page, "Stock")
    assert "ZZZZ" in _messages(page).upper(), "a message names the ticker the warehouse does not have"
    shown = _shown_ticker(page)
    assert shown != "ZZZZ", "no heading for a ticker the warehouse does not have"
    if shown is None:  # nothing chosen: no chart either
        assert not [c for c in page.locator(PLOTLY).all() if plotly_trace_types(c)[:1] == ["candlestick"]]


# --------------------------------------------------------------------------- portfolio


def test_portfolio_page_shows_value_holdings_and_transactions(browser_walk):
    page = browser_walk.visit("portfolio")
    assert_title(page, "Portfolio")
    assert {"Holdings", "Allocation by sector", "Transactions"} <= set(headings(page, "h3"))
    (name,) = snapshot_rows(browser_walk, "SELECT min(portfolio) FROM portfolios.mart_portfolio_risk")[0]
    assert page.get_by_role("combobox", name="Portfolio").input_value() == name

    metric_labels = page.locator("[data-testid='stMetricLabel']").all_inner_texts()
    assert any(label.startswith("Market value") for label in metric_labels)
    assert any(set(plotly_trace_types(c)) == {"scatter"} for c in page.locator(PLOTLY).all()), "performance chart"
    assert any(plotly_trace_types(c) == ["pie"] for c in page.locator(PLOTLY).all()), "sector allocation chart"

    (holdings,) = snapshot_rows(
        browser_walk,
        "SELECT count(*) FROM portfolios.fct_portfolio_positions_daily WHERE portfolio = ? AND trade_date = "
        "(SELECT max(trade_date) FROM portfolios.fct_portfolio_positions_daily WHERE portfolio = ?)",
        [name, name],
    )[0]
    assert grid_shape(grid_with(page, "Ticker", "Shares", "Avg cost"))[0] == holdings > 0
    (transactions,) = snapshot_rows(
        browser_walk, "SELECT count(*) FROM portfolios.fct_portfolio_transactions WHERE portfolio = ?", [name]
    )[0]
    assert grid_shape(grid_with(page, "Trade date", "Side", "Quantity"))[0] == transactions > 0
    browser_walk.screenshot("05_portfolio")


# --------------------------------------------------------------------------- alerts


def test_alerts_page_lists_the_rules_and_recent_events(browser_walk):
    page = browser_walk.visit("alerts")
    assert_title(page, "Alerts")
    assert {"Rules", "Recent events"} <= set(headings(page, "h3"))

    rules_file: Path = browser_walk.server.settings.alert_rules_file
    assert rules_file.is_file(), f"the walk has no copy of the alert rules at {rules_file}"
    rules = (yaml.safe_load(rules_file.read_text()) or {}).get("rules") or []
    assert rules, f"the walk's copy of the alert rules is empty: {rules_file}"
    assert f"{len(rules)} {'rule' if len(rules) == 1 else 'rules'} in" in page.locator("[data-testid='stMain']").inner_text()
    assert str(rules_file) in page.locator("[data-testid='stMain']").inner_text(), "the app reads the walk's copy"
    rules_table = grid_with(page, "Rule", "Status", "Condition")
    assert grid_shape(rules_table)[0] == len(rules)
    assert grid_column(rules_table, "Rule") == [rule["id"] for rule in rules]

    (events,) = snapshot_rows(browser_walk, "SELECT count(*) FROM alerts.alert_events")[0]
    assert events > 0, "the bundled rules fire on the bundled prices"
    assert grid_shape(grid_with(page, "Trade date", "Observed", "Threshold"))[0] == min(events, 200)
    assert page.get_by_role("button", name="Create rule").is_visible()
    browser_walk.screenshot("06_alerts")


# --------------------------------------------------------------------------- backtest


def test_backtest_page_runs_a_strategy_file_as_the_build_did(browser_walk):
    """The Backtest page opens on the first strategy file of the walk's copy; "Run backtest"
    draws equity against the benchmark, drawdown, monthly returns and the rolling Sharpe, states
    the survivorship bias, offers the tear sheet, and its metrics equal those of the run the
    build stored for the same file (same spec, same data build)."""
    page = browser_walk.visit("backtest")
    assert_title(page, "Backtest")
    files = sorted(p.name for p in browser_walk.server.settings.strategies_dir.glob("*.yml"))
    assert files, "the walk's copy of the strategies folder is empty"
    assert page.get_by_role("combobox", name="Strategy file").input_value() == files[0]
    assert "Run a backtest to see its results." in _messages(page)

    page.get_by_role("button", name="Run backtest").click()
    # the click starts a rerun a moment later: wait for what only a finished run shows
    page.get_by_role("button", name="Download tear sheet (HTML)").wait_for(state="visible", timeout=browser.RUN_TIMEOUT_MS)
    wait_for_app(page)
    browser_walk.check("backtest (run)")
    assert "Run a backtest to see its results." not in _messages(page)
    assert "Survivorship bias" in _messages(page)
    charts = page.locator(PLOTLY).all()
    assert len(charts) >= 4, f"{len(charts)} charts after the run"
    names = charts[0].locator(".js-plotly-plot").first.evaluate("e => (e.data || []).map(t => t.name)")
    assert names[0] == "Strategy" and len(names) == 2, names
    assert plotly_trace_types(charts[2]) == ["heatmap"]  # monthly returns
    browser_walk.screenshot("07_backtest")

    stored = dict(snapshot_rows(
        browser_walk,
        "SELECT m.metric, m.value FROM backtests.backtest_metrics AS m JOIN backtests.backtest_runs AS r USING (run_id) "
        "WHERE r.strategy_name = ? AND m.metric IN ('cagr', 'rebalances', 'sessions')",
        [Path(files[0]).stem],
    ))  # fmt: skip
    assert len(stored) == 3, f"the build stored no run of {files[0]}: {stored}"
    headline = page.locator("[data-testid='stMain']").inner_text()
    assert f"{stored['sessions']:,.0f} sessions from" in headline
    assert f"{stored['rebalances']:,.0f} rebalances" in headline

    page.get_by_role("tab", name="Metrics").click()
    wait_for_app(page)
    table = grid_with(page, "Metric", "Value")
    metrics = grid_column(table, "Metric")
    assert metrics[0] == "CAGR" and grid_column(table, "Value")[0] == f"{stored['cagr'] * 100:.2f}%"

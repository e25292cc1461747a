"""The Portfolio page's layout and upload form: "Save as" defaults to a valid name made from the
uploaded file's name (an emptied field gets a clear error), the holdings table is full width
with money and weight columns first and formatted, and every line of the value chart has its
own colour and legend entry."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from plotly.colors import qualitative

from dashboards.lib import portfolio_charts
from dashboards.lib.portfolio_form import suggested_file_name
from domain.portfolios.transactions import FILE_NAME_PATTERN
from tests.app_harness import rerun, run_app
from tests.conftest import REPO_ROOT

EXAMPLE_FILE = REPO_ROOT / "data" / "portfolios" / "example_us_core.csv"


# --------------------------------------------------------------------------- unit


@pytest.mark.parametrize(
    ("uploaded", "suggested"),
    [
        ("uploaded.csv", "uploaded.csv"),
        ("My Trades (2017).CSV", "My_Trades_2017.csv"),
        ("Café été.csv", "Cafe_ete.csv"),
        ("__draft__.csv", "draft.csv"),
        ("C:\\Users\\me\\trades 2017.csv", "trades_2017.csv"),
        ("株式.csv", "portfolio.csv"),
        ("", "portfolio.csv"),
        ("x" * 150 + ".csv", "x" * 100 + ".csv"),
    ],
)
def test_save_as_suggestion_is_a_valid_file_name(uploaded, suggested):
    assert suggested_file_name(uploaded) == suggested
    assert FILE_NAME_PATTERN.fullmatch(suggested)


def _daily(benchmark_id: str = "EQUAL_WEIGHT") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trade_date": pd.to_datetime(["2017-01-03", "2017-01-04", "2017-01-05"]),
            "market_value": [1000.0, 1010.0, 990.0],
            "net_cash_flow": [1000.0, 0.0, 0.0],
            "cumulative_return": [0.0, 0.01, -0.01],
            "benchmark_id": [benchmark_id] * 3,
            "benchmark_cumulative_return": [0.0, 0.005, 0.002],
            "drawdown": [0.0, 0.0, -0.0198],
            "benchmark_drawdown": [0.0, 0.0, -0.003],
        }
    )


def test_every_line_of_the_value_chart_has_its_own_colour_and_legend_entry():
    fig = portfolio_charts.performance_figure(_daily())
    names = [trace.name for trace in fig.data]
    assert names == ["Market value", "Net invested", "Portfolio return", "Equal-weight universe return",
                     "Portfolio drawdown", "Equal-weight universe drawdown"]  # fmt: skip
    colours = [trace.line.color for trace in fig.data]
    assert colours == list(qualitative.Plotly[:6])
    assert len(set(colours)) == len(colours)
    assert all(trace.showlegend for trace in fig.data) and fig.layout.showlegend
    assert list(fig.data[1].y) == [1000.0, 1000.0, 1000.0]  # net invested: cumulative cash flow
    assert fig.data[4].fill == "tozeroy" and fig.data[1].line.dash == "dot"


# --------------------------------------------------------------------------- the page (integration)


def open_portfolio_page(settings):
    at = run_app(settings)
    at.switch_page("views/portfolio.py")
    return rerun(at)


def _containers(node, path=()):
    """``(element, block types from the page root)`` of every element under ``node``."""
    children = getattr(node, "children", None)
    if not children:
        yield node, path
        return
    for child in children.values():
        yield from _containers(child, (*path, node.type))


@pytest.mark.parametrize("source", ["duckdb"], indirect=True)
def test_save_as_defaults_to_the_uploaded_files_name(app_on, portfolios_dir):
    at = open_portfolio_page(app_on.settings.with_values(portfolios_dir=portfolios_dir))
    assert at.text_input(key="portfolio_upload_name").value == ""
    good = EXAMPLE_FILE.read_text().replace("example_us_core", "uploaded")
    at.file_uploader(key="portfolio_upload").upload("My Trades (2017).csv", good.encode(), "text/csv")
    at = rerun(at)
    assert at.text_input(key="portfolio_upload_name").value == "My_Trades_2017.csv"

    at.text_input(key="portfolio_upload_name").set_value("")
    at.button(key="portfolio_upload_save").click()
    at = rerun(at)
    assert [e.value for e in at.error] == [
        "Save as: enter a file name: letters, digits, '_' or '-' ending in .csv (e.g. my_portfolio.csv)."
    ]
    assert sorted(p.name for p in portfolios_dir.iterdir()) == [EXAMPLE_FILE.name]
    assert at.text_input(key="portfolio_upload_name").value == ""  # the user's choice is kept on reruns

    at.text_input(key="portfolio_upload_name").set_value("core_2017.csv")
    at.button(key="portfolio_upload_save").click()
    at = rerun(at)
    assert (portfolios_dir / "core_2017.csv").read_text() == good
    assert any("Saved core_2017.csv" in s.value for s in at.success)

    # another upload suggests its own name again
    at.file_uploader(key="portfolio_upload").upload("second-file.csv", good.encode(), "text/csv")
    at = rerun(at)
    assert at.text_input(key="portfolio_upload_name").value == "second-file.csv"


@pytest.mark.parametrize("source", ["duckdb"], indirect=True)
def test_holdings_table_is_full_width_with_money_columns_first(app_on):
    risk = app_on.read(f"SELECT * FROM {app_on.t('portfolios', 'mart_portfolio_risk')} ORDER BY portfolio LIMIT 1")
    currency = risk.iloc[0].get("currency", "USD")  # the page's first portfolio; USD before the marts had it
    at = open_portfolio_page(app_on.settings)
    placed = {tuple(node.value.columns)[:2]: path for node, path in _containers(at.main) if node.type == "dataframe"}
    assert placed[("ticker", "company_name")] == ("main",), "holdings must not share the row with another element"
    holdings = next(d for d in at.dataframe if "unrealised_pnl" in d.value.columns)
    config = json.loads(holdings.proto.columns)
    assert list(holdings.proto.column_order)[:4] == ["ticker", "market_value", "weight", "total_pnl"]
    assert set(holdings.proto.column_order) == set(holdings.value.columns)
    formats = {name: c.get("type_config", {}).get("format") for name, c in config.items()}
    money = ["market_value", "total_pnl", "unrealised_pnl", "realised_pnl", "cost_basis", "average_cost", "close_price"]
    assert {formats[name] for name in money} == {{"USD": "dollar", "KRW": "₩%,.0f"}[currency]}
    assert formats["weight"] == "percent"
    assert all(config[name].get("width") for name in holdings.value.columns)


@pytest.mark.parametrize("source", ["duckdb"], indirect=True)
def test_value_chart_on_the_page_has_one_colour_per_line(app_on):
    at = open_portfolio_page(app_on.settings)
    spec = json.loads(next(c for c in at.get("plotly_chart") if "Market value" in c.proto.spec).proto.spec)
    colours = [trace["line"]["color"] for trace in spec["data"]]
    assert len(colours) == 6 and len(set(colours)) == 6
    assert all(trace["showlegend"] for trace in spec["data"])

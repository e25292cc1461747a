"""Markets as data: the seed ``markets`` (``dbt_project/seeds/reference/markets.csv``) against
exchange-calendars, the app's display names, and the marts built from it (``dim_markets``,
``dim_companies.market``, ``mart_screener_latest.market``)."""

from __future__ import annotations

import csv
from datetime import time
from pathlib import Path

import exchange_calendars as xc
import pandas as pd
import pytest

from dashboards.lib import formatting as fmt

SEED = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "reference" / "markets.csv"


@pytest.fixture(scope="module")
def seed_rows() -> list[dict[str, str]]:
    with SEED.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_each_seed_market_matches_its_exchange_calendar(seed_rows):
    """Time zone and closing time of each market are those exchange-calendars gives its calendar
    today (the latest entry of its close times)."""
    for row in seed_rows:
        calendar = xc.get_calendar(row["exchange_calendar"])
        assert str(calendar.tz) == row["time_zone"], row["market"]
        latest_close = calendar.close_times[-1][1]
        assert latest_close == time.fromisoformat(row["close_time_local"]), row["market"]
        assert time.fromisoformat(row["data_ready_time_local"]) > latest_close, row["market"]


def test_app_display_names_and_currencies_are_the_seeds(seed_rows):
    """The app names each market, and formats its money, as the seed file says (read here with
    csv, not through domain.markets); a code the seed does not have shows as itself."""
    assert {row["market"]: fmt.market_name(row["market"]) for row in seed_rows} == {
        row["market"]: row["display_name"] for row in seed_rows
    }
    assert {row["market"]: fmt.market_currency(row["market"]) for row in seed_rows} == {
        row["market"]: row["currency"] for row in seed_rows
    }
    assert {row["currency"]: fmt.money_decimals(row["currency"]) for row in seed_rows} == {
        row["currency"]: int(row["money_decimals"]) for row in seed_rows
    }
    assert fmt.market_name("TSX") == "TSX"


def test_dim_markets_holds_the_three_markets(warehouse_con):
    markets = warehouse_con.sql(
        "select market, exchange_calendar, currency, time_zone, close_time_local, benchmark, money_decimals "
        "from marts.dim_markets order by market"
    ).df()
    assert markets.to_dict("records") == [
        {"market": "KOSDAQ", "exchange_calendar": "XKRX", "currency": "KRW", "time_zone": "Asia/Seoul",
         "close_time_local": time(15, 30), "benchmark": "KQ11", "money_decimals": 0},
        {"market": "KOSPI", "exchange_calendar": "XKRX", "currency": "KRW", "time_zone": "Asia/Seoul",
         "close_time_local": time(15, 30), "benchmark": "KS11", "money_decimals": 0},
        {"market": "US", "exchange_calendar": "XNYS", "currency": "USD", "time_zone": "America/New_York",
         "close_time_local": time(16, 0), "benchmark": "EQUAL_WEIGHT", "money_decimals": 2},
    ]  # fmt: skip


#: The last column of each mart before markets were data: ``market`` and the columns that came
#: with the Korean market (currency, halts) follow the BI contract's existing ones.
CONTRACT_LAST_COLUMN = {"dim_companies": "trading_days", "mart_screener_latest": "news_sentiment_7d"}


def test_every_loaded_ticker_has_its_market(warehouse_con):
    """AAPL is US in both marts, as are the 505 tickers of the bundled S&P 500 file; a Korean
    build adds KOSPI and KOSDAQ tickers, six-character KRX codes (Samsung Electronics 005930 is
    KOSPI; newer preferred shares end in a letter, e.g. 00499K); ``market`` comes right after the
    BI contract's existing columns in both."""
    for mart, last in CONTRACT_LAST_COLUMN.items():
        frame: pd.DataFrame = warehouse_con.sql(f"select * from marts.{mart}").df()
        assert frame.columns.get_loc("market") == frame.columns.get_loc(last) + 1, mart
        assert frame.loc[frame["ticker"] == "AAPL", "market"].tolist() == ["US"], mart
        assert int((frame["market"] == "US").sum()) == 505, mart
        korean = frame[frame["market"] != "US"]
        assert set(korean["market"]) <= {"KOSPI", "KOSDAQ"}, mart
        assert korean["ticker"].str.fullmatch(r"\d{5}[0-9A-Z]").all(), mart
        if len(korean):
            assert frame.loc[frame["ticker"] == "005930", "market"].tolist() == ["KOSPI"], mart

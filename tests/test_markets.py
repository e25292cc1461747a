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


def test_app_display_names_are_the_seed_display_names(seed_rows):
    assert fmt.MARKET_NAMES == {row["market"]: row["display_name"] for row in seed_rows}


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


def test_every_loaded_ticker_is_in_the_us_market(warehouse_con):
    """AAPL is US in both marts, as is every ticker of the bundled (US) price file; ``market`` is
    the last column of both, after the BI contract's existing ones."""
    for mart in ("dim_companies", "mart_screener_latest"):
        frame: pd.DataFrame = warehouse_con.sql(f"select * from marts.{mart}").df()
        assert frame.columns[-1] == "market", mart
        assert frame.loc[frame["ticker"] == "AAPL", "market"].tolist() == ["US"], mart
        assert set(frame["market"]) == {"US"}, mart
        assert len(frame) == 505, mart

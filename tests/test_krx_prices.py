"""The KRX price feed (KOSPI, KOSDAQ) beside the US one: load, halts, quarantine, calendars.

Inputs are the real bundled files, read at test time: the session build (the US file and a cut
of ``krx_daily_ohlcv_20180102_20220516.csv.gz``, :func:`tests.data_files.krx_cut`, written to a
temporary file, never committed), smaller cuts of it, and the 2024 ``krx_marcap`` file as
"another real file of the KRX layout". TA-Lib equality on every ticker of the whole KRX file:
``tests/test_indicators_talib.py``. Checked:

* rows land in ``raw.prices_daily`` with their market; Samsung Electronics (005930) closes at
  83,000 KRW on 2021-01-04 in the indicator mart's history;
* halt rows (open = high = low = 0, volume 0) are loaded flagged and are no bars: indicators,
  bar numbers and returns skip them, and the screener shows a ticker halted at the end;
* real bad bars are quarantined with the failed rule and their feed, and every feed's rows
  reconcile (source rows = loaded + rejected + ...);
* windows, completeness and the daily schedule follow XKRX, not XNYS;
* a one-session KRX run leaves the US rows alone.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
import pytest
from dagster import DagsterInstance, build_schedule_context, materialize

from domain.calendar import sessions_between
from domain.warehouse.duckdb_backend import DuckDBWarehouse
from domain.warehouse.sql import TableNames
from pipelines.defs.prices.assets import prices_daily
from pipelines.defs.prices.completeness import session_completeness
from pipelines.defs.prices.feeds import price_feed
from pipelines.defs.prices.window import WindowError, resolve_window
from pipelines.lib.resources import build_resources
from tests.conftest import resources_for, test_settings
from tests.data_files import krx_cut, sample_file, sample_fixture

pytestmark = pytest.mark.integration

FIVE_TICKERS = sample_fixture("sp500_5tickers_2017-01_2018-02.csv")
MARCAP_2024 = "krx/krx_marcap-2024-jan-feb.csv.gz"


@pytest.fixture(scope="module")
def con(warehouse_con):
    """The session build (both feeds, the KRX feed on the suite's cut: tests/data_files.krx_cut)."""
    return warehouse_con


def test_samsung_closes_at_83000_krw_on_2021_01_04(con):
    raw = con.sql("select market, close, is_halted from raw.prices_daily where ticker = '005930' and trade_date = '2021-01-04'")
    assert raw.fetchall() == [("KOSPI", 83000.0, False)]
    mart = con.sql(
        "select market, close, adjusted_close from marts.fct_daily_indicators "
        "where ticker = '005930' and trade_date = '2021-01-04'"
    )
    assert mart.fetchall() == [("KOSPI", 83000.0, 83000.0)]


def test_halt_rows_are_loaded_flagged_and_are_no_bars(con):
    halts = con.sql(
        "select trade_date, open, high, low, close, volume from raw.prices_daily "
        "where ticker = '005930' and is_halted order by trade_date"
    ).fetchall()
    # the split's halt: three sessions (2018-05-01 is an XKRX holiday), close repeats 2018-04-27's
    assert halts == [(date(2018, 4, 30), 0, 0, 0, 53000.0, 0), (date(2018, 5, 2), 0, 0, 0, 53000.0, 0),
                     (date(2018, 5, 3), 0, 0, 0, 53000.0, 0)]  # fmt: skip
    bars = con.sql(
        "select trade_date, bar_number, close, return_1d from marts.fct_daily_indicators "
        "where ticker = '005930' and trade_date between '2018-04-27' and '2018-05-04' order by trade_date"
    ).fetchall()
    assert [row[0] for row in bars] == [date(2018, 4, 27), date(2018, 5, 4)]  # no bar on a halted session
    assert bars[1][1] == bars[0][1] + 1
    assert bars[1][3] == pytest.approx(51900.0 / 53000.0 - 1, rel=1e-12)  # the return spans the halt
    assert bars[1][2] == 51900.0
    # every raw row is a bar or a halt
    counts = con.execute(
        "select (select count(*) from raw.prices_daily where not is_halted), "
        "(select count(*) from marts.fct_daily_indicators)"
    ).fetchall()[0]
    assert counts[0] == counts[1]


def test_real_bad_bars_are_quarantined_with_the_rule_and_feed(con):
    rejected = con.sql(
        "select ticker, market, trade_date, reason, price_feed from raw.rejected_prices "
        "where ticker in ('000040', '033790') and trade_date in ('2018-01-31', '2020-01-28') order by ticker"
    ).fetchall()
    assert rejected == [
        ("000040", "KOSPI", date(2018, 1, 31), "close_le_high", "krx"),  # close 2,566 > high 2,565
        ("033790", "KOSDAQ", date(2020, 1, 28), "open_positive; high_positive; low_positive; close_le_high", "krx"),
    ]


def test_every_feed_reconciles_with_its_source(con, built_warehouse):
    categories = dict(
        con.sql(
            "select price_feed, sum(row_count) from raw.price_load_reconciliation group by price_feed"
        ).fetchall()
    )
    us_rows = pl.read_csv(built_warehouse.settings.prices_csv).height
    krx_rows = pl.read_csv(built_warehouse.settings.krx_prices_csv).height
    assert categories == {"us": us_rows, "krx": krx_rows}
    stored = con.execute(
        "select count(*) from raw.prices_daily where market in ('KOSPI', 'KOSDAQ')"
    ).fetchall()[0][0] + con.execute("select count(*) from raw.rejected_prices where price_feed = 'krx'").fetchall()[0][0]
    assert stored == krx_rows


def test_screener_shows_market_currency_and_halts(con):
    rows = {
        row[0]: row[1:]
        for row in con.sql(
            "select ticker, market, currency, trade_date, is_halted, halted_since from marts.mart_screener_latest"
        ).fetchall()
    }
    assert rows["005930"] == ("KOSPI", "KRW", date(2022, 5, 16), False, None)
    assert rows["247540"][:2] == ("KOSDAQ", "KRW")
    assert rows["007610"] == ("KOSPI", "KRW", date(2022, 3, 21), True, date(2022, 3, 22))
    assert rows["AAPL"] == ("US", "USD", date(2018, 2, 7), False, None)


def test_completeness_follows_the_korean_calendar(con):
    feed = price_feed("krx")
    sessions = sessions_between(date(2018, 1, 2), date(2022, 5, 16), feed.exchange)
    result = session_completeness(DuckDBWarehouse(con, TableNames("")), sessions, feed.markets, feed.exchange, feed.name)
    assert result.per_day.height == len(sessions) == 1076  # every session of the file
    assert date(2018, 2, 15) not in result.per_day["trade_date"].to_list()  # Seollal: no KRX session
    assert not result.blocking()
    # the only missing (ticker, session) pairs are the quarantined bars, with their reasons
    assert set(result.missing["reason"].str.starts_with("quarantined: ")) == {True}


def test_windows_are_sessions_of_the_feeds_calendar(built_warehouse):
    resources = build_resources(built_warehouse.settings, environ={})
    price_source, krx_files = resources["price_source"], resources["krx_files"]
    krx, today = price_feed("krx"), date(2022, 5, 20)
    # default: HISTORY_START's session (2013-02-08, a KRX session too) to the file's last session
    assert resolve_window(price_source, None, None, today, krx, krx_files) == (date(2013, 2, 8), date(2022, 5, 17))
    # Presidents' Day: no NYSE session, a KRX session
    assert resolve_window(price_source, "2018-02-19", "2018-02-19", today, krx, krx_files) == (
        date(2018, 2, 19), date(2018, 2, 20))  # fmt: skip
    with pytest.raises(WindowError, match="2018-02-15 is not an XKRX session"):
        resolve_window(price_source, "2018-02-15", None, today, krx, krx_files)


def test_one_krx_session_leaves_the_us_rows_alone(tmp_path):
    """A KRX run over one session replaces that session's Korean rows only: the US rows are not
    even rewritten (same loaded_at), and a rerun is idempotent."""
    cut = krx_cut(tmp_path / "cut.csv.gz", ("005930", "000660", "007610"))
    settings = test_settings(tmp_path, prices_csv=FIVE_TICKERS, krx_prices_csv=cut, price_feeds=("us", "krx"))
    query = "select market, count(*), sum(close), max(loaded_at) from raw.prices_daily group by market order by market"
    with DagsterInstance.ephemeral() as instance:
        assert materialize([prices_daily], resources=resources_for(settings), instance=instance).success
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as before:
            stored = before.sql(query).fetchall()
        config = {"price_feeds": ["krx"], "first_session": "2022-05-16", "last_session": "2022-05-16"}
        for _ in range(2):
            result = materialize([prices_daily], resources=resources_for(settings), instance=instance,
                                 run_config={"ops": {"raw__prices_daily": {"config": config}}})  # fmt: skip
            assert result.success
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as after:
        now = after.sql(query).fetchall()
        session = after.sql(
            "select ticker, close, is_halted from raw.prices_daily where trade_date = '2022-05-16' order by ticker"
        ).fetchall()
    assert [row for row in now if row[0] == "US"] == [row for row in stored if row[0] == "US"]
    assert [row[:3] for row in now] == [row[:3] for row in stored]
    assert max(row[3] for row in now if row[0] == "KOSPI") > max(row[3] for row in stored if row[0] == "KOSPI")
    assert session == [("000660", 110500.0, False), ("005930", 66300.0, False), ("007610", 3000.0, True)]


def test_another_real_file_of_the_krx_layout_loads(tmp_path):
    """KRX_PRICES_CSV = the 2024 marcap file (other column order and extra columns, whole market):
    KOSDAQ GLOBAL is KOSDAQ's segment, KONEX is no market of the seed and is quarantined."""
    settings = test_settings(tmp_path, krx_prices_csv=sample_file(MARCAP_2024), price_feeds=("krx",))
    with DagsterInstance.ephemeral() as instance:
        result = materialize([prices_daily], resources=resources_for(settings), instance=instance)
    assert result.success
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        samsung = con.sql(
            "select market, open, high, low, close, volume from raw.prices_daily "
            "where ticker = '005930' and trade_date = '2024-01-02'"
        ).fetchall()
        assert samsung == [("KOSPI", 78200.0, 79800.0, 78200.0, 79600.0, 17142847)]
        markets = dict(con.sql("select market, count(distinct ticker) from raw.prices_daily group by market").fetchall())
        assert set(markets) == {"KOSPI", "KOSDAQ"}
        konex = con.execute(
            "select count(*), min(reason), max(reason) from raw.rejected_prices where market = 'KONEX'"
        ).fetchall()[0]
    assert konex == (3759, "market_known", "market_known")
    # the KOSDAQ GLOBAL rows are KOSDAQ rows
    segment = pl.read_csv(sample_file(MARCAP_2024), schema_overrides={"Code": pl.Utf8}).filter(
        pl.col("Market") == "KOSDAQ GLOBAL"
    )
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        loaded = con.sql(
            f"select distinct market from raw.prices_daily where ticker = '{segment['Code'][0]}'"
        ).fetchall()
    assert loaded == [("KOSDAQ",)]


def test_a_code_that_lost_its_leading_zeros_is_quarantined(tmp_path):
    frame = pl.read_csv(krx_cut(tmp_path / "samsung.csv.gz", ("005930",)), schema_overrides={"code": pl.Utf8})
    frame = frame.with_columns(code=pl.when(pl.col("date") == "2021-01-04").then(pl.lit("5930")).otherwise("code"))
    cut = tmp_path / "excel.csv"  # a spreadsheet saved it: the code of one row read as a number
    frame.write_csv(cut)
    settings = test_settings(tmp_path, krx_prices_csv=cut, price_feeds=("krx",))
    with DagsterInstance.ephemeral() as instance:
        materialize([prices_daily], resources=resources_for(settings), instance=instance)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.sql("select ticker, reason from raw.rejected_prices").fetchall() == [("5930", "ticker_format")]
        assert con.execute("select count(distinct ticker) from raw.prices_daily").fetchall() == [(1,)]


def test_the_korean_schedule_loads_the_krx_session_at_18_seoul(definitions):
    schedule = definitions.resolve_schedule_def("krx_after_close_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 18 * * 1-5", "Asia/Seoul")
    repository = definitions.get_repository_def()
    seoul = ZoneInfo("Asia/Seoul")

    def requests(day: datetime):
        context = build_schedule_context(scheduled_execution_time=day, repository_def=repository)
        return [r.run_config for r in schedule.evaluate_tick(context).run_requests]

    config = {"allow_shrink": False, "price_feeds": ["krx"], "first_session": "2018-02-19", "last_session": "2018-02-19"}
    # Presidents' Day: no NYSE session, but a KRX one
    assert requests(datetime(2018, 2, 19, 18, 0, tzinfo=seoul)) == [{"ops": {"raw__prices_daily": {"config": config}}}]
    assert requests(datetime(2018, 2, 15, 18, 0, tzinfo=seoul)) == []  # Seollal

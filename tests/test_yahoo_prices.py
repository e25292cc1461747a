"""The ``yahoo`` price source end to end, on real recorded responses, and the adjusted prices.

One scratch warehouse per backend, loaded through the Dagster assets as in production:

1. ``PRICE_SOURCE=file``: the bundled-format 5-ticker CSV for 2018-01-02 .. 2018-02-07
   (split basis: its last day, 2018-02-07);
2. ``PRICE_SOURCE=yahoo``, ``YAHOO_TICKERS=AAPL``: sessions 2020-08-31 .. 2020-11-06 (the
   recorded response has Apple's 4:1 split of 2020-08-31 and its 0.205 dividend of 2020-11-06);
3. ``PRICE_SOURCE=yahoo``, ``YAHOO_TICKERS=MSFT,NVDA``: sessions 2021-02-01 .. 2022-01-28
   (NVDA's 4:1 split of 2021-07-20; MSFT's four dividends);
4. the ``raw/corporate_actions`` asset, then ``dbt build --select +fct_daily_indicators``
   (the adjustment and indicator models with their tests).

respx replays the recorded bodies (``data/sample/fixtures/yahoo/``); every HTTP call is counted.
Yahoo's quote prices are already split-adjusted as of the fetch (2025), so the NVDA split
must not be applied again (no false 4x gap), while the bundled Apple rows (adjusted as of
2018) must be divided by 4.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import respx
import talib

from pipelines.sources.yahoo import chart_url, recorded_body
from domain.settings import Settings
from tests.conftest import materialize_prices, postgres_settings, resources_for, scratch_database, test_settings
from tests.data_files import sample_fixture

YAHOO = sample_fixture("yahoo")
RECORDINGS = {
    "NVDA": YAHOO / "historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json",
    "MSFT": YAHOO / "historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.csv.json",
    "AAPL": YAHOO / "chart-AAPL-2020-08-31-to-2020-11-07.json",
}
FIVE_TICKERS = sample_fixture("sp500_5tickers_2017-01_2018-02.csv")
CSV_WINDOW = ("2018-01-02", "2018-02-07")
AAPL_WINDOW = ("2020-08-31", "2020-11-06")
NVDA_MSFT_WINDOW = ("2021-02-01", "2022-01-28")
TOLERANCE = 1e-6


@dataclass(frozen=True)
class YahooBuild:
    """A loaded and dbt-built scratch warehouse; ``query(sql)`` returns a pandas frame."""

    backend: str
    directory: Path
    settings: Settings  # the warehouse it was loaded into (price source: the CSV)
    http_calls: dict[str, int]
    query: object  # Callable[[str], pd.DataFrame]


def _recorded_events(ticker: str) -> dict:
    return json.loads(RECORDINGS[ticker].read_text())["response"]["bodyJson"]["chart"]["result"][0]["events"]


def _mock_yahoo(mock: respx.MockRouter) -> dict[str, respx.Route]:
    return {
        ticker: mock.get(chart_url(ticker)).mock(return_value=httpx.Response(200, content=recorded_body(path)))
        for ticker, path in RECORDINGS.items()
    }


def _load(settings: Settings, instance) -> dict[str, int]:
    """Steps 1-3 and the corporate-actions asset into the warehouse of ``settings``; returns HTTP calls."""
    from dagster import materialize

    from pipelines.defs.prices.corporate_actions import corporate_actions

    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        routes = _mock_yahoo(mock)
        materialize_prices(*CSV_WINDOW, instance, settings)
        materialize_prices(*AAPL_WINDOW, instance, settings.with_values(price_source="yahoo", yahoo_tickers=("AAPL",)))
        yahoo = settings.with_values(price_source="yahoo", yahoo_tickers=("MSFT", "NVDA"))
        materialize_prices(*NVDA_MSFT_WINDOW, instance, yahoo)
        assert materialize([corporate_actions], resources=resources_for(settings), instance=instance).success
        return {ticker: route.call_count for ticker, route in routes.items()}


def _dbt_build(directory: Path, settings: Settings) -> None:
    """``dbt build`` of fct_daily_indicators and everything upstream, with their tests (tests
    that also need an unselected model, e.g. dim_companies, are left out), into its own target
    folder so that a concurrent dbt run in the project is not disturbed."""
    dbt = resources_for(settings)["dbt"]
    args = ["build", "--select", "+fct_daily_indicators", "--indirect-selection", "cautious"]
    invocation = dbt.cli(args, target_path=directory / "dbt_target", raise_on_error=False).wait()
    assert invocation.is_successful(), invocation.get_error()


@pytest.fixture(scope="module")
def duckdb_build(tmp_path_factory) -> Iterator[YahooBuild]:
    import duckdb
    from dagster import DagsterInstance

    directory = tmp_path_factory.mktemp("yahoo_duckdb")
    settings = test_settings(directory, prices_csv=FIVE_TICKERS)
    with DagsterInstance.ephemeral() as instance:
        calls = _load(settings, instance)
        _dbt_build(directory, settings)

    def query(sql: str) -> pd.DataFrame:
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:  # not held: the rerun test writes
            return con.sql(sql).df()

    yield YahooBuild("duckdb", directory, settings, calls, query)


@pytest.fixture(scope="module")
def postgres_build(postgres_server, tmp_path_factory) -> Iterator[YahooBuild]:
    import psycopg
    from dagster import DagsterInstance

    directory = tmp_path_factory.mktemp("yahoo_postgres")
    with scratch_database(postgres_server, "yahoo") as database:
        settings = postgres_settings(database, directory, prices_csv=FIVE_TICKERS)
        with DagsterInstance.ephemeral() as instance:
            calls = _load(settings, instance)
            _dbt_build(directory, settings)
        with psycopg.connect(database.conninfo, autocommit=True) as con:

            def query(sql: str) -> pd.DataFrame:
                for layer in ("raw.", "marts."):  # the schemas carry the test prefix
                    sql = sql.replace(f" {layer}", f" {database.schema_prefix}{layer}")
                with con.cursor() as cursor:
                    cursor.execute(sql)
                    return pd.DataFrame(cursor.fetchall(), columns=[d.name for d in cursor.description])

            yield YahooBuild("postgres", directory, settings, calls, query)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def build(request) -> YahooBuild:
    return request.getfixturevalue(f"{request.param}_build")


# --------------------------------------------------------------------------- raw layer


def test_one_http_call_per_ticker_and_window(build):
    assert build.http_calls == {"NVDA": 1, "MSFT": 1, "AAPL": 1}


def test_raw_rows_per_source_with_split_basis(build):
    rows = build.query(
        "select ticker, source, split_basis_date, count(*) as n, min(trade_date) as first_date, "
        "max(trade_date) as last_date, count(adj_close) as with_adj_close "
        "from raw.prices_daily group by ticker, source, split_basis_date order by ticker, first_date"
    )
    got = [
        (r.ticker, r.source, pd.Timestamp(r.split_basis_date).date(), int(r.n), pd.Timestamp(r.first_date).date(),
         pd.Timestamp(r.last_date).date(), int(r.with_adj_close))
        for r in rows.itertuples()
    ]  # fmt: skip
    csv = "csv:sp500_5tickers_2017-01_2018-02.csv"
    assert got == [
        ("AAPL", csv, date(2018, 2, 7), 26, date(2018, 1, 2), date(2018, 2, 7), 0),
        ("AAPL", "yahoo:chart", date(2025, 2, 19), 49, date(2020, 8, 31), date(2020, 11, 6), 49),
        ("AMZN", csv, date(2018, 2, 7), 26, date(2018, 1, 2), date(2018, 2, 7), 0),
        ("JPM", csv, date(2018, 2, 7), 26, date(2018, 1, 2), date(2018, 2, 7), 0),
        ("MSFT", csv, date(2018, 2, 7), 26, date(2018, 1, 2), date(2018, 2, 7), 0),
        ("MSFT", "yahoo:chart", date(2025, 2, 21), 252, date(2021, 2, 1), date(2022, 1, 28), 252),
        ("NVDA", "yahoo:chart", date(2025, 2, 21), 252, date(2021, 2, 1), date(2022, 1, 28), 252),
        ("XOM", csv, date(2018, 2, 7), 26, date(2018, 1, 2), date(2018, 2, 7), 0),
    ]
    assert int(build.query("select count(*) as n from raw.rejected_prices")["n"][0]) == 0


def test_corporate_actions_equal_the_events_in_the_recordings(build):
    rows = build.query(
        "select ticker, ex_date, action_type, split_numerator, split_denominator, cash_amount "
        "from raw.corporate_actions order by ticker, ex_date, action_type"
    )
    got = [
        (r.ticker, pd.Timestamp(r.ex_date).date(), r.action_type,
         None if pd.isna(r.split_numerator) else r.split_numerator,
         None if pd.isna(r.split_denominator) else r.split_denominator,
         None if pd.isna(r.cash_amount) else r.cash_amount)
        for r in rows.itertuples()
    ]  # fmt: skip
    assert got == [
        ("AAPL", date(2020, 8, 31), "split", 4.0, 1.0, None),
        ("AAPL", date(2020, 11, 6), "dividend", None, None, 0.205),
        ("MSFT", date(2021, 2, 17), "dividend", None, None, 0.56),
        ("MSFT", date(2021, 5, 19), "dividend", None, None, 0.56),
        ("MSFT", date(2021, 8, 18), "dividend", None, None, 0.56),
        ("MSFT", date(2021, 11, 17), "dividend", None, None, 0.62),
        ("NVDA", date(2021, 7, 20), "split", 4.0, 1.0, None),
    ]
    # and they are the files' own events (ex-date = the event timestamp's New York date)
    nvda_split = next(iter(_recorded_events("NVDA")["splits"].values()))
    assert (nvda_split["numerator"], nvda_split["denominator"], nvda_split["splitRatio"]) == (4, 1, "4:1")
    msft_amounts = sorted((int(k), v["amount"]) for k, v in _recorded_events("MSFT")["dividends"].items())
    assert [amount for _, amount in msft_amounts] == [0.56, 0.56, 0.56, 0.62]


# --------------------------------------------------------------------------- adjustment


def _series(build: YahooBuild, ticker: str) -> pd.DataFrame:
    frame = build.query(
        f"""
        select trade_date, bar_number, close, high, low, adjusted_close, adjusted_high, adjusted_low,
               adjusted_volume, split_factor, dividend_factor, sma_20, sma_50, sma_200, rsi_14, ema_12, macd,
               atr_14, return_1d
        from marts.fct_daily_indicators where ticker = '{ticker}' order by trade_date
        """
    )
    frame["trade_date"] = pd.to_datetime(frame["trade_date"]).dt.date
    return frame.set_index("trade_date")


def test_nvda_split_makes_no_gap(build):
    nvda = _series(build, "NVDA")
    before, on = nvda.loc[date(2021, 7, 19)], nvda.loc[date(2021, 7, 20)]
    # Yahoo's closes 18.78 -> 18.61: already on the post-split basis, nothing to apply
    assert (before["split_factor"], on["split_factor"]) == (1.0, 1.0)
    assert (before["adjusted_close"], on["adjusted_close"]) == pytest.approx((18.77975082397461, 18.61199951171875))
    ratio = on["adjusted_close"] / before["adjusted_close"]
    assert 0.95 < ratio < 1.05  # applying the 4:1 split again to the earlier bars would make it ~4
    assert on["return_1d"] == pytest.approx(ratio - 1, abs=1e-12)
    assert abs(on["sma_20"] / before["sma_20"] - 1) < 0.01
    assert nvda["return_1d"].abs().max() < 0.2  # no day of the year jumps by a split ratio


def test_bundled_rows_get_the_later_split_and_yahoo_rows_do_not(build):
    aapl = _series(build, "AAPL")
    multiplier = 1 - 0.205 / aapl.loc[date(2020, 11, 5), "close"]  # CRSP/Yahoo: dividend / close before ex-date
    csv_row, split_day, ex_day = aapl.loc[date(2018, 2, 7)], aapl.loc[date(2020, 8, 31)], aapl.loc[date(2020, 11, 6)]
    assert csv_row["close"] == 159.54
    assert csv_row["split_factor"] == pytest.approx(0.25, rel=1e-15)
    assert csv_row["dividend_factor"] == pytest.approx(multiplier, rel=1e-12)
    assert csv_row["adjusted_close"] == pytest.approx(159.54 / 4 * multiplier, rel=1e-12)
    assert csv_row["adjusted_volume"] == pytest.approx(
        4 * build.query("select volume from raw.prices_daily where ticker = 'AAPL' and trade_date = date '2018-02-07'")[
            "volume"
        ][0]
    )
    assert (split_day["split_factor"], ex_day["split_factor"], ex_day["dividend_factor"]) == (1.0, 1.0, 1.0)
    assert split_day["adjusted_close"] == pytest.approx(split_day["close"] * multiplier, rel=1e-12)
    assert (aapl["adjusted_close"] <= aapl["adjusted_high"]).all() and (aapl["adjusted_low"] <= aapl["adjusted_close"]).all()


def test_tickers_without_corporate_actions_are_unchanged(build):
    same = build.query(
        "select count(*) as n, sum(case when adjusted_close = close and adjusted_high = high and adjusted_low = low "
        "and adjusted_volume = volume and split_factor = 1 and dividend_factor = 1 then 1 else 0 end) as unchanged "
        "from marts.fct_daily_indicators where ticker in ('AMZN', 'JPM', 'XOM')"
    )
    assert int(same["n"][0]) == 78 and int(same["unchanged"][0]) == 78


def test_msft_dividend_adjusted_close_tracks_yahoo_adjclose(build):
    rows = build.query(
        "select f.trade_date, f.adjusted_close, f.dividend_factor, p.adj_close "
        "from marts.fct_daily_indicators f join raw.prices_daily p on p.ticker = f.ticker and p.trade_date = f.trade_date "
        "where f.ticker = 'MSFT' and p.adj_close is not null order by f.trade_date"
    )
    assert len(rows) == 252
    ratio = rows["adjusted_close"] / rows["adj_close"]
    # Yahoo's adjclose also takes out the dividends after 2022-01-28: equal up to one constant factor
    assert (ratio.max() - ratio.min()) / ratio.min() < TOLERANCE
    assert 1.02 < ratio.mean() < 1.04
    # the factor steps down at each ex-date and is 1 from the last one on
    dates = pd.to_datetime(rows["trade_date"]).dt.date
    factor = dict(zip(dates, rows["dividend_factor"]))
    assert factor[date(2021, 11, 17)] == 1.0 and factor[date(2022, 1, 28)] == 1.0
    closes = build.query(
        "select trade_date, close from raw.prices_daily where ticker = 'MSFT' and trade_date in "
        "(date '2021-02-16', date '2021-05-18', date '2021-08-17', date '2021-11-16')"
    )
    prev_close = dict(zip(pd.to_datetime(closes["trade_date"]).dt.date, closes["close"]))
    m = [1 - 0.56 / prev_close[date(2021, 2, 16)], 1 - 0.56 / prev_close[date(2021, 5, 18)],
         1 - 0.56 / prev_close[date(2021, 8, 17)], 1 - 0.62 / prev_close[date(2021, 11, 16)]]  # fmt: skip
    assert factor[date(2021, 11, 16)] == pytest.approx(m[3], rel=1e-12)
    assert factor[date(2021, 2, 16)] == pytest.approx(m[0] * m[1] * m[2] * m[3], rel=1e-12)
    assert factor[date(2021, 2, 17)] == pytest.approx(m[1] * m[2] * m[3], rel=1e-12)


@pytest.mark.parametrize("ticker", ["NVDA", "MSFT", "AAPL"])
def test_indicators_equal_talib_on_the_adjusted_series(build, ticker):
    series = _series(build, ticker)
    close = series["adjusted_close"].to_numpy(np.float64)
    high = series["adjusted_high"].to_numpy(np.float64)
    low = series["adjusted_low"].to_numpy(np.float64)
    expected = {
        "sma_20": talib.SMA(close, 20),
        "sma_50": talib.SMA(close, 50),
        "sma_200": talib.SMA(close, 200),
        "rsi_14": talib.RSI(close, 14),
        "ema_12": talib.EMA(close, 12),
        "macd": talib.MACD(close, 12, 26, 9)[0],
        "atr_14": talib.ATR(high, low, close, 14),
    }
    compared = 0
    for column, values in expected.items():
        actual = series[column].to_numpy(np.float64, na_value=np.nan)
        assert (np.isnan(actual) == np.isnan(values)).all(), column
        present = ~np.isnan(values)
        compared += int(present.sum())
        assert (np.abs(actual[present] - values[present]) <= TOLERANCE).all(), column
    assert compared > {"NVDA": 1200, "MSFT": 1200, "AAPL": 300}[ticker]
    assert series["bar_number"].tolist() == list(range(len(series)))


def test_backends_agree(duckdb_build, postgres_build):
    sql = (
        "select ticker, trade_date, adjusted_close, split_factor, dividend_factor, sma_20, rsi_14, macd "
        "from marts.fct_daily_indicators order by ticker, trade_date"
    )
    on_duckdb, on_postgres = duckdb_build.query(sql), postgres_build.query(sql)
    assert len(on_duckdb) == len(on_postgres) == 683
    on_postgres["trade_date"] = pd.to_datetime(on_postgres["trade_date"])
    on_duckdb["trade_date"] = pd.to_datetime(on_duckdb["trade_date"])
    pd.testing.assert_frame_equal(on_postgres, on_duckdb, check_exact=False, rtol=1e-9, check_dtype=False)


# --------------------------------------------------------------------------- reruns


def test_rerun_uses_the_stored_responses_and_changes_nothing(duckdb_build):
    from dagster import DagsterInstance, materialize

    from pipelines.defs.prices.corporate_actions import corporate_actions

    prices_sql = (
        "select ticker, trade_date, open, high, low, close, volume, adj_close, split_basis_date, source "
        "from raw.prices_daily order by ticker, trade_date"
    )
    actions_sql = (
        "select ticker, ex_date, action_type, split_numerator, split_denominator, cash_amount, split_basis_date, "
        "source, source_file from raw.corporate_actions order by ticker, ex_date, action_type"
    )
    import duckdb

    def snapshot() -> tuple[list, list]:
        with duckdb.connect(str(duckdb_build.settings.warehouse_path), read_only=True) as con:
            return con.sql(prices_sql).fetchall(), con.sql(actions_sql).fetchall()

    before = snapshot()
    settings = duckdb_build.settings.with_values(price_source="yahoo", yahoo_tickers=("MSFT", "NVDA"))
    with DagsterInstance.ephemeral() as instance, respx.mock(assert_all_called=False) as mock:
        routes = _mock_yahoo(mock)
        # (not the AAPL window again: MSFT's history now spans 2020, so its completeness check
        # would rightly fail for sessions where only AAPL was fetched)
        result = materialize_prices(*NVDA_MSFT_WINDOW, instance, settings)
        assert materialize([corporate_actions], resources=resources_for(settings), instance=instance).success
    assert {ticker: route.call_count for ticker, route in routes.items()} == {"NVDA": 0, "MSFT": 0, "AAPL": 0}
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["yahoo_responses_reused"].value == 2 and metadata["yahoo_responses_fetched"].value == 0
    after = snapshot()
    assert len(after[0]) == 683 and len(after[1]) == 7
    assert after == before

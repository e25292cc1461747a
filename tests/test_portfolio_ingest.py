"""Portfolio ingest: the validation rules on real tickers and dates, the app form's atomic
write, the ``raw/portfolio_transactions`` asset (all-or-nothing per file, loaded + rejected =
input, idempotent reruns, removed files vanish) on DuckDB and PostgreSQL, and the sensor.

Price history for the rules: the five-ticker cut of the bundled prices (AAPL, AMZN, JPM, MSFT,
XOM; 2017-01-03..2018-02-07), computed here with polars from the fixture file."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import psycopg
import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRunStatus,
    RunRequest,
    SkipReason,
    build_sensor_context,
    materialize,
)
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.utils import make_new_run_id

from domain.portfolios.store import file_sha256, write_portfolio_file
from domain.portfolios.transactions import (
    PortfolioFileError,
    PriceHistory,
    RowError,
    day_range_lookup,
    normalized_transactions,
    read_transactions,
    validate_transactions,
)
from pipelines.defs.portfolios.assets import portfolio_transactions
from pipelines.defs.portfolios.sensors import fingerprint_hash, portfolio_files_sensor
from pipelines.lib.resources import PortfolioFilesResource
from tests.conftest import (
    FIXTURES,
    REPO_ROOT,
    materialize_prices,
    postgres_settings,
    resources_for,
    scratch_database,
    test_settings,
)
from tests.data_files import sample_file, sample_fixture

FIVE_TICKERS = sample_fixture("sp500_5tickers_2017-01_2018-02.csv")
GOOD = FIXTURES / "portfolios" / "five_tickers_2017.csv"
BAD = FIXTURES / "portfolios" / "bad_2017.csv"
EXAMPLE = REPO_ROOT / "data" / "portfolios" / "example_us_core.csv"
HEADER = "portfolio,trade_date,ticker,side,quantity,price,fees,currency"
EXPECTED = "expected portfolio, trade_date, ticker, side, quantity, price, fees, currency"


def _history_of(prices_csv: Path) -> PriceHistory:
    bars = pl.read_csv(prices_csv, columns=["date", "Name", "low", "high"], try_parse_dates=True)
    bounds = (
        bars.group_by("Name")
        .agg(first_trade_date=pl.col("date").min(), last_trade_date=pl.col("date").max())
        .rename({"Name": "ticker"})
    )
    day_range = day_range_lookup(lambda t: bars.filter(pl.col("Name") == t).select("date", "low", "high").iter_rows())
    return PriceHistory.from_frame(bounds, day_range)


def _bar(ticker: str, day: str) -> dict:
    """The real bar of ``ticker`` on ``day`` in the five-ticker file."""
    frame = pl.read_csv(FIVE_TICKERS, try_parse_dates=True)
    return frame.filter((pl.col("Name") == ticker) & (pl.col("date") == date.fromisoformat(day))).row(0, named=True)


@pytest.fixture(scope="module")
def history() -> PriceHistory:
    return _history_of(FIVE_TICKERS)


def _errors(text: str, history: PriceHistory, name: str = "t.csv", others=None) -> list[tuple]:
    frame = read_transactions(text.encode(), name)
    return [(e.line, e.field, e.message) for e in validate_transactions(frame, name, history, others)]


def _fixed_bad() -> str:
    """The bad fixture with its three errors fixed: 50 shares sold, a session date, and JPM
    (bought at its real 2017-09-01 close) instead of the unknown NVDA."""
    jpm_close = _bar("JPM", "2017-09-01")["close"]
    return (
        BAD.read_text().replace(",150,", ",50,").replace("2017-07-04", "2017-07-03")
        .replace("NVDA,buy,10,170.46", f"JPM,buy,10,{jpm_close}")
    )  # fmt: skip


def _good_with(line: int, replacement: str) -> str:
    """The good fixture with file line ``line`` (header = 1) replaced."""
    lines = GOOD.read_text().splitlines()
    lines[line - 1] = replacement
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- rules


def test_a_trade_price_outside_the_days_range_is_rejected(history):
    """10.25 for AAPL (trading near 153 on 2017-06-01) is no price a person meant: rejected with
    the day's real low and high; within 1 % of the range passes; dividends are not trade prices."""
    bar = _bar("AAPL", "2017-06-01")
    row = "five_tickers_2017,2017-06-01,AAPL,buy,10,{price},1.00,USD"
    assert _errors(_good_with(7, row.format(price=10.25)), history) == [
        (7, "price", f"price_in_day_range: 10.25 is outside AAPL's range on 2017-06-01 "
                     f"(low {bar['low']:g}, high {bar['high']:g}, 1% tolerance)"),
    ]  # fmt: skip
    assert _errors(_good_with(7, row.format(price=round(bar["high"] * 1.009, 2))), history) == []
    assert _errors(_good_with(7, row.format(price=round(bar["low"] * 0.98, 2))), history)[0][1] == "price"
    without_ranges = PriceHistory(history.bounds)
    assert _errors(_good_with(7, row.format(price=10.25)), without_ranges) == []


def _bhf_july_2017() -> pl.DataFrame:
    """BHF's real bars of 2017-07 (its first weeks), cut from the bundled price file at test time:
    its 2017-07-26 row has a close but no open, high or low, so the price load quarantines it and
    ``raw.prices_daily`` has no BHF bar that day (a session inside BHF's first..last dates)."""
    bars = pl.read_csv(sample_file("sp500_all_stocks_5yr.csv.gz"), try_parse_dates=True)
    return bars.filter((pl.col("Name") == "BHF") & (pl.col("date") <= date(2017, 7, 31)))


def test_a_session_without_a_bar_is_not_range_checked():
    """No bar for the ticker that day (BHF 2017-07-26, quarantined): the price is not checked,
    so the row loads as before the rule; the day before, with a bar, is checked. A row without
    low/high (None from polars, NaN from pandas) counts as no bar."""
    bars = _bhf_july_2017()
    assert bars.filter(pl.col("date") == date(2017, 7, 26)).select("low", "high").row(0) == (None, None)
    before = bars.filter(pl.col("date") == date(2017, 7, 25)).row(0, named=True)
    bounds = [("BHF", bars["date"].min(), bars["date"].max())]
    lookups = {
        "polars": day_range_lookup(lambda t: bars.filter(pl.col("Name") == t).select("date", "low", "high").iter_rows()),
        "pandas": day_range_lookup(lambda t: bars.select("date", "low", "high").to_pandas().itertuples(index=False)),
    }
    row = HEADER + "\nbhf,{day},BHF,buy,10,10.25,1.00,USD\n"
    for name, lookup in lookups.items():
        history = PriceHistory.from_rows(bounds, lookup)
        assert lookup("BHF", date(2017, 7, 26)) is None, name
        assert _errors(row.format(day="2017-07-26"), history) == [], name
        message = (
            f"price_in_day_range: 10.25 is outside BHF's range on 2017-07-25 "
            f"(low {before['low']:g}, high {before['high']:g}, 1% tolerance)"
        )
        assert _errors(row.format(day="2017-07-25"), history) == [(2, "price", message)], name


def test_trade_prices_are_strict_ascii_numbers(history):
    """Python's float() reads ``7_3.94`` as 73.94 and ``٧٣.٩٤`` (Arabic-Indic) too: as prices
    they are rejected as not numbers, before the day-range rule looks at them."""
    for price in ("7_3.94", "\u0667\u0663.\u0669\u0664", "inf"):
        row = f"five_tickers_2017,2017-09-01,MSFT,buy,20,{price},1.00,USD"
        assert _errors(_good_with(8, row), history) == [(8, "price", f"{price!r} is not a number")]


def test_history_bounds_and_formats(history):
    assert history.tickers == {"AAPL", "AMZN", "JPM", "MSFT", "XOM"}
    assert history.bounds["AAPL"] == (date(2017, 1, 3), date(2018, 2, 7))
    from_pandas = PriceHistory.from_frame(
        pd.DataFrame({"ticker": ["aapl"], "first_trade_date": pd.to_datetime(["2017-01-03"]),
                      "last_trade_date": ["2018-02-07"]})  # fmt: skip
    )
    assert from_pandas.bounds == {"AAPL": (date(2017, 1, 3), date(2018, 2, 7))}
    with pytest.raises(ValueError, match="last_trade_date"):
        PriceHistory.from_frame(pl.DataFrame({"ticker": ["AAPL"], "first_trade_date": [date(2017, 1, 3)]}))


def test_good_file_is_valid_and_typed(history):
    frame = read_transactions(GOOD, GOOD.name)
    assert validate_transactions(frame, GOOD.name, history) == []
    typed = normalized_transactions(frame)
    assert typed.height == 8
    assert typed.row(3, named=True) == {
        "source_line": 5, "portfolio": "five_tickers_2017", "trade_date": date(2017, 3, 1), "ticker": "AAPL",
        "side": "sell", "quantity": 20.0, "price": 139.79, "fees": 1.0, "currency": "USD",
    }  # fmt: skip
    assert typed["fees"][-1] == 0.0  # empty fees read as 0
    last_line = GOOD.read_text().splitlines()[8].split(",")
    assert json.loads(frame["raw_record"][7]) == dict(zip(HEADER.split(","), last_line))


def test_example_portfolio_is_valid_against_the_bundled_universe():
    bundled = _history_of(sample_file("sp500_all_stocks_5yr.csv.gz"))
    frame = read_transactions(EXAMPLE, EXAMPLE.name)
    assert validate_transactions(frame, EXAMPLE.name, bundled) == []
    typed = normalized_transactions(frame)
    assert typed.height == len(EXAMPLE.read_text().splitlines()) - 1 == 12
    assert set(typed["ticker"]) == {"AAPL", "JNJ", "JPM", "XOM", "MSFT", "NVDA"}


def test_row_error_sentence():
    error = RowError("example.csv", 8, "quantity", "sell of 150 AAPL on 2017-03-01 exceeds the 100 shares held")
    assert str(error) == (
        "example.csv line 8, field quantity: sell of 150 AAPL on 2017-03-01 exceeds the 100 shares held"
    )
    whole_record = RowError("a.csv", 3, None, "has 7 fields, the header has 8")
    assert str(whole_record) == "a.csv line 3: has 7 fields, the header has 8"


@pytest.mark.parametrize(
    ("line", "row", "expected"),
    [
        (8, "five_tickers_2017,2017-09-01,MSFT,buy,,73.94,1.00,USD", [(8, "quantity", "empty; a value is required")]),
        (8, "five_tickers_2017,,MSFT,buy,20,73.94,1.00,USD", [(8, "trade_date", "empty; a value is required")]),
        (8, "five/tickers,2017-09-01,MSFT,buy,20,73.94,1.00,USD",
         [(8, "portfolio", "name 'five/tickers' must be 1-64 letters, digits, spaces, '_' or '-'")]),
        (8, f"{'x' * 65},2017-09-01,MSFT,buy,20,73.94,1.00,USD",
         [(8, "portfolio", f"name '{'x' * 65}' must be 1-64 letters, digits, spaces, '_' or '-'")]),
        (2, "five_tickers_2017,2017-02-30,AAPL,buy,50,116.15,1.00,USD",
         [(2, "trade_date", "'2017-02-30' is not a date YYYY-MM-DD")]),
        (2, "five_tickers_2017,01/03/2017,AAPL,buy,50,116.15,1.00,USD",
         [(2, "trade_date", "'01/03/2017' is not a date YYYY-MM-DD")]),
        (7, "five_tickers_2017,2017-07-04,XOM,buy,25,80.70,1.00,USD",
         [(7, "trade_date", "2017-07-04 is not an NYSE trading session")]),
        (7, "five_tickers_2017,2017-07-01,XOM,buy,25,80.70,1.00,USD",
         [(7, "trade_date", "2017-07-01 is not an NYSE trading session")]),
        (2, "five_tickers_2017,2016-12-30,AAPL,buy,50,116.15,1.00,USD",
         [(2, "trade_date", "no AAPL price on 2016-12-30: AAPL has prices from 2017-01-03 to 2018-02-07")]),
        (8, "five_tickers_2017,2017-09-01,NVDA,buy,20,170.46,1.00,USD",
         [(8, "ticker", "unknown ticker NVDA: not in the price universe")]),
        (8, "five_tickers_2017,2017-09-01,MSFT,short,20,73.94,1.00,USD",
         [(8, "side", "'short' is not a side; expected buy, sell or dividend")]),
        (8, "five_tickers_2017,2017-09-01,MSFT,buy,0,73.94,1.00,USD", [(8, "quantity", "0 must be > 0")]),
        (8, "five_tickers_2017,2017-09-01,MSFT,buy,-5,73.94,1.00,USD", [(8, "quantity", "-5 must be > 0")]),
        (8, "five_tickers_2017,2017-09-01,MSFT,buy,twenty,73.94,1.00,USD",
         [(8, "quantity", "'twenty' is not a number")]),
        (8, "five_tickers_2017,2017-09-01,MSFT,buy,inf,73.94,1.00,USD",
         [(8, "quantity", "'inf' is not a number")]),
        (8, "five_tickers_2017,2017-09-01,MSFT,buy,1e400,73.94,1.00,USD",
         [(8, "quantity", "'1e400' is not a finite number")]),
        # what Python's float() takes but a person does not mean (quantity 10, read as 1_0 / ١٠)
        (8, "five_tickers_2017,2017-09-01,MSFT,buy,1_0,73.94,1.00,USD", [(8, "quantity", "'1_0' is not a number")]),
        (8, "five_tickers_2017,2017-09-01,MSFT,buy,\u0661\u0660,73.94,1.00,USD",
         [(8, "quantity", "'\u0661\u0660' is not a number")]),
        (8, "five_tickers_2017,2017-09-01,MSFT,buy,20,0,1.00,USD", [(8, "price", "0 must be > 0")]),
        (8, "five_tickers_2017,2017-09-01,MSFT,buy,20,nan,1.00,USD", [(8, "price", "'nan' is not a number")]),
        (8, "five_tickers_2017,2017-09-01,MSFT,buy,20,73.94,-1,USD", [(8, "fees", "-1 must be >= 0")]),
        (8, "five_tickers_2017,2017-09-01,MSFT,buy,20,73.94,1.00,EUR",
         [(8, "currency", "'EUR' is not supported: prices are in USD, use USD")]),
        (5, "five_tickers_2017,2017-03-01,AAPL,sell,60,139.79,1.00,USD",
         [(5, "quantity", "sell of 60 AAPL on 2017-03-01 exceeds the 50 shares held")]),
        (4, "five_tickers_2017,2017-02-16,MSFT,dividend,20,0.39,0.00,USD",
         [(4, "ticker", "dividend on MSFT on 2017-02-16, but no MSFT shares are held then")]),
        (8, "five_tickers_2017,2017-09-01,MSFT,buy,20,73.94", [(8, None, "has 6 fields, the header has 8")]),
    ],
)
def test_each_rule_names_line_field_and_problem(history, line, row, expected):
    assert _errors(_good_with(line, row), history) == expected


def test_several_problems_of_one_row_in_column_order(history):
    row = "five_tickers_2017,2017-07-04,NVDA,Short,-1,abc,-2,eur"
    assert _errors(_good_with(8, row), history) == [
        (8, "trade_date", "2017-07-04 is not an NYSE trading session"),
        (8, "ticker", "unknown ticker NVDA: not in the price universe"),
        (8, "side", "'Short' is not a side; expected buy, sell or dividend"),
        (8, "quantity", "-1 must be > 0"),
        (8, "price", "'abc' is not a number"),
        (8, "fees", "-2 must be >= 0"),
        (8, "currency", "'eur' is not supported: prices are in USD, use USD"),
    ]


def test_header_missing_extra_and_case(history):
    text = GOOD.read_text()
    no_fees = "\n".join(",".join(f for i, f in enumerate(line.split(",")) if i != 6) for line in text.splitlines())
    assert _errors(no_fees, history) == [(1, "fees", f"missing column fees; {EXPECTED}")]
    extra = "\n".join(line + (",note" if i == 0 else ",x") for i, line in enumerate(text.splitlines()))
    assert _errors(extra, history) == [(1, "note", f"unexpected column note; {EXPECTED}")]
    shouting = text.replace(HEADER, " Portfolio,TRADE_DATE,Ticker,Side,Quantity,Price,Fees,Currency", 1)
    assert _errors(shouting, history) == []
    assert _errors("", history) == [(1, c, f"missing column {c}; {EXPECTED}") for c in HEADER.split(",")]


def test_case_of_values_is_normalised(history):
    text = _good_with(5, "five_tickers_2017, 2017-03-01 ,aapl,SELL,20,139.79,1.00,usd")
    frame = read_transactions(text.encode(), "t.csv")
    assert validate_transactions(frame, "t.csv", history) == []
    assert normalized_transactions(frame).row(3)[1:] == (
        "five_tickers_2017", date(2017, 3, 1), "AAPL", "sell", 20.0, 139.79, 1.0, "USD"
    )


def test_same_day_sell_counts_after_the_buy_only_when_its_line_is_later(history):
    oversold = "sell of 10 XOM on 2017-06-01 exceeds the 0 shares held"
    rows = [
        HEADER,
        "p,2017-06-01,XOM,sell,10,80.70,1.00,USD",
        "p,2017-06-01,XOM,buy,10,80.70,1.00,USD",
        "p,2017-06-01,XOM,sell,10,80.70,1.00,USD",
    ]
    assert _errors("\n".join(rows), history) == [(2, "quantity", oversold)]
    # rows are replayed by trade_date, not by line: a later-dated buy on an earlier line does not count
    rows = [HEADER, "p,2017-09-01,XOM,buy,10,76.57,1.00,USD", "p,2017-06-01,XOM,sell,10,80.70,1.00,USD"]
    assert _errors("\n".join(rows), history) == [(3, "quantity", oversold)]
    # holdings are per portfolio: another portfolio's shares do not count
    rows = [HEADER, "a,2017-01-03,XOM,buy,10,90.89,1.00,USD", "b,2017-06-01,XOM,sell,10,80.70,1.00,USD"]
    assert _errors("\n".join(rows), history) == [(3, "quantity", oversold)]


def test_fractional_shares_add_up(history):
    rows = [
        HEADER,
        "p,2017-01-03,AAPL,buy,0.1,116.15,0,USD",
        "p,2017-01-03,AAPL,buy,0.2,116.15,0,USD",
        "p,2017-03-01,AAPL,sell,0.3,139.79,0,USD",
        "p,2017-06-01,AAPL,sell,0.0001,153.18,0,USD",
    ]
    assert _errors("\n".join(rows), history) == [
        (5, "quantity", "sell of 0.0001 AAPL on 2017-06-01 exceeds the 0 shares held")
    ]


def test_an_unusable_row_does_not_fail_the_later_rows_of_its_holding(history):
    """Without line 3's quantity the JPM holding is unknown: line 9's sell is not judged on it."""
    assert _errors(_good_with(3, "five_tickers_2017,2017-01-03,JPM,buy,,87.23,1.00,USD"), history) == [
        (3, "quantity", "empty; a value is required")
    ]
    assert _errors(_good_with(3, "five_tickers_2017,2017-01-03,JPM,borrow,40,87.23,1.00,USD"), history) == [
        (3, "side", "'borrow' is not a side; expected buy, sell or dividend")
    ]


def test_portfolio_of_another_file(history):
    errors = _errors(GOOD.read_text(), history, others={"five_tickers_2017": "old.csv"})
    message = "portfolio five_tickers_2017 is also in old.csv; a portfolio lives in one file"
    assert errors == [(line, "portfolio", message) for line in range(2, 10)]


def test_unreadable_files_raise_with_the_line():
    data = GOOD.read_bytes().replace(b"JPM,buy", b"JPM\xe9,buy", 1)
    offset = data.index(b"\xe9")
    with pytest.raises(PortfolioFileError) as caught:
        read_transactions(data, "latin1.csv")
    assert [str(e) for e in caught.value.errors] == [
        f"latin1.csv line 3: not UTF-8 text (byte {offset}: invalid continuation byte)"
    ]
    with pytest.raises(PortfolioFileError, match=r"quotes\.csv line 3: not valid CSV"):
        unterminated = f'{HEADER}\np,2017-01-03,AAPL,buy,1,1,0,USD\np,"2017-01-03,AAPL,buy,1,1,0,USD\n'
        read_transactions(unterminated.encode(), "quotes.csv")
    with pytest.raises(PortfolioFileError, match="twice.csv line 1, field price: column appears twice"):
        read_transactions(f"{HEADER},price\n".encode(), "twice.csv")


def test_bom_blank_lines_and_line_numbers(history):
    text = "\ufeff" + HEADER + "\n\np,2017-01-03,AAPL,buy,1,116.15,0,USD\n\np,2017-01-04,AAPL,sell,2,116.02,0,USD\n"
    frame = read_transactions(text.encode(), "t.csv")
    assert frame["source_line"].to_list() == [3, 5]
    assert _errors(text, history) == [(5, "quantity", "sell of 2 AAPL on 2017-01-04 exceeds the 1 shares held")]


# ----------------------------------------------------------------------------- the app form's write


def test_write_rejects_a_bad_frame_and_writes_nothing(tmp_path, history):
    frame = pl.read_csv(BAD, infer_schema=False)
    with pytest.raises(PortfolioFileError) as caught:
        write_portfolio_file(tmp_path / "portfolios", "bad_2017.csv", frame, history)
    assert [(e.line, e.field) for e in caught.value.errors] == [(3, "quantity"), (4, "trade_date"), (5, "ticker")]
    assert "bad_2017.csv line 3, field quantity: sell of 150 MSFT on 2017-03-01 exceeds the 100 shares held" in str(
        caught.value
    )
    assert not (tmp_path / "portfolios").exists()
    with pytest.raises(ValueError, match="file name '../x.csv'"):
        write_portfolio_file(tmp_path, "../x.csv", GOOD.read_bytes(), history)


def test_write_good_frame_then_edit_atomically(tmp_path, history, monkeypatch):
    folder = tmp_path / "portfolios"
    edited = pd.read_csv(GOOD, dtype=str, keep_default_na=False)  # as the app's data editor holds it
    path = write_portfolio_file(folder, "mine.csv", edited, history)
    assert path == folder / "mine.csv" and [p.name for p in folder.iterdir()] == ["mine.csv"]
    written = read_transactions(path, "mine.csv")
    assert normalized_transactions(written).equals(normalized_transactions(read_transactions(GOOD, GOOD.name)))

    # an edit that fails half-way leaves the previous file whole and no temporary file
    before = path.read_bytes()
    fixed = _fixed_bad().encode()

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr("domain.files.os.fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        write_portfolio_file(folder, "mine.csv", fixed, history)
    assert path.read_bytes() == before and [p.name for p in folder.iterdir()] == ["mine.csv"]
    monkeypatch.undo()
    write_portfolio_file(folder, "mine.csv", fixed, history)
    assert path.read_bytes() == fixed and [p.name for p in folder.iterdir()] == ["mine.csv"]


def test_write_refuses_a_portfolio_of_another_file(tmp_path, history):
    shutil.copy(GOOD, tmp_path / "first.csv")
    with pytest.raises(PortfolioFileError) as caught:
        write_portfolio_file(tmp_path, "second.csv", GOOD.read_bytes(), history)
    assert str(caught.value.errors[0]) == (
        "second.csv line 2, field portfolio: portfolio five_tickers_2017 is also in first.csv; "
        "a portfolio lives in one file"
    )
    assert not (tmp_path / "second.csv").exists()
    write_portfolio_file(tmp_path, "first.csv", GOOD.read_bytes(), history)  # editing its own file is fine


# ----------------------------------------------------------------------------- the asset


def _materialize(instance, settings, raise_on_error: bool = True):
    return materialize(
        [portfolio_transactions],
        resources=resources_for(settings),
        instance=instance,
        raise_on_error=raise_on_error,
    )


@pytest.fixture()
def portfolios_dir(tmp_path) -> Path:
    folder = tmp_path / "portfolios"
    folder.mkdir()
    return folder


@pytest.fixture()
def small_warehouse(priced_duckdb, tmp_path, portfolios_dir):
    settings = test_settings(tmp_path, prices_csv=FIVE_TICKERS, portfolios_dir=portfolios_dir)
    shutil.copy(priced_duckdb, settings.warehouse_path)
    with DagsterInstance.ephemeral() as instance:
        yield settings.warehouse_path, instance, settings


def _table(warehouse: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(f"select * from raw.{table} order by source_file, source_line").fetchall()


def _columns(warehouse: Path, table: str) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [r[0] for r in con.execute(f"describe raw.{table}").fetchall()]


def _checks(result) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def _metadata(result) -> dict:
    event = result.get_asset_materialization_events()[0]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_an_empty_or_header_broken_file_fails_no_other_file(small_warehouse, portfolios_dir):
    """``: > new.csv`` and a file with a misspelt header are rejected with their reason; the blocking
    check balances (a header problem is no input record) and the good file loads."""
    warehouse, instance, settings = small_warehouse
    shutil.copy(GOOD, portfolios_dir)
    (portfolios_dir / "new_portfolio.csv").write_bytes(b"")
    typo = GOOD.read_text().replace("quantity", "quantitty", 1).replace("five_tickers_2017,", "typo_portfolio,")
    (portfolios_dir / "typo.csv").write_text(typo)
    result = _materialize(instance, settings)
    assert result.success
    assert _checks(result) == {"rows_pass_expectations": True, "no_rejected_files": False}
    assert {r[1] for r in _table(warehouse, "portfolio_transactions")} == {GOOD.name}
    per_file = _metadata(result)["per_file"]
    assert per_file["new_portfolio.csv"]["status"] == "rejected" and per_file["new_portfolio.csv"]["input_rows"] == 0
    assert per_file["new_portfolio.csv"]["file_problem_rows"] == 1
    assert per_file["typo.csv"]["rejected_rows"] == 8 and per_file["typo.csv"]["file_problem_rows"] == 1
    reasons = {r[0]: r[4] for r in _table(warehouse, "rejected_portfolio_transactions") if r[1] == 1}
    assert "new_portfolio.csv" in reasons and "typo.csv" in reasons


def test_asset_loads_good_file_and_rejects_every_row_of_bad_file(small_warehouse, portfolios_dir):
    warehouse, instance, settings = small_warehouse
    shutil.copy(GOOD, portfolios_dir)
    shutil.copy(BAD, portfolios_dir)
    result = _materialize(instance, settings)
    loaded = _table(warehouse, "portfolio_transactions")
    rejected = _table(warehouse, "rejected_portfolio_transactions")

    assert _columns(warehouse, "portfolio_transactions") == [
        "portfolio", "source_file", "source_line", "trade_date", "ticker", "side", "quantity", "price", "fees",
        "currency", "file_sha256", "loaded_at",
    ]  # fmt: skip
    good_lines = GOOD.read_text().splitlines()[1:]
    assert len(loaded) == len(good_lines) == 8
    assert {r[1] for r in loaded} == {"five_tickers_2017.csv"} and {r[0] for r in loaded} == {"five_tickers_2017"}
    assert loaded[3][:10] == ("five_tickers_2017", "five_tickers_2017.csv", 5, date(2017, 3, 1), "AAPL", "sell",
                              20.0, 139.79, 1.0, "USD")  # fmt: skip
    assert loaded[7][8] == 0.0  # empty fees
    assert {r[10] for r in loaded} == {file_sha256(GOOD.read_bytes())}

    bad_lines = BAD.read_text().splitlines()[1:]
    assert len(rejected) == len(bad_lines) == 5  # loaded + rejected = input for each file
    by_line = {r[1]: r for r in rejected}
    assert {r[0] for r in rejected} == {"bad_2017.csv"} and {r[2] for r in rejected} == {"bad_2017"}
    assert by_line[3][3:5] == ("quantity", "bad_2017.csv line 3, field quantity: sell of 150 MSFT on 2017-03-01 "
                               "exceeds the 100 shares held")  # fmt: skip
    assert by_line[4][3:5] == (
        "trade_date", "bad_2017.csv line 4, field trade_date: 2017-07-04 is not an NYSE trading session"
    )
    assert by_line[5][3:5] == (
        "ticker", "bad_2017.csv line 5, field ticker: unknown ticker NVDA: not in the price universe"
    )
    for line in (2, 6):
        assert by_line[line][3:5] == (None, "file rejected: 3 other rows invalid (lines 3, 4, 5)")
    assert json.loads(by_line[6][5]) == dict(zip(HEADER.split(","), bad_lines[4].split(",")))

    assert _checks(result) == {"rows_pass_expectations": True, "no_rejected_files": False}
    metadata = _metadata(result)
    assert (metadata["files_read"], metadata["rows_loaded"], metadata["rows_rejected"]) == (2, 8, 5)
    assert metadata["per_file"]["bad_2017.csv"]["status"] == "rejected"
    assert metadata["per_file"]["five_tickers_2017.csv"]["portfolios"] == ["five_tickers_2017"]


def test_rerun_keeps_identical_rows_and_removed_file_vanishes(small_warehouse, portfolios_dir):
    warehouse, instance, settings = small_warehouse
    shutil.copy(GOOD, portfolios_dir)
    shutil.copy(BAD, portfolios_dir)
    _materialize(instance, settings)
    first = (_table(warehouse, "portfolio_transactions"), _table(warehouse, "rejected_portfolio_transactions"))
    again = _materialize(instance, settings)
    assert (_table(warehouse, "portfolio_transactions"), _table(warehouse, "rejected_portfolio_transactions")) == first
    assert _metadata(again)["files_rewritten"] == 0

    # fixing the bad file moves it from the rejected table to the loaded one
    fixed = _fixed_bad()
    (portfolios_dir / BAD.name).write_text(fixed)
    result = _materialize(instance, settings)
    loaded = _table(warehouse, "portfolio_transactions")
    assert _table(warehouse, "rejected_portfolio_transactions") == []
    assert sorted({r[0] for r in loaded}) == ["bad_2017", "five_tickers_2017"] and len(loaded) == 8 + 5
    assert [r for r in loaded if r[1] == GOOD.name] == first[0]  # the unchanged file kept its rows
    assert _metadata(result)["files_rewritten"] == 1 and _checks(result)["no_rejected_files"]

    (portfolios_dir / GOOD.name).unlink()
    _materialize(instance, settings)
    assert {r[0] for r in _table(warehouse, "portfolio_transactions")} == {"bad_2017"}
    (portfolios_dir / BAD.name).unlink()
    _materialize(instance, settings)
    assert _table(warehouse, "portfolio_transactions") == []


def test_ingest_rejects_a_price_outside_the_days_range(small_warehouse, portfolios_dir):
    """The asset checks trade prices against raw.prices_daily: the real file with AAPL bought at
    10.25 on 2017-06-01 (it traded near 153) is rejected with the rule and the day's range, and
    the file's TWR never sees it; input rows = rejected rows."""
    warehouse, instance, settings = small_warehouse
    bar = _bar("AAPL", "2017-06-01")
    (portfolios_dir / "typo.csv").write_text(_good_with(7, "five_tickers_2017,2017-06-01,AAPL,buy,10,10.25,1.00,USD"))
    result = _materialize(instance, settings)
    assert _table(warehouse, "portfolio_transactions") == []
    rejected = {r[1]: r for r in _table(warehouse, "rejected_portfolio_transactions")}
    assert len(rejected) == len(GOOD.read_text().splitlines()) - 1
    assert rejected[7][3:5] == ("price", f"typo.csv line 7, field price: price_in_day_range: 10.25 is outside AAPL's "
                                         f"range on 2017-06-01 (low {bar['low']:g}, high {bar['high']:g}, 1% tolerance)")  # fmt: skip
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["rows_pass_expectations"] and not checks["no_rejected_files"]


@pytest.mark.integration
def test_ingest_does_not_range_check_a_session_without_a_bar(tmp_path, portfolios_dir):
    """A price file cut at test time from the bundled one (the five tickers and BHF, 2017-07-17
    .. 2017-07-31): BHF's 2017-07-26 row lacks its low and high, so the price load quarantines
    it; a buy on that day at 10.25 is not checked and loads (the rule needs the day's bar), the
    same buy on 2017-07-25 is rejected naming that day's range; loaded + rejected = input."""
    bhf = _bhf_july_2017().filter(pl.col("date") >= date(2017, 7, 17))
    five = pl.read_csv(FIVE_TICKERS, try_parse_dates=True).filter(
        (pl.col("date") >= date(2017, 7, 17)) & (pl.col("date") <= date(2017, 7, 31))
    )
    prices_csv = tmp_path / "prices_july_2017.csv"
    pl.concat([five.select(bhf.columns), bhf]).write_csv(prices_csv)
    settings = test_settings(tmp_path, prices_csv=prices_csv, portfolios_dir=portfolios_dir)
    before = bhf.filter(pl.col("date") == date(2017, 7, 25)).row(0, named=True)
    (portfolios_dir / "no_bar.csv").write_text(f"{HEADER}\nbhf_a,2017-07-26,BHF,buy,10,10.25,1.00,USD\n")
    (portfolios_dir / "typo.csv").write_text(
        f"{HEADER}\nbhf_b,2017-07-24,BHF,buy,10,69.10,1.00,USD\nbhf_b,2017-07-25,BHF,buy,10,10.25,1.00,USD\n"
    )
    with DagsterInstance.ephemeral() as instance:
        materialize_prices("2017-07-17", "2017-07-31", instance, settings)
        result = _materialize(instance, settings)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute(
            "select count(*) from raw.prices_daily where ticker = 'BHF' and trade_date = '2017-07-26'"
        ).fetchone() == (0,)
        assert con.execute(
            "select count(*) from raw.rejected_prices where ticker = 'BHF' and trade_date = '2017-07-26'"
        ).fetchone() == (1,)
    loaded = _table(settings.warehouse_path, "portfolio_transactions")
    assert [(r[0], r[1], r[2], r[3], r[7]) for r in loaded] == [("bhf_a", "no_bar.csv", 2, date(2017, 7, 26), 10.25)]
    rejected = _table(settings.warehouse_path, "rejected_portfolio_transactions")
    assert [(r[0], r[1]) for r in rejected] == [("typo.csv", 2), ("typo.csv", 3)]
    reason = (
        f"typo.csv line 3, field price: price_in_day_range: 10.25 is outside BHF's range on 2017-07-25 "
        f"(low {before['low']:g}, high {before['high']:g}, 1% tolerance)"
    )
    assert rejected[1][3:5] == ("price", reason)
    per_file = _metadata(result)["per_file"]
    assert {f: (v["status"], v["input_rows"], v["loaded_rows"], v["rejected_rows"]) for f, v in per_file.items()} == {
        "no_bar.csv": ("loaded", 1, 1, 0), "typo.csv": ("rejected", 2, 0, 2),
    }  # fmt: skip
    assert _checks(result)["rows_pass_expectations"] and not _checks(result)["no_rejected_files"]


def test_shared_portfolio_and_unreadable_file_are_rejected(small_warehouse, portfolios_dir):
    warehouse, instance, settings = small_warehouse
    shutil.copy(GOOD, portfolios_dir / "a.csv")
    shutil.copy(GOOD, portfolios_dir / "b.csv")
    (portfolios_dir / "c.csv").write_bytes(b"portfolio,trade_date\n\xff\xfe\n")
    (portfolios_dir / "notes.txt").write_text("not a transaction file")
    result = _materialize(instance, settings)
    assert _table(warehouse, "portfolio_transactions") == []
    rejected = _table(warehouse, "rejected_portfolio_transactions")
    assert [(r[0], r[1]) for r in rejected] == [("a.csv", n) for n in range(2, 10)] + [
        ("b.csv", n) for n in range(2, 10)] + [("c.csv", 2)]  # fmt: skip
    assert rejected[0][4] == (
        "a.csv line 2, field portfolio: portfolio five_tickers_2017 is also in b.csv; a portfolio lives in one file"
    )
    assert rejected[8][4].endswith("is also in a.csv; a portfolio lives in one file")
    assert rejected[-1][2:6] == (None, None, "c.csv line 2: not UTF-8 text (byte 21: invalid start byte)", "null")
    assert _metadata(result)["per_file"]["c.csv"]["status"] == "unreadable"


@pytest.mark.integration
def test_asset_needs_the_prices_first(tmp_path, portfolios_dir):
    shutil.copy(GOOD, portfolios_dir)
    with DagsterInstance.ephemeral() as instance:
        result = _materialize(instance, test_settings(tmp_path, portfolios_dir=portfolios_dir), raise_on_error=False)
    assert not result.success
    message = result.get_step_failure_events()[0].event_specific_data.error.cause.message
    assert "raw.prices_daily does not exist" in message


def test_asset_on_postgres(postgres_server, tmp_path, portfolios_dir):
    shutil.copy(GOOD, portfolios_dir)
    shutil.copy(BAD, portfolios_dir)
    with scratch_database(postgres_server, "portf") as database:
        settings = postgres_settings(database, tmp_path, prices_csv=FIVE_TICKERS, portfolios_dir=portfolios_dir)
        settings = settings.with_values(schema_prefix="q_")
        with DagsterInstance.ephemeral() as instance:
            materialize_prices("2017-01-03", "2018-02-07", instance, settings)
            result = _materialize(instance, settings)

            def rows(table: str) -> list[tuple]:
                with psycopg.connect(database.conninfo) as con:
                    return con.execute(f"select * from q_raw.{table} order by source_file, source_line").fetchall()

            loaded, rejected = rows("portfolio_transactions"), rows("rejected_portfolio_transactions")
            assert len(loaded) == 8 and len(rejected) == 5
            assert loaded[3][:10] == ("five_tickers_2017", "five_tickers_2017.csv", 5, date(2017, 3, 1), "AAPL",
                                      "sell", 20.0, 139.79, 1.0, "USD")  # fmt: skip
            assert rejected[1][4].startswith("bad_2017.csv line 3, field quantity: sell of 150 MSFT")
            assert _checks(result) == {"rows_pass_expectations": True, "no_rejected_files": False}
            _materialize(instance, settings)
            assert (rows("portfolio_transactions"), rows("rejected_portfolio_transactions")) == (loaded, rejected)
            (portfolios_dir / GOOD.name).unlink()
            _materialize(instance, settings)
            assert rows("portfolio_transactions") == [] and len(rows("rejected_portfolio_transactions")) == 5


def test_checks_catch_bad_stored_rows(history):
    """The blocking check's suite and holdings replay fail on rows the validation would refuse."""
    from pipelines.defs.portfolios.assets import negative_holdings, validate_stored
    from pipelines.defs.portfolios.tables import loaded_rows

    typed = normalized_transactions(read_transactions(GOOD, GOOD.name))
    good = loaded_rows(typed, GOOD.name, "x", datetime(2018, 1, 1))
    assert validate_stored(good, history).success and negative_holdings(good).height == 0
    bad = good.with_columns(
        side=pl.when(pl.col("source_line") == 2).then(pl.lit("short")).otherwise("side"),  # AAPL buy gone
        trade_date=pl.when(pl.col("source_line") == 8).then(date(2017, 7, 4)).otherwise("trade_date"),
        fees=pl.when(pl.col("source_line") == 9).then(-1.0).otherwise("fees"),
    )
    outcome = validate_stored(bad, history)
    assert outcome.failed_rows_by_rule == {"side_known": 1, "trade_date_known": 1, "fees_non_negative": 1}
    negative = negative_holdings(bad)
    assert negative.select("source_line", "ticker", "held").rows() == [(5, "AAPL", -20.0), (6, "AAPL", -20.0)]


# ----------------------------------------------------------------------------- the sensor


def _evaluate(instance, cursor: str | None, folder: Path):
    resources = {"portfolio_files": PortfolioFilesResource(directory=str(folder))}
    context = build_sensor_context(instance=instance, cursor=cursor, resources=resources)
    return portfolio_files_sensor(context), context.cursor


def test_sensor_requests_a_run_per_change(portfolios_dir):
    with DagsterInstance.ephemeral() as instance:
        shutil.copy(GOOD, portfolios_dir)
        first, cursor = _evaluate(instance, None, portfolios_dir)  # no cursor yet: load once (idempotent)
        files = {GOOD.name: file_sha256(GOOD.read_bytes())}
        assert isinstance(first, RunRequest) and json.loads(cursor) == {"generation": 1, "files": files}
        assert first.run_key == f"portfolios-1-{fingerprint_hash(files)[:16]}"

        unchanged, same_cursor = _evaluate(instance, cursor, portfolios_dir)
        assert isinstance(unchanged, SkipReason)
        assert "no transaction file added, changed or deleted" in unchanged.skip_message
        assert same_cursor == cursor

        shutil.copy(BAD, portfolios_dir)
        added, cursor = _evaluate(instance, cursor, portfolios_dir)
        assert isinstance(added, RunRequest) and added.tags["portfolio_changes"] == "added bad_2017.csv"

        (portfolios_dir / GOOD.name).write_text(GOOD.read_text().replace(",20,", ",10,"))
        changed, cursor = _evaluate(instance, cursor, portfolios_dir)
        assert isinstance(changed, RunRequest) and changed.tags["portfolio_changes"] == "changed five_tickers_2017.csv"

        shutil.copy(GOOD, portfolios_dir)  # changed back: a new run key, so Dagster starts it
        reverted, cursor = _evaluate(instance, cursor, portfolios_dir)
        assert isinstance(reverted, RunRequest) and reverted.run_key != added.run_key
        assert json.loads(cursor)["generation"] == 4

        (portfolios_dir / BAD.name).unlink()
        (portfolios_dir / ".draft.csv.123.tmp").write_text("half written")  # the app's temporary file
        deleted, cursor = _evaluate(instance, cursor, portfolios_dir)
        assert isinstance(deleted, RunRequest) and deleted.tags["portfolio_changes"] == "deleted bad_2017.csv"
        assert json.loads(cursor)["files"] == {GOOD.name: file_sha256(GOOD.read_bytes())}


@pytest.mark.parametrize("job_name", ["portfolio_refresh", "warehouse_build"])
def test_sensor_waits_for_a_running_writer(portfolios_dir, job_name):
    with DagsterInstance.ephemeral() as instance:
        shutil.copy(GOOD, portfolios_dir)
        run_id = make_new_run_id()
        instance.add_run(DagsterRun(job_name=job_name, run_id=run_id, status=DagsterRunStatus.STARTED))
        busy, cursor = _evaluate(instance, None, portfolios_dir)
        assert isinstance(busy, SkipReason) and f"{job_name} run {run_id} has not finished" in busy.skip_message
        assert cursor is None  # the change is still pending
        instance.report_run_failed(instance.get_run_by_id(run_id))
        after, cursor = _evaluate(instance, None, portfolios_dir)
        assert isinstance(after, RunRequest) and json.loads(cursor)["generation"] == 1


def test_code_location_shape(definitions):
    defs = definitions
    graph = defs.resolve_asset_graph()
    key = AssetKey(["raw", "portfolio_transactions"])
    node = graph.get(key)
    assert node.group_name == "portfolios" and AssetKey(["raw", "prices_daily"]) in node.parent_keys
    assert {"duckdb", "postgres"} <= node.kinds and not node.is_partitioned
    assert {c.name for c in graph.get_check_keys_for_assets({key})} == {"rows_pass_expectations", "no_rejected_files"}
    job = defs.resolve_job_def("portfolio_refresh")
    selected = job.asset_layer.selected_asset_keys
    assert key in selected and AssetKey(["raw", "prices_daily"]) not in selected
    rejected = AssetKey(["raw", "rejected_portfolio_transactions"])  # written by the same asset
    assert graph.get(key).child_keys - {rejected} <= selected  # the dbt models reading the table (and what follows)
    assert rejected not in selected and graph.get(rejected).child_keys <= selected
    sensor = defs.resolve_sensor_def("portfolio_files_sensor")
    assert sensor.minimum_interval_seconds == 30 and sensor.default_status.value == "RUNNING"


def test_symbolic_links_in_the_folder_are_not_read(tmp_path):
    """A link could bring any file of the machine into the rejected table: it is left out (and
    the asset logs a warning naming it)."""
    from domain.portfolios.store import ignored_links, transaction_files

    folder = tmp_path / "portfolios"
    folder.mkdir()
    shutil.copy(GOOD, folder / GOOD.name)
    outside = tmp_path / "outside.csv"
    outside.write_text("secret,first,line\n")
    (folder / "linked.csv").symlink_to(outside)
    assert [p.name for p in transaction_files(folder)] == [GOOD.name]
    assert [p.name for p in ignored_links(folder)] == ["linked.csv"]


def test_files_the_app_writes_are_readable_by_other_users(tmp_path, history):
    """Not the 0600 of a temporary file: a new file gets 0666 less the umask, an edited one keeps
    its mode (the app and the Dagster daemon may run as different users)."""
    import os

    old = os.umask(0o022)
    try:
        written = write_portfolio_file(tmp_path, "mine.csv", GOOD.read_bytes(), history)
        assert written.stat().st_mode & 0o777 == 0o644
        written.chmod(0o664)
        write_portfolio_file(tmp_path, "mine.csv", GOOD.read_bytes(), history)
        assert written.stat().st_mode & 0o777 == 0o664
    finally:
        os.umask(old)

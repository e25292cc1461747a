"""One currency per portfolio, KRW portfolios, and benchmarks per market.

Unit tests validate transaction files against a price history cut from the real files at test
time (the five-ticker S&P 500 fixture and four KRX tickers of the bundled KRX file, with each
ticker's market): the shipped ``example_kr_core.csv`` is valid, a row whose ticker trades in
another currency than its portfolio's is rejected with the reason, the ``currency`` column must
be the ticker's, KRX dates follow the KRX calendar and a trading halt has no price range.

The integration tests load a small DuckDB warehouse (the same cut as ``raw.prices_daily``, the
KRX reference files and the company files through their assets, three transaction files through
``raw/portfolio_transactions``) and run the dbt portfolio models: the mixed file lands in the
rejected rows with its reason; the KRW portfolio is valued in KRW on KRX sessions, figures
written out by hand from the real closes; its benchmark is its market's index, KS11, whose
returns equal the index file's; the US portfolio keeps EQUAL_WEIGHT of the US universe on US
sessions; the equal-weighted KRW index equals a polars computation over the cut; and a configured
KQ11 applies to the KRW portfolio only.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from domain.portfolios.transactions import (
    PriceHistory,
    day_range_lookup,
    normalized_transactions,
    read_transactions,
    validate_transactions,
)
from tests.conftest import REPO_ROOT, resources_for, test_settings
from tests.data_files import krx_bars, sample_file, sample_fixture

KRX_PRICES_CSV = sample_file("krx/krx_daily_ohlcv_20180102_20220516.csv.gz")
INDEX_CSV = sample_file("krx/krx_index_daily_KS11_KQ11_KS200.csv.gz")
FIVE_TICKERS = sample_fixture("sp500_5tickers_2017-01_2018-02.csv")
EXAMPLE_KR = REPO_ROOT / "data" / "portfolios" / "example_kr_core.csv"
KRX_TICKERS = ("005930", "005935", "000660", "035420", "293490")
HEADER = "portfolio,trade_date,ticker,side,quantity,price,fees,currency"
MIXED_MESSAGE = (
    "one currency per portfolio: AAPL (US) trades in USD, but portfolio mixed is in KRW (its first "
    "transaction, line 2: 005930, KOSPI); put USD tickers in a portfolio of their own"
)
REL = 1e-9


@pytest.fixture(scope="module")
def bars() -> pl.DataFrame:
    """Every bar of the cut: ticker, market, trade_date, OHLC, volume, is_halted (KRW / USD)."""
    krx = krx_bars(KRX_TICKERS).select("ticker", "market", "trade_date", "open", "high", "low", "close", "volume",
                                        "is_halted")  # fmt: skip
    us = pl.read_csv(FIVE_TICKERS, try_parse_dates=True).select(
        ticker="Name", market=pl.lit("US"), trade_date="date", open="open", high="high", low="low", close="close",
        volume="volume", is_halted=pl.lit(False),
    )  # fmt: skip
    return pl.concat([krx, us], how="diagonal_relaxed").sort("ticker", "trade_date")


def _close(bars: pl.DataFrame, ticker: str, day: str) -> float:
    row = bars.filter((pl.col("ticker") == ticker) & (pl.col("trade_date") == date.fromisoformat(day)))
    return row["close"].item()


@pytest.fixture(scope="module")
def history(bars) -> PriceHistory:
    """The validation's view of the cut, as the ingest asset builds it (market of the latest bar)."""
    bounds = bars.group_by("ticker").agg(
        first_trade_date=pl.col("trade_date").min(), last_trade_date=pl.col("trade_date").max(),
        market=pl.col("market").sort_by("trade_date").last(),
    )  # fmt: skip
    ranges = day_range_lookup(
        lambda t: bars.filter(pl.col("ticker") == t).select("trade_date", "low", "high").iter_rows()
    )
    return PriceHistory.from_frame(bounds, ranges)


def _errors(text: str, history: PriceHistory, name: str = "t.csv") -> list[tuple]:
    frame = read_transactions(text.encode(), name)
    return [(e.line, e.field, e.message) for e in validate_transactions(frame, name, history)]


# --------------------------------------------------------------------------- validation rules


def test_the_shipped_krw_example_is_valid_at_real_closes(history, bars):
    frame = read_transactions(EXAMPLE_KR, EXAMPLE_KR.name)
    assert validate_transactions(frame, EXAMPLE_KR.name, history) == []
    rows = normalized_transactions(frame)
    assert set(rows["currency"]) == {"KRW"} and set(rows["portfolio"]) == {"example_kr_core"}
    for row in rows.filter(pl.col("side") != "dividend").iter_rows(named=True):  # every price is that day's close
        assert row["price"] == _close(bars, row["ticker"], row["trade_date"].isoformat()), row
    assert _close(bars, "005930", "2021-01-04") == 83_000  # Samsung Electronics, KRW


def test_a_ticker_in_another_currency_than_its_portfolio_is_rejected_with_the_reason(history, bars):
    samsung, apple = _close(bars, "005930", "2018-01-02"), _close(bars, "AAPL", "2018-01-03")
    text = (
        f"{HEADER}\nmixed,2018-01-02,005930,buy,10,{samsung:g},1000,KRW\nmixed,2018-01-03,AAPL,buy,5,{apple},1.00,USD\n"
    )
    assert _errors(text, history, "mixed.csv") == [(3, "ticker", MIXED_MESSAGE)]
    # the first transaction is the earliest (trade_date, then line), not the first line
    reordered = (
        f"{HEADER}\nmixed,2018-01-03,AAPL,buy,5,{apple},1.00,USD\nmixed,2018-01-02,005930,buy,10,{samsung:g},1000,KRW\n"
    )
    assert [e[:2] for e in _errors(reordered, history)] == [(2, "ticker")]
    # two portfolios of one file may each have their own currency
    separate = (
        f"{HEADER}\nkr,2018-01-02,005930,buy,10,{samsung:g},1000,KRW\nus,2018-01-03,AAPL,buy,5,{apple},1.00,USD\n"
    )
    assert _errors(separate, history) == []


def test_the_currency_column_is_the_tickers(history, bars):
    samsung, apple = _close(bars, "005930", "2021-01-04"), _close(bars, "AAPL", "2017-06-01")
    assert _errors(f"{HEADER}\np,2021-01-04,005930,buy,10,{samsung:g},1000,USD\n", history) == [
        (2, "currency", "'USD' is not the currency of 005930: KOSPI prices are in KRW, use KRW")
    ]
    assert _errors(f"{HEADER}\np,2017-06-01,AAPL,buy,10,{apple},1,KRW\n", history) == [
        (2, "currency", "'KRW' is not the currency of AAPL: US prices are in USD, use USD")
    ]
    assert _errors(f"{HEADER}\np,2021-01-04,005930,buy,10,{samsung:g},1000,JPY\n", history) == [
        (2, "currency", "'JPY' is not supported: prices are in KRW, use KRW")
    ]


def test_krx_dates_follow_the_krx_calendar_and_a_halt_has_no_range(history, bars):
    # 2021-02-11 is Seollal (KRX closed, NYSE open); 2021-01-18 is Martin Luther King Day (the reverse)
    close = _close(bars, "005930", "2021-02-10")
    assert _errors(f"{HEADER}\np,2021-02-11,005930,buy,10,{close:g},0,KRW\n", history) == [
        (2, "trade_date", "2021-02-11 is not a KRX trading session")
    ]
    mlk = _close(bars, "005930", "2021-01-18")
    assert _errors(f"{HEADER}\np,2021-01-18,005930,buy,10,{mlk:g},0,KRW\n", history) == []
    # Samsung was halted 2018-04-30 .. 2018-05-03 for its 50:1 split (open = high = low = 0 in the file)
    before = _close(bars, "005930", "2018-04-27")
    assert _errors(f"{HEADER}\np,2018-05-02,005930,buy,10,{before:g},0,KRW\n", history) == [
        (2, "price", "price_in_day_range: 005930 did not trade on 2018-05-02 (a trading halt: the day has no range)")
    ]


def test_a_history_without_markets_is_the_us_markets():
    history = PriceHistory.from_rows([("AAPL", "2017-01-03", "2018-02-07")])
    assert history.market_of("AAPL").code == "US" and history.market_of("AAPL").currency == "USD"
    with pytest.raises(KeyError, match="unknown market 'NYSE'"):
        PriceHistory.from_rows([("AAPL", "2017-01-03", "2018-02-07", "NYSE")])


def test_the_stored_rows_check_knows_each_tickers_currency_and_exchange(history, bars):
    """The blocking check's suite on stored rows: a KRW row on a KRX session passes; a KRX row
    stored as USD fails ``currency_of_ticker``, one on a KRX holiday ``trade_date_known``."""
    from datetime import datetime

    from pipelines.defs.portfolios.assets import validate_stored

    def stored(day: str, ticker: str, currency: str, line: int) -> dict:
        return {
            "portfolio": "p", "source_file": "p.csv", "source_line": line, "trade_date": date.fromisoformat(day),
            "ticker": ticker, "side": "buy", "quantity": 1.0, "price": 83_000.0, "fees": 0.0, "currency": currency,
            "file_sha256": "0", "loaded_at": datetime(2026, 1, 1),
        }  # fmt: skip

    good = pl.DataFrame([stored("2021-01-04", "005930", "KRW", 2), stored("2021-01-18", "005930", "KRW", 3)])
    assert validate_stored(good, history).success
    bad = pl.DataFrame([stored("2021-01-04", "005930", "USD", 2), stored("2021-02-11", "005930", "KRW", 3)])
    assert validate_stored(bad, history).failed_rows_by_rule == {"currency_of_ticker": 1, "trade_date_known": 1}


# --------------------------------------------------------------------------- the warehouse


def _us_file(bars: pl.DataFrame, folder: Path) -> Path:
    """A US portfolio at the real closes of 2017-06-01 and 2017-09-01."""
    rows = [
        ("us_core", "2017-06-01", "AAPL", "buy", 10, _close(bars, "AAPL", "2017-06-01"), "1.00", "USD"),
        ("us_core", "2017-06-01", "MSFT", "buy", 20, _close(bars, "MSFT", "2017-06-01"), "1.00", "USD"),
        ("us_core", "2017-09-01", "AAPL", "sell", 5, _close(bars, "AAPL", "2017-09-01"), "1.00", "USD"),
    ]
    path = folder / "us_core.csv"
    path.write_text(HEADER + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def _mixed_file(bars: pl.DataFrame, folder: Path) -> Path:
    samsung, apple = _close(bars, "005930", "2018-01-02"), _close(bars, "AAPL", "2018-01-03")
    path = folder / "mixed.csv"
    path.write_text(
        f"{HEADER}\nmixed,2018-01-02,005930,buy,10,{samsung:g},1000,KRW\nmixed,2018-01-03,AAPL,buy,5,{apple},1.00,USD\n"
    )
    return path


def _dbt(settings, benchmark: str, args: list[str], label: str) -> None:
    from pipelines.lib.resources import DbtResource

    dbt = DbtResource(project_dir=str(settings.dbt_project_dir), duckdb_path=str(settings.warehouse_path),
                      portfolio_benchmark=benchmark)  # fmt: skip
    error = dbt.cli(args, target_path=settings.warehouse_path.parent / label, raise_on_error=False).wait().get_error()
    assert error is None, str(error)[-4000:]


PORTFOLIO_MODELS = (
    "+mart_portfolio_risk +mart_portfolio_sector_allocation +fct_portfolio_transactions +fct_portfolio_rejected_rows"
)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, bars) -> Path:
    """The cut as raw.prices_daily, the reference assets and the portfolio asset on three files
    (example_kr_core.csv, us_core.csv, mixed.csv), then the dbt portfolio models and their tests
    with PORTFOLIO_BENCHMARK unset (each market's own benchmark)."""
    import duckdb
    from dagster import materialize

    from pipelines.defs.companies.assets import companies, company_financials
    from pipelines.defs.markets.assets import krx_industry, krx_listing, market_indices
    from pipelines.defs.portfolios.assets import portfolio_transactions
    from pipelines.defs.prices.tables import ensure_corporate_actions_table, ensure_price_tables

    folder = tmp_path_factory.mktemp("krw_portfolios")
    portfolios = folder / "portfolios"
    portfolios.mkdir()
    shutil.copy(EXAMPLE_KR, portfolios / EXAMPLE_KR.name)
    _us_file(bars, portfolios)
    _mixed_file(bars, portfolios)
    settings = test_settings(folder, portfolios_dir=portfolios)
    with resources_for(settings)["warehouse"].connect() as wh:
        ensure_price_tables(wh)
        ensure_corporate_actions_table(wh)
    frame = bars.with_columns(
        source=pl.lit("csv:test cut"), split_basis_date=pl.when(pl.col("market") == "US").then(date(2018, 2, 7)).otherwise(date(2022, 5, 16))
    )  # fmt: skip
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.register("cut", frame.to_arrow())
        con.execute("insert into raw.prices_daily by name select *, current_timestamp as loaded_at from cut")
    assets = [market_indices, krx_listing, krx_industry, companies, company_financials, portfolio_transactions]
    result = materialize(assets, resources=resources_for(settings))
    assert result.success
    checks = {(e.asset_key.path[-1], e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    # the suite passes on the stored rows (currency_of_ticker, sessions of each ticker's exchange,
    # one currency per portfolio); the warning check lists the rejected mixed file
    assert checks[("portfolio_transactions", "rows_pass_expectations")] is True
    assert checks[("portfolio_transactions", "no_rejected_files")] is False
    _dbt(settings, "", ["build", "--select", PORTFOLIO_MODELS, "--indirect-selection", "cautious"], "dbt_default")
    return settings.warehouse_path


def _read(path: Path, sql: str) -> pl.DataFrame:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql(sql).pl()


@pytest.mark.integration
def test_the_mixed_file_is_rejected_with_its_reason(warehouse):
    rejected = _read(
        warehouse,
        """select source_line, portfolio, field, reason from raw.rejected_portfolio_transactions
        where source_file = 'mixed.csv' order by source_line""",
    ).rows()
    assert rejected == [
        (2, "mixed", None, "file rejected: 1 other row invalid (line 3)"),
        (3, "mixed", "ticker", f"mixed.csv line 3, field ticker: {MIXED_MESSAGE}"),
    ]
    assert (
        _read(
            warehouse, "select count(*) from portfolios.fct_portfolio_rejected_rows where source_file = 'mixed.csv'"
        ).item()
        == 2
    )
    loaded = _read(
        warehouse, "select portfolio, currency, count(*) as n from raw.portfolio_transactions group by all order by 1"
    )
    assert loaded.rows() == [("example_kr_core", "KRW", 6), ("us_core", "USD", 3)]


@pytest.mark.integration
def test_the_krw_portfolio_is_valued_in_krw_on_krx_sessions(warehouse, bars):
    daily = _read(
        warehouse,
        "select * from portfolios.fct_portfolio_daily where portfolio = 'example_kr_core' order by trade_date",
    )
    assert set(daily["currency"]) == {"KRW"}
    krx_sessions = bars.filter(pl.col("market") != "US")["trade_date"].unique().sort()
    assert daily["trade_date"].to_list() == krx_sessions.filter(krx_sessions >= date(2021, 1, 4)).to_list()
    assert date(2021, 2, 11) not in daily["trade_date"].to_list()  # Seollal: no KRX session
    last = daily.row(-1, named=True)
    # 2022-05-16 closes: 100 x 66,300 + 70 x 110,500 + 10 x 273,500 + 100 x 55,100
    assert last["trade_date"] == date(2022, 5, 16)
    assert last["market_value"] == 6_630_000 + 7_735_000 + 2_735_000 + 5_510_000 == 22_610_000
    # buys 8,301,000 + 6,301,000 + 7,551,000 + 5,251,000 + 2,501,000, less the sale's 4,449,000
    risk = _read(warehouse, "select * from portfolios.mart_portfolio_risk where portfolio = 'example_kr_core'").row(
        0, named=True
    )
    assert (risk["currency"], risk["as_of_date"], risk["market_value"]) == ("KRW", date(2022, 5, 16), 22_610_000)
    assert risk["net_invested"] == 25_456_000 and risk["total_pnl"] == 22_610_000 - 25_456_000
    sale = _read(
        warehouse,
        """select realised_pnl, average_cost_after, currency from portfolios.fct_portfolio_transactions
        where portfolio = 'example_kr_core' and side = 'sell'""",
    ).row(0, named=True)
    # average cost (20 x 377,500 + 1,000) / 20 = 377,550; realised 10 x (445,000 - 377,550) - 1,000
    assert (sale["realised_pnl"], sale["average_cost_after"], sale["currency"]) == (673_500, 377_550, "KRW")
    sectors = _read(
        warehouse,
        """select sector, currency from portfolios.mart_portfolio_sector_allocation
        where portfolio = 'example_kr_core' and trade_date = '2022-05-16' order by sector""",
    ).rows()
    assert ("반도체 제조업", "KRW") in sectors  # SK hynix's KSIC industry


@pytest.mark.integration
def test_the_krw_portfolio_is_benchmarked_against_its_markets_index(warehouse):
    """example_kr_core starts with 005930 (KOSPI): KS11, whose returns are the index file's."""
    daily = _read(
        warehouse,
        """select trade_date, benchmark_id, daily_return, benchmark_daily_return
        from portfolios.fct_portfolio_daily where portfolio = 'example_kr_core' order by trade_date""",
    )
    assert set(daily["benchmark_id"]) == {"KS11"}
    kospi = (
        pl.read_csv(INDEX_CSV, infer_schema=False)
        .filter(pl.col("index_code") == "KS11")
        .select(trade_date=pl.col("Date").str.to_date(), close=pl.col("Close").cast(pl.Float64))
        .sort("trade_date")
    )
    kospi = kospi.with_columns(expected=pl.col("close") / pl.col("close").shift(1) - 1)
    joined = daily.join(kospi.select("trade_date", "expected"), on="trade_date", how="left")
    assert joined.height > 300
    for row in joined.iter_rows(named=True):
        assert row["benchmark_daily_return"] == pytest.approx(row["expected"], rel=REL), row["trade_date"]
    second = joined.filter(pl.col("trade_date") == date(2021, 1, 5)).row(0, named=True)
    assert second["benchmark_daily_return"] == pytest.approx(2990.57 / 2944.45 - 1, rel=REL)
    benchmark = _read(
        warehouse,
        """select currency, benchmark_kind, is_portfolio_benchmark, daily_return
        from portfolios.fct_benchmark_daily where benchmark_id = 'KS11' and trade_date = '2021-01-04'""",
    ).row(0)
    assert benchmark[:3] == ("KRW", "index", True) and benchmark[3] == pytest.approx(2944.45 / 2873.47 - 1, rel=REL)
    portfolio = _read(warehouse, "select * from intermediate.int_portfolio_benchmarks order by portfolio").to_dicts()
    assert [
        (p["portfolio"], p["currency"], p["market"], p["benchmark_id"], p["benchmark_source"]) for p in portfolio
    ] == [
        ("example_kr_core", "KRW", "KOSPI", "KS11", "market_default"),
        ("us_core", "USD", "US", "EQUAL_WEIGHT", "market_default"),
    ]


def _equal_weight(bars: pl.DataFrame) -> pl.DataFrame:
    """Per session of the universe: mean close / previous-session close - 1 over the tickers traded on both."""
    traded = bars.filter(~pl.col("is_halted"))
    sessions = traded.select("trade_date").unique().sort("trade_date").with_row_index("session")
    paired = (
        traded.join(sessions, on="trade_date").sort("ticker", "trade_date")
        .with_columns(previous=pl.col("close").shift(1).over("ticker"), previous_session=pl.col("session").shift(1).over("ticker"))
        .filter(pl.col("previous_session") == pl.col("session") - 1)
    )  # fmt: skip
    return (
        paired.group_by("trade_date")
        .agg(daily_return=(pl.col("close") / pl.col("previous") - 1).mean(), constituent_count=pl.len())
        .sort("trade_date")
    )


@pytest.mark.integration
@pytest.mark.parametrize("currency", ["KRW", "USD"])
def test_equal_weight_is_per_currency_universe(warehouse, bars, currency):
    universe = bars.filter((pl.col("market") == "US") if currency == "USD" else (pl.col("market") != "US"))
    expected = _equal_weight(universe)
    actual = _read(
        warehouse,
        f"""select trade_date, daily_return, constituent_count from portfolios.fct_benchmark_daily
        where benchmark_id = 'EQUAL_WEIGHT' and currency = '{currency}' and daily_return is not null order by trade_date""",
    )
    assert actual["trade_date"].to_list() == expected["trade_date"].to_list()
    assert actual["constituent_count"].to_list() == expected["constituent_count"].to_list()
    for a, e in zip(actual["daily_return"], expected["daily_return"]):
        assert a == pytest.approx(e, rel=REL)
    if (
        currency == "KRW"
    ):  # Samsung and its preferred share were halted 2018-04-30 .. 05-03: not averaged then, nor on 05-04
        counts = dict(actual.select("trade_date", "constituent_count").iter_rows())
        assert counts[date(2018, 5, 4)] < len(KRX_TICKERS)


@pytest.mark.integration
def test_the_us_portfolio_keeps_us_sessions_and_the_us_equal_weight(warehouse):
    daily = _read(
        warehouse, "select * from portfolios.fct_portfolio_daily where portfolio = 'us_core' order by trade_date"
    )
    assert set(daily["currency"]) == {"USD"} and set(daily["benchmark_id"]) == {"EQUAL_WEIGHT"}
    assert (daily["trade_date"].min(), daily["trade_date"].max()) == (date(2017, 6, 1), date(2018, 2, 7))
    assert date(2018, 1, 15) not in daily["trade_date"].to_list()  # MLK day: a KRX session, not a US one
    benchmark = _read(
        warehouse,
        """select trade_date, daily_return from portfolios.fct_benchmark_daily
        where benchmark_id = 'EQUAL_WEIGHT' and currency = 'USD'""",
    )
    joined = daily.join(benchmark, on="trade_date").filter(pl.col("daily_return").is_not_null())
    assert (joined["benchmark_daily_return"] - joined["daily_return_right"]).abs().max() < 1e-15


@pytest.mark.integration
def test_a_configured_index_applies_to_the_portfolios_of_its_currency_only(warehouse, tmp_path):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(warehouse, copy)
    settings = test_settings(tmp_path, warehouse_path=copy)
    _dbt(
        settings,
        "kq11",
        ["run", "--select", "int_portfolio_benchmarks fct_benchmark_daily fct_portfolio_daily"],
        "dbt_kq11",
    )
    used = _read(
        copy, "select distinct portfolio, currency, benchmark_id from portfolios.fct_portfolio_daily order by 1"
    )
    assert used.rows() == [("example_kr_core", "KRW", "KQ11"), ("us_core", "USD", "EQUAL_WEIGHT")]
    marked = _read(
        copy,
        """select distinct benchmark_id, currency from portfolios.fct_benchmark_daily
        where is_portfolio_benchmark order by 1, 2""",
    )
    assert marked.rows() == [("EQUAL_WEIGHT", "USD"), ("KQ11", "KRW")]

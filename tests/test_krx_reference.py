"""Korean reference data: the index, listing and industry files as read, validated and loaded
(``pipelines/defs/markets``), and the marts built on them (``fct_index_daily``, the KRX rows of
``dim_companies``).

Everything is checked against the real files (``data/sample/krx/``): row counts, KOSPI's close of
2,944.45 on 2021-01-04, Samsung Electronics (005930) as 삼성전자 on KOSPI with its KSIC industry,
and the rows the real files have that the suites quarantine (a KOSPI 200 day whose close is below
its low, two repeated listing lines). The rules on rows the real files do not have are checked on
a temporary cut: real lines, some of them altered at test time (marked in each test). The dbt
test builds a small DuckDB warehouse (four KRX tickers and AAPL, cut from the real price files at
test time) and runs only the models involved.
"""

from __future__ import annotations

import gzip
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipelines.defs.markets.readers import read_index_file, read_industry_file, read_listing_file
from pipelines.defs.markets.validation import INDEX_SUITE, INDUSTRY_SUITE, LISTING_SUITE, split_valid_rejected
from pipelines.lib.csv_files import MalformedFileError
from tests.conftest import resources_for, test_settings
from tests.data_files import krx_bars, sample_file, sample_fixture

INDEX_CSV = sample_file("krx/krx_index_daily_KS11_KQ11_KS200.csv.gz")
LISTING_CSV = sample_file("krx/krx_listing_fdr_20220516.csv")
INDUSTRY_CSV = sample_file("krx/krx_listing_desc_sector_20260322.csv.gz")
KRX_PRICES_CSV = sample_file("krx/krx_daily_ohlcv_20180102_20220516.csv.gz")
TODAY = date(2026, 12, 5)
SAMSUNG_INDUSTRY = "통신 및 방송 장비 제조업"  # KSIC: manufacture of telecommunication and broadcasting apparatus


@pytest.fixture(scope="module")
def index_rows() -> pl.DataFrame:
    return read_index_file(INDEX_CSV)


@pytest.fixture(scope="module")
def listing_rows() -> pl.DataFrame:
    return read_listing_file(LISTING_CSV)


@pytest.fixture(scope="module")
def industry_rows() -> pl.DataFrame:
    return read_industry_file(INDUSTRY_CSV)


# --------------------------------------------------------------------------- the real files


def test_index_file_is_read_whole_with_its_real_levels(index_rows):
    assert index_rows.height == 24_572
    counts = dict(index_rows.group_by("index_code").len().iter_rows())
    assert counts == {"KS11": 7_784, "KQ11": 7_441, "KS200": 9_347}
    kospi = index_rows.filter((pl.col("index_code") == "KS11") & (pl.col("trade_date") == date(2021, 1, 4))).row(
        0, named=True
    )
    assert (kospi["open"], kospi["high"], kospi["low"], kospi["close"]) == (2874.5, 2946.54, 2869.11, 2944.45)
    assert kospi["volume"] == 1_026_510_465
    assert kospi["amount"] == 25_011_393_960_858  # KRW
    assert kospi["market_cap"] == 2_028_846_031_822_322  # KRW, read exactly (whole number below 2^53)
    no_open = index_rows.filter(pl.col("open").is_null())  # not published on 1,471 early KOSPI 200 days
    assert (no_open.height, set(no_open["index_code"]), no_open["trade_date"].max()) == (
        1_471,
        {"KS200"},
        date(1995, 1, 28),
    )


def test_index_suite_quarantines_the_one_inconsistent_real_day(index_rows):
    split = split_valid_rejected(index_rows, INDEX_SUITE, TODAY)
    assert split.valid.height == 24_571
    rejected = split.rejected.select("source_line", "index_code", "trade_date", "low", "close", "reason").to_dicts()
    assert rejected == [{"source_line": 16_697, "index_code": "KS200", "trade_date": date(1995, 1, 4),
                         "low": 111.58, "close": 109.3, "reason": "low_le_close"}]  # fmt: skip
    assert split.input_outcome.failed_rows_by_rule == {"low_le_close": 1}
    assert split.valid_outcome.success
    # rows without a published open, high and low are kept (NULL), not quarantined
    assert split.valid.filter(pl.col("index_code") == "KS200")["open"].null_count() == 1_470


def test_listing_names_samsung_and_quarantines_the_repeated_lines(listing_rows):
    assert listing_rows.height == 2_602
    samsung = listing_rows.filter(pl.col("ticker") == "005930").row(0, named=True)
    assert (samsung["company_name"], samsung["market"]) == ("삼성전자", "KOSPI")
    split = split_valid_rejected(listing_rows, LISTING_SUITE, TODAY)
    rejected = split.rejected.select("source_line", "ticker", "company_name", "reason").to_dicts()
    assert rejected == [
        {"source_line": 2_575, "ticker": "115960", "company_name": "연우", "reason": "duplicate_row"},
        {"source_line": 2_580, "ticker": "294090", "company_name": "이오플로우", "reason": "duplicate_row"},
    ]
    # the first of each repeated pair is kept: every ticker once
    assert split.valid.height == 2_600 and split.valid["ticker"].n_unique() == 2_600
    assert dict(split.valid.group_by("market").len().iter_rows()) == {"KOSPI": 917, "KOSDAQ": 1_557, "KONEX": 126}


def test_industry_gives_samsungs_ksic_industry_and_covers_2215_priced_tickers(industry_rows):
    assert industry_rows.height == 2_879
    split = split_valid_rejected(industry_rows, INDUSTRY_SUITE, TODAY)
    assert split.rejected.height == 0 and split.valid_outcome.success
    samsung = industry_rows.filter(pl.col("ticker") == "005930").row(0, named=True)
    assert samsung["industry"] == SAMSUNG_INDUSTRY
    assert samsung["listing_date"] == date(1975, 6, 11)
    assert (samsung["fiscal_year_end_month"], samsung["fiscal_year_end_month_as_published"]) == (12, "12월")
    assert samsung["kosdaq_division"] is None  # KOSDAQ divisions only
    priced = pl.scan_csv(KRX_PRICES_CSV, schema_overrides={"code": pl.Utf8}).select("code").unique().collect()
    matched = priced.join(industry_rows, left_on="code", right_on="ticker")
    assert (priced.height, matched.height, matched["industry"].count()) == (2_474, 2_306, 2_215)


# --------------------------------------------------------------------------- rules on altered real lines


def _lines(path: Path, count: int) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [next(handle).rstrip("\n") for _ in range(count)]


def test_each_index_rule_names_its_rows(tmp_path):
    header, first, second, third = _lines(INDEX_CSV, 4)  # KS11 1995-05-02 .. 1995-05-04
    fields = second.split(",")
    zero_open = ",".join(fields[:6] + ["0"] + fields[7:])  # ALTERED: open 0
    conflicting = ",".join(fields[:2] + ["999.99"] + fields[3:])  # ALTERED: another close for the same day
    code, day, _, *rest = third.split(",")
    no_close = ",".join([code, day, "", *rest])  # ALTERED: close empty
    path = tmp_path / "index.csv"
    path.write_text("\n".join([header, first, first, zero_open, conflicting, no_close]) + "\n")
    split = split_valid_rejected(read_index_file(path), INDEX_SUITE, TODAY)
    assert split.valid["source_line"].to_list() == [2]
    reasons = dict(split.rejected.select("source_line", "reason").iter_rows())
    assert reasons == {
        3: "duplicate_row",
        4: "index_code_trade_date_unique; open_positive; low_le_open",
        5: "index_code_trade_date_unique; close_le_high",
        6: "close_not_null",
    }
    assert split.valid_outcome.success


def test_each_listing_and_industry_rule_names_its_rows(tmp_path):
    header, samsung_line = (
        _lines(LISTING_CSV, 1)[0],
        next(line for line in LISTING_CSV.read_text(encoding="utf-8-sig").splitlines() if ",005930," in line),
    )
    index, _, _, _ = samsung_line.split(",")
    listing = tmp_path / "listing.csv"
    listing.write_text("\n".join([
        header, samsung_line,
        f"{index},005930,삼성전자(altered),KOSPI",  # ALTERED: another name for the same code
        f"{index},5930,삼성전자,KOSPI",  # ALTERED: leading zeros lost
        f"{index},005935,삼성전자우,NASDAQ",  # ALTERED: a market KRX does not have
    ]) + "\n", encoding="utf-8")  # fmt: skip
    split = split_valid_rejected(read_listing_file(listing), LISTING_SUITE, TODAY)
    assert split.valid.height == 0
    assert dict(split.rejected.select("source_line", "reason").iter_rows()) == {
        2: "ticker_unique", 3: "ticker_unique", 4: "ticker_format", 5: "market_known",
    }  # fmt: skip

    lines = _lines(INDUSTRY_CSV, 3)
    real = lines[1]
    industry = tmp_path / "industry.csv"
    industry.write_text("\n".join([
        lines[0], real,
        lines[2].replace("12월", "13월"),  # ALTERED: no 13th month
        lines[2].replace("12월", "December").replace(",095570,", ",095571,"),  # ALTERED: month not written <n>월
        lines[2].replace("2015-08-21", "2031-01-01").replace(",095570,", ",095572,"),  # ALTERED: listed in the future
    ]) + "\n", encoding="utf-8")  # fmt: skip
    split = split_valid_rejected(read_industry_file(industry), INDUSTRY_SUITE, TODAY)
    assert split.valid["source_line"].to_list() == [2]
    assert dict(split.rejected.select("source_line", "reason").iter_rows()) == {
        3: "fiscal_year_end_month_in_1_12",
        4: "fiscal_year_end_month_format",
        5: "listing_date_in_range",
    }


def test_a_malformed_index_file_names_file_line_and_field(tmp_path):
    header, first, second = _lines(INDEX_CSV, 3)
    fields = second.split(",")
    path = tmp_path / "index.csv"
    path.write_text("\n".join([header, first, ",".join(fields[:2] + ["906.04x"] + fields[3:])]) + "\n")
    with pytest.raises(MalformedFileError) as error:
        read_index_file(path)
    assert str(error.value).startswith(f"{path}, line 3")
    with pytest.raises(MalformedFileError, match=r"line 1: missing column\(s\) \['Symbol', 'Name', 'Market'\]"):
        read_listing_file(tmp_path / "index.csv")


# --------------------------------------------------------------------------- assets and dbt on a small warehouse

KRX_TICKERS = (
    "005930",
    "005935",
    "000660",
    "293490",
)  # Samsung, Samsung preferred (no industry), SK hynix, Kakao Games


def _write_prices(warehouse: Path) -> None:
    """``raw.prices_daily`` (the price core's DDL) with four KRX tickers and AAPL, cut from the real
    files at test time; halt rows (open = high = low = 0, volume 0) flagged as the price load does."""
    import duckdb

    from pipelines.defs.prices.tables import ensure_price_tables

    with resources_for(test_settings(warehouse.parent))["warehouse"].connect() as wh:
        ensure_price_tables(wh)
    krx = krx_bars(KRX_TICKERS).with_columns(
        source=pl.lit("csv:krx_daily_ohlcv_20180102_20220516.csv.gz"),
        split_basis_date=pl.lit(date(2022, 5, 16)),
    )
    us = (
        pl.read_csv(sample_fixture("sp500_5tickers_2017-01_2018-02.csv"), try_parse_dates=True)
        .filter(pl.col("Name") == "AAPL")
        .select(
            ticker="Name",
            trade_date="date",
            open="open",
            high="high",
            low="low",
            close="close",
            volume="volume",
            market=pl.lit("US"),
            is_halted=pl.lit(False),
            source=pl.lit("csv:sp500_all_stocks_5yr.csv.gz"),
            split_basis_date=pl.lit(date(2018, 2, 7)),
        )
    )
    frame = pl.concat([krx, us], how="diagonal_relaxed")
    with duckdb.connect(str(warehouse)) as con:
        con.register("cut", frame.to_arrow())
        con.execute("insert into raw.prices_daily by name select *, current_timestamp as loaded_at from cut")


@pytest.fixture(scope="module")
def reference_warehouse(tmp_path_factory):
    """The three KRX assets and the company assets materialised into a fresh DuckDB file, then
    the prices cut; returns (settings, the Dagster result of the first load)."""
    from dagster import materialize

    from pipelines.defs.companies.assets import companies, company_financials
    from pipelines.defs.markets.assets import krx_industry, krx_listing, market_indices

    folder = tmp_path_factory.mktemp("krx_reference")
    settings = test_settings(folder)
    assets = [market_indices, krx_listing, krx_industry, companies, company_financials]
    result = materialize(assets, resources=resources_for(settings))
    assert result.success
    _write_prices(settings.warehouse_path)
    return settings, result


def _read(path: Path, sql: str) -> pl.DataFrame:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql(sql).pl()


@pytest.mark.integration
def test_assets_load_quarantine_and_replace_whole_tables(reference_warehouse):
    settings, result = reference_warehouse
    checks = {(e.asset_key.path[-1], e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    assert {k: v for k, v in checks.items() if k[0] in ("market_indices", "krx_listing", "krx_industry")} == {
        ("market_indices", "rows_pass_expectations"): True,
        ("krx_listing", "rows_pass_expectations"): True,
        ("krx_industry", "rows_pass_expectations"): True,
    }
    metadata = result.asset_materializations_for_node("raw__market_indices")[0].metadata
    assert (metadata["rows_read"].value, metadata["dagster/row_count"].value, metadata["rows_rejected"].value) == (
        24_572,
        24_571,
        1,
    )
    path = settings.warehouse_path
    counts = _read(
        path,
        """select
        (select count(*) from raw.market_indices) as indices, (select count(*) from raw.rejected_market_indices) as bad_indices,
        (select count(*) from raw.krx_listing) as listing, (select count(*) from raw.rejected_krx_listing) as bad_listing,
        (select count(*) from raw.krx_industry) as industry, (select count(*) from raw.rejected_krx_industry) as bad_industry""",
    )
    assert counts.row(0) == (24_571, 1, 2_600, 2, 2_879, 0)
    rejected = _read(path, "select source_line, ticker, reason, source_file from raw.rejected_krx_listing order by 1")
    assert rejected.rows() == [
        (2_575, "115960", "duplicate_row", LISTING_CSV.name),
        (2_580, "294090", "duplicate_row", LISTING_CSV.name),
    ]
    samsung = _read(path, "select company_name, market from raw.krx_listing where ticker = '005930'")
    assert samsung.rows() == [("삼성전자", "KOSPI")]
    kospi = _read(path, "select close from raw.market_indices where index_code = 'KS11' and trade_date = '2021-01-04'")
    assert kospi.rows() == [(2944.45,)]


@pytest.mark.integration
def test_a_rerun_replaces_each_table_with_the_same_rows(reference_warehouse, tmp_path):
    """Idempotent: a second load of a copy leaves the same rows (loaded_at aside)."""
    from dagster import materialize

    from pipelines.defs.markets.assets import krx_industry, krx_listing, market_indices

    settings, _ = reference_warehouse
    copy = test_settings(tmp_path)
    shutil.copyfile(settings.warehouse_path, copy.warehouse_path)
    tables = ("market_indices", "rejected_market_indices", "krx_listing", "rejected_krx_listing", "krx_industry")
    before = {t: _read(copy.warehouse_path, f"select * exclude (loaded_at) from raw.{t} order by all") for t in tables}
    assert materialize([market_indices, krx_listing, krx_industry], resources=resources_for(copy)).success
    for table in tables:
        after = _read(copy.warehouse_path, f"select * exclude (loaded_at) from raw.{table} order by all")
        assert after.equals(before[table]), table


@pytest.fixture(scope="module")
def reference_marts(built_warehouse) -> Path:
    """The session build (its KRX cut holds these tickers: tests/data_files.krx_cut)."""
    return built_warehouse.warehouse_path


@pytest.mark.integration
def test_fct_index_daily_names_markets_and_daily_returns(reference_marts):
    rows = _read(
        reference_marts,
        """select index_code, index_name, market, close, daily_return
        from marts.fct_index_daily where trade_date = '2021-01-04' order by index_code""",
    ).rows()
    assert [r[:4] for r in rows] == [
        ("KQ11", "KOSDAQ", "KOSDAQ", 977.62), ("KS11", "KOSPI", "KOSPI", 2944.45), ("KS200", "KOSPI 200", "KOSPI", 399.88),
    ]  # fmt: skip
    returns = {r[0]: r[4] for r in rows}
    assert returns["KS11"] == pytest.approx(2944.45 / 2873.47 - 1, rel=1e-12)  # close of 2020-12-30: 2,873.47
    assert returns["KQ11"] == pytest.approx(977.62 / 968.42 - 1, rel=1e-12)
    first = _read(
        reference_marts,
        "select trade_date, daily_return from marts.fct_index_daily where index_code = 'KS11' order by trade_date limit 1",
    )
    assert first.rows() == [(date(1995, 5, 2), None)]


@pytest.mark.integration
def test_dim_companies_gives_krx_tickers_their_listing_name_industry_and_market(reference_marts):
    rows = {r["ticker"]: r for r in _read(reference_marts, "select * from marts.dim_companies").to_dicts()}
    assert {*KRX_TICKERS, "AAPL"} <= set(rows)
    samsung = rows["005930"]
    assert (samsung["company_name"], samsung["sector"], samsung["market"]) == ("삼성전자", SAMSUNG_INDUSTRY, "KOSPI")
    assert (samsung["company_attributes_source"], samsung["listing_date"], samsung["in_constituents_list"]) == (
        "krx_listing", date(1975, 6, 11), False,
    )  # fmt: skip
    # halted sessions are no bars: Samsung was halted 2018-04-30 .. 2018-05-03 for its 50:1 split
    assert samsung["first_trade_date"] == date(2018, 1, 2) and samsung["last_trade_date"] == date(2022, 5, 16)
    assert rows["005935"]["sector"] == "Unknown" and rows["005935"]["company_name"] == "삼성전자우"
    # the market of the prices (KOSDAQ on 2022-05-16), not of the 2026 industry file (KOSDAQ GLOBAL)
    assert (rows["293490"]["market"], rows["293490"]["company_name"]) == ("KOSDAQ", "카카오게임즈")
    apple = rows["AAPL"]
    assert (apple["company_name"], apple["sector"], apple["market"], apple["company_attributes_source"]) == (
        "Apple Inc.", "Information Technology", "US", "constituents",
    )  # fmt: skip
    assert apple["listing_date"] is None
    # the BI contract's columns first, then market, then the Korean market's listing_date
    assert list(_read(reference_marts, "select * from marts.dim_companies limit 0").columns)[-2:] == [
        "market",
        "listing_date",
    ]
    halts = _read(reference_marts, "select trade_date from raw.prices_daily where ticker = '005930' and is_halted")
    assert halts["trade_date"].to_list() == [date(2018, 4, 30), date(2018, 5, 2), date(2018, 5, 3)]  # 05-01: holiday
    bars = _read(reference_marts, "select count(*) from raw.prices_daily where ticker = '005930'").item()
    assert samsung["trading_days"] == bars - 3

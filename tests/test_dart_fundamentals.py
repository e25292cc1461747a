"""Korean fundamentals: DART annual accounts, KRX's vendor ratios, point-in-time valuation.

Expected values are typed in from the real files (line numbers of
``data/sample/dart/dart_key_accounts_annual.csv``, rows of the recorded KRX response
``fixtures/krx/krx_MDCSTAT03501_STK_20210108.json`` and closes of
``krx/krx_daily_ohlcv_20180102_20220516.csv.gz``), not from our own output. The dbt part builds a
small DuckDB warehouse: the KRX price rows of five tickers (no halt rows) in ``raw.prices_daily``
with the columns ``market`` and ``is_halted``, the SEC and corporate-action tables empty, the
two Korean raw assets materialised, then ``dbt build`` of every model upstream of
``fct_daily_valuation`` and ``fct_krx_vendor_valuation`` (their data and unit tests included).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipelines.defs.fundamentals.dart import read_dart_accounts
from pipelines.defs.fundamentals.korean_validation import dart_frame_for_suite, dart_suite, split_valid_rejected
from pipelines.defs.fundamentals.krx_valuation import (
    one_row_per_key,
    raw_store_responses,
    recorded_responses,
    response_frame,
)
from pipelines.lib.csv_files import MalformedFileError
from pipelines.lib.http import RawResponseStore
from pipelines.sources.krx import raw_key
from tests.conftest import resources_for, test_settings
from tests.data_files import sample_file, sample_fixture

DART_CSV = sample_file("dart/dart_key_accounts_annual.csv")
KRX_PRICES_CSV = sample_file("krx/krx_daily_ohlcv_20180102_20220516.csv.gz")
RECORDED_03501 = "bundled:fixtures/krx/krx_MDCSTAT03501_STK_20210108.json"

# Samsung Electronics (005930, DART corp_code 00126380), consolidated, KRW
SAMSUNG = "005930"
SAMSUNG_FY2021 = {  # line 359
    "revenue": 279_604_799_000_000, "net_income_owners": 39_243_791_000_000,
    "total_equity": 304_899_931_000_000, "eps_basic": 5_777,
}  # fmt: skip
SAMSUNG_FY2020 = {  # line 358
    "revenue": 236_806_988_000_000, "net_income_owners": 26_090_846_000_000,
    "total_equity": 275_948_016_000_000, "eps_basic": 3_841,
}  # fmt: skip
SAMSUNG_FY2019 = {"net_income_owners": 21_505_054_000_000, "total_equity": 262_880_421_000_000, "eps_basic": 3_166}
# closes of 005930 in the KRX price file
SAMSUNG_CLOSE = {"2021-01-08": 88_800, "2022-03-30": 69_900, "2022-03-31": 69_600}
# the recorded KRX response of 2021-01-08 (screen MDCSTAT03501, KOSPI), Samsung's row as sent
SAMSUNG_VENDOR_20210108 = {"close": 88_800, "eps": 3_166, "per": 28.05, "bps": 37_528, "pbr": 2.37, "dps": 1_416,
                           "dividend_yield_pct": 1.59}  # fmt: skip

# tickers of the small warehouse: Samsung; SK hynix; LG (003550: no basic EPS 2015..2022); Korea
# Zinc (010130: no net income to owners); Korea Shipbuilding (009540: EPS and net income to owners
# of opposite signs in FY2016/2017)
TICKERS = [SAMSUNG, "000660", "003550", "010130", "009540"]


# --------------------------------------------------------------------------- the DART file


def test_reader_keeps_codes_as_text_and_reads_samsung_fy2021():
    frame = read_dart_accounts(DART_CSV)
    assert frame.height == 496
    assert frame["stock_code"].n_unique() == 43 and frame["corp_code"].n_unique() == 43
    assert frame.schema["stock_code"] == pl.String and frame["stock_code"].str.len_chars().unique().to_list() == [6]
    row = frame.filter(pl.col("stock_code") == SAMSUNG, pl.col("fiscal_year") == 2021).row(0, named=True)
    assert {k: row[k] for k in SAMSUNG_FY2021} == SAMSUNG_FY2021
    assert (row["corp_code"], row["period_end"], row["source_line"]) == ("00126380", date(2021, 12, 31), 359)
    assert frame["eps_basic"].null_count() == 233  # EPS missing for many company-years (kept, not rejected)


def test_malformed_value_names_file_line_and_field(tmp_path):
    lines = DART_CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[358].startswith("삼성전자,005930,KOSPI,00126380,2021,20211231,279604799000000,")
    broken = tmp_path / "dart.csv"
    broken.write_text("".join([*lines[:358], lines[358].replace("279604799000000", "279604799000000원"), *lines[359:]]),
                      encoding="utf-8")  # fmt: skip
    with pytest.raises(MalformedFileError) as error:
        read_dart_accounts(broken)
    assert (error.value.line, error.value.field) == (359, "revenue")
    assert str(broken) in str(error.value) and "line 359" in str(error.value)

    broken.write_text("".join([*lines[:358], lines[358].replace(",20211231,", ",2021-13-31,"), *lines[359:]]),
                      encoding="utf-8")  # fmt: skip
    with pytest.raises(MalformedFileError, match=r"line 359, field 'period_end': '2021-13-31' is not a date"):
        read_dart_accounts(broken)


def test_row_suite_quarantines_bad_rows_with_their_reasons():
    frame = read_dart_accounts(DART_CSV)
    # a stock code that lost its leading zeros (a spreadsheet round trip) and a repeated company-year
    lost_zeros = (pl.col("stock_code") == SAMSUNG) & (pl.col("fiscal_year") == 2021)
    bad = pl.concat([
        frame.with_columns(stock_code=pl.when(lost_zeros).then(pl.lit("5930")).otherwise("stock_code")),
        frame.filter(pl.col("stock_code") == "000660", pl.col("fiscal_year") == 2022),
    ])  # fmt: skip
    split = split_valid_rejected(bad, dart_suite(2026), dart_frame_for_suite)
    assert split.valid.height + split.rejected.height == bad.height == 497
    reasons = dict(zip(split.rejected["source_line"], split.rejected["reason"]))
    assert reasons == {359: "stock_code_is_krx_code", 223: "stock_code_fiscal_year_unique"}
    assert split.rejected.height == 3  # both copies of SK hynix FY2022 (line 223) and Samsung's row
    assert split.outcome.failed_rows_by_rule == {"stock_code_is_krx_code": 1, "stock_code_fiscal_year_unique": 2}


# --------------------------------------------------------------------------- KRX vendor ratios


def test_recorded_vendor_ratios_of_samsung_on_2021_01_08():
    responses = recorded_responses(sample_fixture("krx"))
    assert [r.screen for r in responses] == ["MDCSTAT03501", "MDCSTAT03502"]
    kospi = response_frame(responses[0])
    assert kospi.height == 895 and kospi["trade_date"].unique().to_list() == [date(2021, 1, 8)]
    assert kospi["ticker"].str.len_chars().unique().to_list() == [6]
    samsung = kospi.filter(pl.col("ticker") == SAMSUNG).row(0, named=True)
    assert {k: samsung[k] for k in SAMSUNG_VENDOR_20210108} == SAMSUNG_VENDOR_20210108
    assert (samsung["company_name"], samsung["source_file"]) == ("삼성전자", RECORDED_03501)
    assert kospi["per"].null_count() == 332  # KRX sends "-" (no PER for a loss, or no EPS)
    history = response_frame(responses[1])
    assert history.height == 82 and history["ticker"].unique().to_list() == [SAMSUNG]


def test_raw_store_wins_and_conflicting_rows_are_quarantined(tmp_path):
    recorded = recorded_responses(sample_fixture("krx"))[0]
    body = json.loads(recorded.read())
    store = RawResponseStore(tmp_path, "krx")
    key = raw_key("MDCSTAT03501", {"mktId": "STK", "trdDd": "20210108"})
    store.put(key, json.dumps(body).encode())
    same = [response_frame(r) for r in [*raw_store_responses(store), recorded]]
    kept = one_row_per_key(pl.concat(same), {f"raw_store:krx/{key}"})
    assert (kept.kept.height, kept.duplicates, kept.conflicts.height) == (895, 895, 0)
    assert kept.kept["source_file"].unique().to_list() == [f"raw_store:krx/{key}"]

    for row in body["output"]:
        if row["ISU_SRT_CD"] == SAMSUNG:
            row["PER"] = "28.06"  # KRX revised the day (as if): the stored fetch wins, the recording is quarantined
    store.put(key, json.dumps(body).encode())
    changed = [response_frame(r) for r in [*raw_store_responses(store), recorded]]
    kept = one_row_per_key(pl.concat(changed), {f"raw_store:krx/{key}"})
    assert (kept.kept.height, kept.duplicates, kept.conflicts.height) == (895, 894, 1)
    conflict = kept.conflicts.row(0, named=True)
    assert (conflict["ticker"], conflict["per"], conflict["source_file"]) == (SAMSUNG, 28.05, RECORDED_03501)
    assert conflict["reason"] == f"conflicts_with: raw_store:krx/{key}"
    assert kept.kept.filter(pl.col("ticker") == SAMSUNG)["per"].to_list() == [28.06]


# --------------------------------------------------------------------------- the assets


def _materialize(settings, *assets):
    from dagster import DagsterInstance, materialize

    with DagsterInstance.ephemeral() as instance:
        result = materialize(list(assets), resources=resources_for(settings), instance=instance)
    assert result.success
    return result


def _read(path: Path, sql: str) -> pl.DataFrame:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.sql(sql).pl()


@pytest.mark.integration
def test_asset_loads_the_file_and_a_rerun_leaves_identical_rows(tmp_path):
    from pipelines.defs.fundamentals.dart import dart_key_accounts

    settings = test_settings(tmp_path)
    first = _materialize(settings, dart_key_accounts)
    rows_sql = "select * exclude (loaded_at) from raw.dart_key_accounts order by stock_code, fiscal_year"
    before = _read(settings.warehouse_path, rows_sql)
    second = _materialize(settings, dart_key_accounts)
    assert _read(settings.warehouse_path, rows_sql).equals(before)
    for result in (first, second):
        metadata = result.asset_materializations_for_node("raw__dart_key_accounts")[0].metadata
        assert (metadata["input_rows"].value, metadata["loaded_rows"].value, metadata["rejected_rows"].value) == (496, 496, 0)
        assert [c.passed for c in result.get_asset_check_evaluations()] == [True]
    assert before.height == 496 and before.schema["stock_code"] == pl.String
    samsung = before.filter(pl.col("stock_code") == SAMSUNG, pl.col("fiscal_year") == 2021).row(0, named=True)
    assert {k: samsung[k] for k in SAMSUNG_FY2021} == SAMSUNG_FY2021


@pytest.mark.integration
def test_asset_quarantines_a_bad_row_and_counts_it(tmp_path):
    from pipelines.defs.fundamentals.dart import dart_key_accounts

    lines = DART_CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    bad = tmp_path / "dart.csv"
    # Samsung FY2021 with equity above assets (assets 426,621,158,000,000 -> 1,000)
    bad.write_text("".join([*lines[:358], lines[358].replace(",426621158000000,", ",1000,"), *lines[359:]]),
                   encoding="utf-8")  # fmt: skip
    settings = test_settings(tmp_path, dart_accounts_csv=bad)
    result = _materialize(settings, dart_key_accounts)
    rejected = _read(settings.warehouse_path, "select stock_code, fiscal_year, source_line, reason from raw.rejected_dart_key_accounts")
    assert rejected.rows() == [(SAMSUNG, 2021, 359, "total_equity_le_total_assets")]
    assert _read(settings.warehouse_path, "select count(*) as n from raw.dart_key_accounts")["n"][0] == 495
    assert [c.passed for c in result.get_asset_check_evaluations()] == [True]  # 496 = 495 + 1


# --------------------------------------------------------------------------- dbt on a small warehouse


@pytest.fixture(scope="module")
def korean_warehouse(built_warehouse) -> Path:
    """The session build: both price feeds, the KRX cut holding every DART company
    (tests/data_files.krx_cut), the DART and KRX valuation assets and every dbt model (the model's
    dbt unit test runs in tests/test_dbt_unit_tests.py)."""
    return built_warehouse.warehouse_path


def _valuation(path: Path, ticker: str, day: str) -> dict:
    rows = _read(
        path, f"select * from marts.fct_daily_valuation where ticker = '{ticker}' and trade_date = date '{day}'"
    ).to_dicts()
    assert len(rows) == 1, (ticker, day, rows)
    return rows[0]


@pytest.mark.integration
def test_point_in_time_switches_to_fy2021_on_2022_03_31(korean_warehouse):
    before = _valuation(korean_warehouse, SAMSUNG, "2022-03-30")
    after = _valuation(korean_warehouse, SAMSUNG, "2022-03-31")  # 2021-12-31 + 90 days
    assert (before["fiscal_year"], str(before["knowledge_date"])) == (2020, "2021-03-31")
    assert (after["fiscal_year"], str(after["knowledge_date"])) == (2021, "2022-03-31")
    assert before["eps"] == SAMSUNG_FY2020["eps_basic"] and after["eps"] == SAMSUNG_FY2021["eps_basic"]
    assert before["fundamentals_source"] == after["fundamentals_source"] == "dart_annual"
    assert before["cik"] is None and after["corp_code"] == "00126380"


@pytest.mark.integration
def test_samsung_per_pbr_roe_and_growth_by_hand(korean_warehouse):
    row = _valuation(korean_warehouse, SAMSUNG, "2022-03-31")
    fy, prior, close = SAMSUNG_FY2021, SAMSUNG_FY2020, SAMSUNG_CLOSE["2022-03-31"]
    shares = fy["net_income_owners"] / fy["eps_basic"]  # 6,793,109,053 weighted-average shares
    assert row["close"] == close
    assert row["pe_ratio"] == pytest.approx(close / 5_777, rel=1e-12)  # 12.05
    assert row["shares_outstanding"] == pytest.approx(shares, rel=1e-12)
    assert row["bps"] == pytest.approx(fy["total_equity"] / shares, rel=1e-12)  # 44,884 KRW
    assert row["pb_ratio"] == pytest.approx(close * shares / fy["total_equity"], rel=1e-12)  # 1.55
    assert row["market_cap"] == pytest.approx(close * shares, rel=1e-12)  # 472.8 trillion KRW
    assert row["roe"] == pytest.approx(fy["net_income_owners"] / ((fy["total_equity"] + prior["total_equity"]) / 2))
    assert row["revenue_growth_yoy"] == pytest.approx(fy["revenue"] / prior["revenue"] - 1)  # +18.1 %
    assert 12.04 < row["pe_ratio"] < 12.05 and 1.55 < row["pb_ratio"] < 1.56 and 0.135 < row["roe"] < 0.136
    day_before = _valuation(korean_warehouse, SAMSUNG, "2022-03-30")
    assert day_before["pe_ratio"] == pytest.approx(SAMSUNG_CLOSE["2022-03-30"] / 3_841, rel=1e-12)  # 18.20


@pytest.mark.integration
def test_vendor_ratios_of_2021_01_08_and_our_per_that_day(korean_warehouse):
    vendor = _read(
        korean_warehouse, f"select * from marts.fct_krx_vendor_valuation where ticker = '{SAMSUNG}' order by trade_date"
    )
    assert vendor.height == 83  # 82 days of 2020 (screen 03502) + 2021-01-08 (03501)
    row = vendor.row(-1, named=True)
    assert (str(row["trade_date"]), row["valid_to"], row["ratio_source"]) == ("2021-01-08", None, "krx_vendor")
    assert (row["per"], row["pbr"], row["eps"], row["bps"], row["dps"], row["close"]) == (28.05, 2.37, 3166, 37528, 1416, 88800)
    assert row["dividend_yield"] == pytest.approx(0.0159)
    ours = _valuation(korean_warehouse, SAMSUNG, "2021-01-08")
    # the same FY2019 EPS (3,166) on both sides: our PER rounds to KRX's
    assert ours["fiscal_year"] == 2019 and ours["eps"] == SAMSUNG_FY2019["eps_basic"] == row["eps"]
    assert round(ours["pe_ratio"], 2) == row["per"] == round(88_800 / 3_166, 2)
    # our BPS uses total equity (non-controlling interests included): above KRX's owners' BPS
    assert ours["bps"] == pytest.approx(SAMSUNG_FY2019["total_equity"] / (SAMSUNG_FY2019["net_income_owners"] / 3_166))
    assert 1.0 < ours["bps"] / row["bps"] < 1.04
    # KRX kept FY2018 EPS (6,461) until at least 2020-04-29; our 90-day rule uses FY2019 from 2020-03-30
    assert vendor.filter(pl.col("trade_date") == date(2020, 4, 29))["eps"].to_list() == [6461]
    assert _valuation(korean_warehouse, SAMSUNG, "2020-03-30")["fiscal_year"] == 2019
    assert _valuation(korean_warehouse, SAMSUNG, "2020-03-27")["fiscal_year"] == 2018


@pytest.mark.integration
def test_missing_inputs_give_null_ratios_with_reasons(korean_warehouse):
    lg = _valuation(korean_warehouse, "003550", "2022-03-31")
    assert lg["pe_ratio"] is None and lg["pe_ratio_null_reason"] == "no basic EPS in the DART file"
    assert lg["pb_ratio"] is None and lg["pb_ratio_null_reason"] == "no basic EPS in the DART file"
    assert lg["roe"] is not None  # net income to owners and equity are there
    zinc = _valuation(korean_warehouse, "010130", "2022-03-31")  # EPS 45,648, no net income to owners
    assert zinc["pe_ratio"] == pytest.approx(zinc["close"] / 45_648)
    assert zinc["pb_ratio_null_reason"] == "no net income to owners in the DART file"
    assert zinc["market_cap"] is None
    shipbuilding = _valuation(korean_warehouse, "009540", "2018-03-30")  # FY2016: EPS -718, owners +545 bn
    assert shipbuilding["pb_ratio_null_reason"] == "net income to owners and basic EPS have opposite signs"
    assert shipbuilding["pe_ratio_null_reason"] == "basic EPS is not positive"
    first_day = _read(
        korean_warehouse,
        "select min(trade_date) as d from marts.fct_daily_valuation where fundamentals_source = 'dart_annual'",
    )["d"][0]
    assert first_day == date(2018, 1, 2)  # FY2016 known from 2017-03-31
    assert _read(korean_warehouse, "select count(*) as n from marts.fct_daily_valuation where knowledge_date > trade_date")["n"][0] == 0

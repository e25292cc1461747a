"""Missing reference data degrades, never blocks; tickers are normalised to one spelling.

A full build of files cut at test time from the real bundled data: the 5-ticker price file
plus Berkshire's real rows written ``brk-b`` and JPM's written ``jpm``, against the real
constituents and vendor fundamentals files without their AAPL row.
"""

from __future__ import annotations

import duckdb
import polars as pl
import pytest
from dagster import AssetCheckSeverity, DagsterInstance

from domain.settings import BUNDLED_CONSTITUENTS_CSV, BUNDLED_FINANCIALS_CSV, BUNDLED_PRICES_CSV
from domain.tickers import normalize_ticker
from pipelines.build import run_build
from tests.conftest import test_settings
from tests.data_files import sample_fixture

FIVE_TICKERS = sample_fixture("sp500_5tickers_2017-01_2018-02.csv")


@pytest.mark.parametrize(
    ("spelled", "stored"),
    [("brk-b", "BRK.B"), (" BRK/B ", "BRK.B"), ("brk.b", "BRK.B"), ("bf b", "BF.B"), ("aapl", "AAPL"),
     ("005930", "005930"), ("BTCUSDT", "BTCUSDT"), ("BRK-ABC", "BRK-ABC")],
)  # fmt: skip
def test_ticker_spellings(spelled, stored):
    assert normalize_ticker(spelled) == stored


@pytest.mark.integration
def test_a_ticker_without_company_rows_still_gets_prices_indicators_and_a_screener_row(tmp_path):
    five = pl.read_csv(FIVE_TICKERS, infer_schema=False)
    berkshire = (
        pl.read_csv(BUNDLED_PRICES_CSV, infer_schema=False)
        .filter((pl.col("Name") == "BRK.B") & (pl.col("date") >= five["date"].min()))
        .with_columns(Name=pl.lit("brk-b"))
    )
    prices = tmp_path / "prices.csv"
    five.with_columns(Name=pl.when(pl.col("Name") == "JPM").then(pl.lit("jpm")).otherwise(pl.col("Name"))).vstack(
        berkshire.select(five.columns)
    ).write_csv(prices)
    without_aapl = {}
    for name, path in (("constituents", BUNDLED_CONSTITUENTS_CSV), ("financials", BUNDLED_FINANCIALS_CSV)):
        without_aapl[name] = tmp_path / path.name
        pl.read_csv(path, infer_schema=False).filter(pl.col("Symbol") != "AAPL").write_csv(without_aapl[name])
    settings = test_settings(
        tmp_path, prices_csv=prices, constituents_csv=without_aapl["constituents"],
        financials_csv=without_aapl["financials"],
    )  # fmt: skip
    with DagsterInstance.ephemeral() as instance:
        result = run_build(settings, instance=instance)
        assert result.success, result.errors
        checks = {
            e.check_name: e
            for record in instance.all_logs(result.build_run_id)
            if record.dagster_event and (e := record.dagster_event.event_specific_data) and hasattr(e, "check_name")
        }
    check = checks["companies_without_reference_data"]
    assert not check.passed and check.severity == AssetCheckSeverity.WARN
    assert check.metadata["tickers"].value == "AAPL"

    with duckdb.connect(str(settings.snapshot_path), read_only=True) as con:
        companies = con.execute(
            "select ticker, company_name, sector, company_attributes_source from marts.dim_companies order by ticker"
        ).fetchall()
        screener = dict(con.execute("select ticker, rsi_14 from marts.mart_screener_latest").fetchall())
        aapl_bars = con.execute("select count(*) from marts.fct_daily_indicators where ticker = 'AAPL'").fetchone()[0]
    assert companies == [
        ("AAPL", "Unknown", "Unknown", "unknown"),
        ("AMZN", "Amazon.com Inc.", "Consumer Discretionary", "constituents"),
        ("BRK.B", "Berkshire Hathaway", "Financials", "constituents"),
        ("JPM", "JPMorgan Chase & Co.", "Financials", "constituents"),
        ("MSFT", "Microsoft Corp.", "Information Technology", "constituents"),
        ("XOM", "Exxon Mobil Corp.", "Energy", "constituents"),
    ]
    assert sorted(screener) == ["AAPL", "AMZN", "BRK.B", "JPM", "MSFT", "XOM"]
    assert screener["AAPL"] is not None and aapl_bars == 277

"""The dbt marts match their documented definitions on the built warehouse.

Screener flags are recomputed in pandas from ``marts.fct_daily_indicators`` and
the raw tables; vendor quirks (dividend yield in percent, swapped 52-week
low/high) must be fixed; layers land in the schemas staging / intermediate /
marts. The session build holds the US file and a cut of the KRX file
(``tests/data_files.py``): the KRX rows are checked where a definition covers
them (latest traded bar and halts, DART and KRX vendor fundamentals, split bases).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from tests.data_files import sample_file


@pytest.fixture(scope="module")
def con(warehouse_con):
    return warehouse_con


@pytest.fixture(scope="module")
def screener(con) -> pd.DataFrame:
    return con.sql("select * from marts.mart_screener_latest").df().set_index("ticker").sort_index()


@pytest.fixture(scope="module")
def indicators(con) -> pd.DataFrame:
    return con.sql(
        """
        select ticker, trade_date, bar_number, high, close, sma_50, sma_200, sma_50_crossed_above_sma_200
        from marts.fct_daily_indicators
        order by ticker, trade_date
        """
    ).df()


def _flag(values: pd.Series) -> list:
    """Booleans with SQL NULL (None/NA/NaN) kept as None, for comparisons."""
    return [None if pd.isna(v) else bool(v) for v in values]


def _sql_gt(left: pd.Series, right: pd.Series) -> list:
    """left > right with SQL three-valued logic (None when either side is NULL)."""
    return [None if pd.isna(a) or pd.isna(b) else bool(a > b) for a, b in zip(left, right)]


def test_layers_land_in_their_schemas(con):
    relations = set(
        con.sql(
            """
            select table_schema || '.' || table_name
            from information_schema.tables
            where table_schema in ('staging', 'intermediate', 'marts')
            """
        ).fetchall()
    )
    relations = {name for (name,) in relations}
    assert {
        "staging.stg_prices__daily",
        "staging.stg_companies__constituents",
        "staging.stg_companies__financials",
        "intermediate.int_prices_daily_numbered",
        "intermediate.int_price_rebuild_starts",
        "intermediate.int_daily_recursive_indicators",
        "marts.fct_daily_indicators",
        "marts.dim_companies",
        "marts.mart_screener_latest",
    } <= relations


def test_screener_one_row_per_ticker_on_its_latest_date(con, screener):
    """Each ticker on its last traded bar (a KRX halt row is no bar); halted when rows after it
    are halts, since the first of them."""
    latest = con.sql(
        """
        select ticker,
               max(trade_date) filter (where not is_halted) as trade_date,
               min(trade_date) filter (
                   where is_halted and trade_date > (select max(p.trade_date) from raw.prices_daily as p
                                                     where p.ticker = r.ticker and not p.is_halted)
               ) as halted_since
        from raw.prices_daily as r
        group by ticker
        having count(*) filter (where not is_halted) > 0
        """
    ).df()
    latest = latest.set_index("ticker").sort_index()
    assert screener.index.is_unique
    assert list(screener.index) == list(latest.index)
    mismatched = screener.index[pd.to_datetime(screener["trade_date"]) != pd.to_datetime(latest["trade_date"])]
    assert mismatched.empty, f"screener not on the latest trade date for {list(mismatched[:5])}"
    assert _flag(screener["is_halted"]) == list(latest["halted_since"].notna())
    halted = screener[screener["is_halted"].astype(bool)]
    expected_since = latest.loc[halted.index, "halted_since"]
    assert list(pd.to_datetime(halted["halted_since"])) == list(pd.to_datetime(expected_since))
    # Sindoh Electric (007610): last traded 2022-03-21, halted from 2022-03-22 to the file's end
    sindoh = screener.loc["007610"]
    assert (pd.Timestamp(sindoh["trade_date"]), pd.Timestamp(sindoh["halted_since"])) == (
        pd.Timestamp("2022-03-21"), pd.Timestamp("2022-03-22"))  # fmt: skip
    samsung = screener.loc["005930"]
    assert not samsung["is_halted"] and pd.Timestamp(samsung["trade_date"]) == pd.Timestamp("2022-05-16")
    assert set(screener.loc[screener["market"] == "US", "is_halted"]) == {False}


def test_screener_indicators_equal_the_fact_row(con, screener):
    fact = con.sql(
        """
        select f.*
        from marts.fct_daily_indicators as f
        inner join marts.mart_screener_latest as s
            on f.ticker = s.ticker and f.trade_date = s.trade_date
        """
    ).df().set_index("ticker").sort_index()
    assert len(fact) == len(screener)
    for column in fact.columns.drop("computed_at"):  # the row's stamp: not a screener column
        pd.testing.assert_series_equal(screener[column], fact[column], check_names=False, obj=column)


def test_crossover_flag_matches_definition(indicators):
    by_ticker = indicators.groupby("ticker", sort=False)
    prev_50 = by_ticker["sma_50"].shift(1)
    prev_200 = by_ticker["sma_200"].shift(1)
    expected = (indicators["sma_50"] > indicators["sma_200"]) & (prev_50 <= prev_200)  # NaN compares False
    actual = indicators["sma_50_crossed_above_sma_200"].astype(bool)
    bad = indicators[actual != expected]
    assert bad.empty, bad[["ticker", "trade_date", "sma_50", "sma_200"]].head().to_string()
    assert expected.sum() > 0, "no golden cross at all in the data: the check would be vacuous"


def test_golden_cross_20d_recomputed_from_fact(indicators, screener):
    crossed = indicators["sma_50_crossed_above_sma_200"].astype(bool)
    last_20 = indicators.assign(crossed=crossed).groupby("ticker").tail(20)
    expected = last_20.groupby("ticker")["crossed"].any().sort_index()
    actual = screener["golden_cross_20d"].astype(bool)
    diff = expected.index[expected != actual]
    assert diff.empty, f"golden_cross_20d differs for {list(diff[:10])}"
    assert expected.any() and not expected.all(), "golden_cross_20d should be true for some tickers only"


def test_screener_flags_match_definitions(screener):
    s = screener
    assert _flag(s["above_sma_50"]) == _sql_gt(s["adjusted_close"], s["sma_50"])
    assert _flag(s["above_sma_200"]) == _sql_gt(s["adjusted_close"], s["sma_200"])
    assert _flag(s["rsi_overbought"]) == _sql_gt(s["rsi_14"], pd.Series(70.0, index=s.index))
    assert _flag(s["rsi_oversold"]) == _sql_gt(pd.Series(30.0, index=s.index), s["rsi_14"])
    expected_new_high = [
        None if pd.isna(hh) else bool(h == hh) for h, hh in zip(s["adjusted_high"], s["high_52w"])
    ]
    assert _flag(s["new_high_52w"]) == expected_new_high

    pct = s["pct_from_high_52w"]
    expected_pct = s["adjusted_close"] / s["high_52w"] - 1
    assert pct.isna().equals(s["high_52w"].isna())
    np.testing.assert_allclose(pct.dropna(), expected_pct.dropna(), rtol=0, atol=1e-12)
    assert (pct.dropna() <= 0).all()
    # the data set holds both kinds of tickers, so the flags are not constant
    assert s["above_sma_200"].dropna().astype(bool).nunique() == 2


def test_short_history_ticker_flags_are_null(screener):
    aptv = screener.loc["APTV"]  # 44 bars only
    assert aptv["bar_number"] == 43
    assert pd.isna(aptv["sma_50"]) and pd.isna(aptv["above_sma_50"]) and pd.isna(aptv["high_52w"])
    assert pd.notna(aptv["rsi_14"]) and pd.notna(aptv["macd"])


def test_dividend_yield_is_a_fraction(con, screener):
    raw = con.sql("select ticker, dividend_yield_pct from raw.company_financials").df().set_index("ticker")
    assert screener.loc["MMM", "dividend_yield"] == pytest.approx(0.023328617, abs=1e-9)
    assert screener.loc["MMM", "dividend_yield"] == pytest.approx(raw.loc["MMM", "dividend_yield_pct"] / 100)
    us = screener[screener["market"] == "US"]
    joined = us[["dividend_yield"]].join(raw)
    np.testing.assert_allclose(joined["dividend_yield"], joined["dividend_yield_pct"] / 100, rtol=1e-12)
    assert joined["dividend_yield"].between(0, 1).all()
    # the US financials file is its only source: no KRX ticker gets one
    assert screener.loc[screener["market"] != "US", "dividend_yield"].isna().all()


def test_52_week_low_high_are_unswapped(con):
    fin = con.sql(
        """
        select s.ticker, s.week_52_low, s.week_52_high,
               r.week_52_low_as_published, r.week_52_high_as_published
        from staging.stg_companies__financials as s
        inner join raw.company_financials as r using (ticker)
        """
    ).df().set_index("ticker")
    assert (fin["week_52_low"] <= fin["week_52_high"]).all()
    # the vendor swapped the columns in every row of this snapshot
    assert (fin["week_52_low"] == fin["week_52_high_as_published"]).all()
    assert (fin["week_52_high"] == fin["week_52_low_as_published"]).all()
    assert fin.loc["AAPL", "week_52_low"] == 131.12
    assert fin.loc["AAPL", "week_52_high"] == 180.1
    # ... and agrees with the 52-week range computed from prices on the day before the snapshot
    computed = con.sql(
        "select low_52w, high_52w from marts.mart_screener_latest where ticker = 'AAPL'"
    ).fetchall()[0]
    assert computed == (131.12, 180.1)


def test_fundamentals_pass_through(con, screener):
    """Vendor columns carry the vendor's figures: the financials file for US tickers, KRX's own
    published ratios (marts.fct_krx_vendor_valuation, the latest on or before the row's date) for
    KRX ones. The main columns take the point-in-time valuation row of the latest day where the
    company has SEC filings or DART annual accounts, else the US vendor snapshot."""
    us = screener[screener["market"] == "US"]
    krx = screener[screener["market"] != "US"]
    assert len(us) == 505 and set(krx["market"]) == {"KOSPI", "KOSDAQ"}
    raw = con.sql(
        """
        select ticker, market_cap, price_earnings as pe_ratio, price_book as pb_ratio,
               earnings_per_share as eps
        from raw.company_financials
        """
    ).df().set_index("ticker").add_suffix("_raw")
    columns = ["market_cap", "pe_ratio", "pb_ratio", "eps"]
    vendor = us[[f"vendor_{c}" for c in columns]].rename(columns=lambda c: c.removeprefix("vendor_"))
    joined = vendor.join(raw)
    for column in columns:
        pd.testing.assert_series_equal(joined[column], joined[f"{column}_raw"], check_names=False, obj=column)
    assert set(us["vendor_source"]) == {"vendor_snapshot"}
    assert us["vendor_pe_ratio"].isna().sum() == 2
    assert us["vendor_pb_ratio"].isna().sum() == 8

    krx_vendor = con.sql(
        """
        select s.ticker, v.per as pe_ratio, v.pbr as pb_ratio, v.eps, v.trade_date as ratio_date
        from marts.mart_screener_latest as s
        inner join marts.fct_krx_vendor_valuation as v
            on v.ticker = s.ticker
            and v.trade_date = (select max(w.trade_date) from marts.fct_krx_vendor_valuation as w
                                where w.ticker = s.ticker and w.trade_date <= s.trade_date)
        """
    ).df().set_index("ticker").sort_index()
    from_krx = krx[krx["vendor_source"] == "krx_vendor"].sort_index()
    assert list(from_krx.index) == list(krx_vendor.index) and len(from_krx) > 30
    for column in ["pe_ratio", "pb_ratio", "eps"]:
        pd.testing.assert_series_equal(from_krx[f"vendor_{column}"], krx_vendor[column], check_names=False, obj=column)
    assert list(pd.to_datetime(from_krx["vendor_ratio_date"])) == list(pd.to_datetime(krx_vendor["ratio_date"]))
    without = krx[krx["vendor_source"].isna()]
    assert without[[f"vendor_{c}" for c in columns]].isna().all().all()
    assert krx["vendor_market_cap"].isna().all()  # the US file's column: no KRX ticker has one

    from_filings = screener[screener["valuation_source"] == "sec_filings"]
    assert sorted(from_filings.index) == ["AAPL", "GOOG", "GOOGL", "NVDA"]  # the bundled SEC companies
    dart = screener[screener["valuation_source"] == "dart_annual"]
    dart_file = pl.read_csv(sample_file("dart/dart_key_accounts_annual.csv"), schema_overrides={"stock_code": pl.Utf8})
    assert set(dart.index) == set(dart_file["stock_code"]) and len(dart) == 43  # the bundled DART companies
    rest = screener[screener["valuation_source"] == "vendor_snapshot"]
    assert len(rest) == len(us) - 4 and set(rest["market"]) == {"US"}
    for column in columns:
        pd.testing.assert_series_equal(rest[column], rest[f"vendor_{column}"], check_names=False, obj=column)
    # KRX tickers without DART accounts: no fundamentals at all (none made up from the vendor)
    no_fundamentals = krx[krx["valuation_source"].isna()]
    assert len(no_fundamentals) == len(krx) - 43
    assert no_fundamentals[[*columns, "roe", "fundamentals_as_of_date"]].isna().all().all()

    valuation = con.sql(
        """
        select v.ticker, v.market_cap, v.pe_ratio, v.pb_ratio, v.eps, v.roe, v.bps,
               v.knowledge_date as fundamentals_as_of_date, v.fiscal_year as fundamentals_fiscal_year,
               v.ttm_eps_diluted, v.fundamentals_source
        from marts.fct_daily_valuation as v
        inner join marts.mart_screener_latest as s on s.ticker = v.ticker and s.trade_date = v.trade_date
        """
    ).df().set_index("ticker").sort_index()
    point_in_time = pd.concat([from_filings, dart]).sort_index()
    assert list(point_in_time.index) == list(valuation.index)
    for column in [*columns, "roe", "bps"]:
        pd.testing.assert_series_equal(point_in_time[column], valuation[column], check_names=False, obj=column)
    for column in ["fundamentals_as_of_date", "fundamentals_fiscal_year"]:
        assert list(point_in_time[column].astype(object)) == list(valuation[column].astype(object)), column
    sec = valuation[valuation["fundamentals_source"] == "sec_companyfacts"]
    pd.testing.assert_series_equal(sec["eps"], sec["ttm_eps_diluted"], check_names=False)  # eps = TTM diluted EPS
    # Samsung Electronics on 2022-05-16: close 66,300 KRW (the KRX file), FY2021 DART accounts
    # (available from 2022-03-31): basic EPS 5,777 KRW, so P/E = 66,300 / 5,777
    samsung = screener.loc["005930"]
    assert samsung["valuation_source"] == "dart_annual"
    assert (samsung["fundamentals_fiscal_year"], samsung["eps"]) == (2021, 5_777)
    assert samsung["close"] == 66_300 and samsung["pe_ratio"] == pytest.approx(66_300 / 5_777, rel=1e-12)
    assert pd.Timestamp(samsung["fundamentals_as_of_date"]) == pd.Timestamp("2022-03-31")
    # Apple's market cap from filings (close x cover-page shares) equals the vendor's to the dollar
    assert from_filings.loc["AAPL", "market_cap"] == pytest.approx(screener.loc["AAPL", "vendor_market_cap"])
    assert rest["roe"].isna().all()
    assert us["market_cap"].notna().all()


def test_dim_companies_covers_the_price_universe(con):
    dim = con.sql("select * from marts.dim_companies").df().set_index("ticker")
    # every ticker with a traded bar (a ticker with halt rows only, such as KRX 050320, has no bar)
    tickers = {t for (t,) in con.sql("select distinct ticker from raw.prices_daily where not is_halted").fetchall()}
    assert dim.index.is_unique and set(dim.index) == tickers
    assert dim["company_name"].notna().all() and dim["sector"].notna().all()
    # tickers renamed or dropped before the 2018-04-02 constituents list fall back to the vendor snapshot
    assert dim.loc["PCLN", "company_attributes_source"] == "financials_snapshot"
    assert dim.loc["PCLN", "company_name"] == "Priceline.com Inc"
    assert dim.loc["AAPL", "company_attributes_source"] == "constituents"
    assert dim.loc["APTV", "trading_days"] == 44
    # KRX tickers: the market of their bars, the listing date of the KRX listing file
    assert set(dim["market"]) == {"US", "KOSPI", "KOSDAQ"}
    samsung, kakao_games = dim.loc["005930"], dim.loc["293490"]
    assert (samsung["market"], pd.Timestamp(samsung["listing_date"])) == ("KOSPI", pd.Timestamp("1975-06-11"))
    assert (kakao_games["market"], pd.Timestamp(kakao_games["listing_date"])) == ("KOSDAQ", pd.Timestamp("2020-09-10"))
    assert dim.loc["AAPL", "market"] == "US" and pd.isna(dim.loc["AAPL", "listing_date"])


def test_bundled_build_has_no_corporate_actions_and_adjusted_equals_loaded(con):
    """Bundled data only: raw.corporate_actions exists and is empty, every row's split basis is
    its file's last day (US 2018-02-07, KRX 2022-05-16), and the adjusted bars the indicators
    use are the loaded ones, exactly (every traded bar: KRX halt rows are no bars)."""
    assert con.sql("select count(*) from raw.corporate_actions").fetchall() == [(0,)]
    bases = con.sql(
        """
        select market = 'US' as us, split_basis_date, count(*), count(*) filter (where not is_halted)
        from raw.prices_daily group by all order by all
        """
    ).fetchall()
    assert [(us, str(day)) for us, day, _, _ in bases] == [(False, "2022-05-16"), (True, "2018-02-07")]
    (_, _, _, krx_bars), (_, _, us_rows, us_bars) = bases
    assert us_rows == us_bars == 619_017 and krx_bars > 40_000
    counts = con.sql(
        """
        select market = 'US' as us, count(*), count(*) filter (
            where adjusted_open = open and adjusted_high = high and adjusted_low = low
              and adjusted_close = close and adjusted_volume = volume
              and split_factor = 1 and dividend_factor = 1)
        from marts.fct_daily_indicators
        group by all order by all
        """
    ).fetchall()
    assert counts == [(False, krx_bars, krx_bars), (True, 619_017, 619_017)]

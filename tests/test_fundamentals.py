"""Point-in-time fundamentals from the bundled SEC companyfacts files (real filings), and for the
KRX tickers of the session build the DART annual accounts (in depth: tests/test_dart_fundamentals.py).

Every expected value below was read from the filings in
``data/sample/sec/companyfacts_CIK*.json.gz`` (concept, period end and accession number
given next to it), not from our own output. Prices are the bundled S&P 500 file, which
is split-adjusted as of 2018-02-07 (Apple's 7-for-1 split of 2014-06-09 applied).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

# Apple (CIK 0000320193), EarningsPerShareDiluted, the four quarters known on 2013-06-03
# (as filed; Apple's 7-for-1 split came later, in June 2014):
APPLE_EPS_QUARTERS_2013_06_03 = {
    "2012-06-30": (9.32, "0001193125-12-444068"),  # 10-K FY2012 (first in 10-Q 0001193125-12-314552)
    "2012-09-29": (8.67, "0001193125-12-444068"),  # 10-K FY2012
    "2012-12-29": (13.81, "0001193125-13-022339"),  # 10-Q Q1 FY2013
    "2013-03-30": (10.09, "0001193125-13-168288"),  # 10-Q Q2 FY2013, filed 2013-04-24
}
APPLE_SPLIT_2014 = 7.0
APPLE_CLOSE_2013_06_03 = 64.3885  # bundled prices (already on the post-split basis)
# NetIncomeLoss of the same quarters (USD) and StockholdersEquity (USD):
APPLE_NET_INCOME_QUARTERS = [8_824e6, 8_223e6, 13_078e6, 9_547e6]
APPLE_EQUITY_2013_03_30 = 135_490e6  # 0001193125-13-168288
APPLE_EQUITY_2012_03_31 = 102_498e6  # 10-Q Q2 FY2012

# NVIDIA (CIK 0001045810) on 2016-06-01: known filings up to 10-Q 0001045810-16-000275
# (filed 2016-05-25). Q1 FY2017 (2016-02-01..2016-05-01) was filed as EPS 0.33 and net
# income 196e6, and restated in 10-Q 0001045810-16-000353 (2016-11-22) as 0.35 / 208e6:
# the restatement must not reach back to June 2016.
NVIDIA_EPS_2016_06_01 = [0.33, 0.35, 0.44, 0.05]  # quarters ending 2016-05-01, 2016-01-31, 2015-10-25, 2015-07-26
NVIDIA_NET_INCOME_2016_06_01 = [196e6, 207e6, 247e6, 26e6]  # Q3 FY16 = 247e6 in 10-K 0001045810-16-000205
NVIDIA_EQUITY_2016_05_01 = 4_196e6  # 0001045810-16-000275
NVIDIA_EQUITY_2015_04_26 = 4_556e6  # 0001045810-15-000097
NVIDIA_CLOSE_2016_06_01 = 46.81


@pytest.fixture(scope="module")
def valuation(warehouse_con):
    def row(ticker: str, trade_date: str) -> dict:
        rows = warehouse_con.sql(
            "select * from marts.fct_daily_valuation where ticker = $t and trade_date = cast($d as date)",
            params={"t": ticker, "d": trade_date},
        ).pl().to_dicts()
        assert len(rows) == 1, (ticker, trade_date, rows)
        return rows[0]

    return row


def test_split_events_found_in_filings(warehouse_con):
    splits = warehouse_con.sql(
        "select cik, split_ratio, last_old_basis_filed_date, effective_from"
        " from intermediate.int_sec_split_events order by cik, effective_from"
    ).fetchall()
    found = [(cik, ratio, str(lo), str(hi)) for cik, ratio, lo, hi in splits]
    # real splits: AAPL 7:1 2014-06-09 and 4:1 2020-08-31; NVDA 4:1 2021-07-20 and 10:1 2024-06-10;
    # GOOGL 20:1 2022-07-18. Each lies between the last old-basis and the first new-basis filing.
    assert found == [
        ("0000320193", 7.0, "2014-04-24", "2014-07-23"),
        ("0000320193", 4.0, "2020-07-31", "2020-10-30"),
        ("0001045810", 4.0, "2021-05-26", "2021-08-20"),
        ("0001045810", 10.0, "2024-05-29", "2024-08-28"),
        ("0001652044", 20.0, "2022-04-27", "2022-07-27"),
    ]


def test_apple_per_on_2013_06_03_uses_split_adjusted_eps(valuation):
    row = valuation("AAPL", "2013-06-03")
    expected_ttm = sum(eps for eps, _ in APPLE_EPS_QUARTERS_2013_06_03.values()) / APPLE_SPLIT_2014
    assert row["ttm_eps_diluted"] == pytest.approx(expected_ttm, abs=1e-9)  # 41.89 / 7 = 5.984
    assert row["close"] == pytest.approx(APPLE_CLOSE_2013_06_03)
    assert row["pe_ratio"] == pytest.approx(APPLE_CLOSE_2013_06_03 / expected_ttm, rel=1e-9)
    assert 10.7 < row["pe_ratio"] < 10.8  # not 1.5 (unadjusted EPS against adjusted price)
    for period_end, (_, accession) in APPLE_EPS_QUARTERS_2013_06_03.items():
        assert f"EarningsPerShareDiluted {period_end} {accession}" in row["ttm_eps_fact_refs"]
    assert str(row["knowledge_date"]) == "2013-04-24"


def test_apple_roe_on_2013_06_03(valuation):
    row = valuation("AAPL", "2013-06-03")
    assert row["ttm_net_income"] == pytest.approx(sum(APPLE_NET_INCOME_QUARTERS))
    average_equity = (APPLE_EQUITY_2013_03_30 + APPLE_EQUITY_2012_03_31) / 2
    assert row["average_equity"] == pytest.approx(average_equity)
    assert row["roe"] == pytest.approx(sum(APPLE_NET_INCOME_QUARTERS) / average_equity, rel=1e-12)
    assert row["stockholders_equity_fact_ref"] == "StockholdersEquity 2013-03-30 0001193125-13-168288"


def test_nvidia_ttm_eps_and_roe_are_point_in_time(valuation):
    row = valuation("NVDA", "2016-06-01")
    assert row["ttm_eps_diluted"] == pytest.approx(sum(NVIDIA_EPS_2016_06_01), abs=1e-9)  # 1.17, not 1.19
    assert row["pe_ratio"] == pytest.approx(NVIDIA_CLOSE_2016_06_01 / sum(NVIDIA_EPS_2016_06_01))
    assert row["ttm_net_income"] == pytest.approx(sum(NVIDIA_NET_INCOME_2016_06_01))  # 676e6, not 688e6
    average_equity = (NVIDIA_EQUITY_2016_05_01 + NVIDIA_EQUITY_2015_04_26) / 2
    assert row["roe"] == pytest.approx(sum(NVIDIA_NET_INCOME_2016_06_01) / average_equity, rel=1e-12)
    assert "EarningsPerShareDiluted 2016-05-01 0001045810-16-000275" in row["ttm_eps_fact_refs"]


def test_restatement_is_used_only_after_it_was_filed(warehouse_con):
    """Q1 FY2017 EPS of NVIDIA: 0.33 as filed on 2016-05-25, 0.35 from the 10-Q of 2016-11-22."""
    quarters = warehouse_con.sql(
        """
        select knowledge_date, value from intermediate.int_sec_quarters_asof
        where cik = '0001045810' and metric = 'eps_diluted' and period_end = date '2016-05-01'
        order by knowledge_date
        """
    ).fetchall()
    values = {str(k): v for k, v in quarters}
    assert values["2016-05-25"] == pytest.approx(0.33)
    assert values["2016-08-23"] == pytest.approx(0.33)
    assert values["2016-11-22"] == pytest.approx(0.35)


def test_no_ratio_uses_a_filing_after_its_trade_date(warehouse_con):
    late = warehouse_con.sql(
        "select count(*) from marts.fct_daily_valuation where knowledge_date > trade_date"
    ).fetchall()[0][0]
    assert late == 0
    # every accession number cited on a day was filed on or before that day
    cited_late = warehouse_con.sql(
        """
        with refs as (
            select v.ticker, v.trade_date, unnest(string_split(v.ttm_eps_fact_refs, '; ')) as ref
            from marts.fct_daily_valuation as v
            where v.ttm_eps_fact_refs is not null
        )
        select count(*) from refs
        inner join intermediate.int_sec_fact_versions as f
            on f.accession_number = split_part(refs.ref, ' ', 3) and f.metric = 'eps_diluted'
        where f.valid_from > refs.trade_date
        """
    ).fetchall()[0][0]
    assert cited_late == 0


def test_alphabet_eps_missing_gives_null_per_with_reason(valuation):
    """Alphabet reports diluted EPS per share class only (dimensions): no dimensionless fact."""
    row = valuation("GOOGL", "2016-06-01")
    assert row["pe_ratio"] is None
    assert row["pe_ratio_null_reason"] == "no contiguous TTM diluted EPS in filings"
    assert row["pb_ratio"] is not None


def test_quarterly_fundamentals_first_reported_on_one_split_basis(warehouse_con):
    rows = dict(
        warehouse_con.sql(
            """
            select cast(period_end as varchar), quarter_eps_diluted from marts.fct_quarterly_fundamentals
            where cik = '0001045810' and period_end in (date '2024-04-28', date '2024-07-28', date '2016-05-01')
            """
        ).fetchall()
    )
    # 10-Q of 2024-05-29: 5.98 per share before the 10:1 split of June 2024; 10-Q of 2024-08-28:
    # 0.67 after it. On the prices' basis (2018) both are x4 (2021 split) and the later x10.
    assert rows["2024-04-28"] == pytest.approx(5.98 * 4)
    assert rows["2024-07-28"] == pytest.approx(0.67 * 40)
    assert rows["2016-05-01"] == pytest.approx(0.33)


def test_sec_facts_carry_the_company_ticker(warehouse_con):
    tickers = dict(warehouse_con.sql("select distinct cik, ticker from raw.sec_facts").fetchall())
    # Alphabet has GOOGL and GOOG: the column holds the first, the ticker table both
    assert tickers == {"0000320193": "AAPL", "0001045810": "NVDA", "0001652044": "GOOG", "0001835632": "MRVL"}


# Samsung Electronics (005930), DART annual accounts (data/sample/dart/dart_key_accounts_annual.csv):
# basic EPS 3,166 KRW for FY2019 and 3,841 KRW for FY2020 (fiscal years ending 12-31, taken as
# known 90 days later); closes 83,000 (2021-01-04), 82,200 (2021-03-30) and 81,400 (2021-03-31)
# KRW in the bundled KRX file.
SAMSUNG_EPS = {2019: 3_166, 2020: 3_841}


def test_each_market_has_its_own_fundamentals_source(warehouse_con):
    """SEC filings for US tickers only, DART annual accounts for KRX tickers only."""
    sources = warehouse_con.sql(
        """
        select v.fundamentals_source, list(distinct c.market order by c.market), count(distinct v.ticker)
        from marts.fct_daily_valuation as v
        inner join marts.dim_companies as c on c.ticker = v.ticker
        group by all order by all
        """
    ).fetchall()
    assert sources == [("dart_annual", ["KOSPI"], 43), ("sec_companyfacts", ["US"], 4)]


@pytest.mark.parametrize(
    ("trade_date", "close", "fiscal_year"),
    [("2021-01-04", 83_000, 2019), ("2021-03-30", 82_200, 2019), ("2021-03-31", 81_400, 2020)],
)
def test_samsung_per_uses_the_dart_year_known_on_the_day(valuation, trade_date, close, fiscal_year):
    row = valuation("005930", trade_date)
    assert (row["fundamentals_source"], row["fiscal_year"], row["close"]) == ("dart_annual", fiscal_year, close)
    assert row["eps"] == SAMSUNG_EPS[fiscal_year] and row["ttm_eps_diluted"] is None
    assert row["pe_ratio"] == pytest.approx(close / SAMSUNG_EPS[fiscal_year], rel=1e-12)  # 26.22 on 2021-01-04
    # available 90 days after the fiscal year end: 2020-03-30 (a leap year) for FY2019, 2021-03-31 for FY2020
    assert row["knowledge_date"] == date(fiscal_year, 12, 31) + timedelta(days=90)

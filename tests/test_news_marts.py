"""The news marts on the built warehouse, recomputed independently from the raw tables:
``marts.mart_news_daily`` (ticker x UTC date), ``marts.fct_news_articles`` and the 7-day news
columns of ``marts.mart_screener_latest``; the same values on PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def con(warehouse_con):
    return warehouse_con


@pytest.fixture(scope="module")
def tagged(con) -> pd.DataFrame:
    """Raw article x ticker rows with the UTC date, read without the dbt models."""
    frame = con.sql(
        """
        select t.ticker, a.article_id, a.published_at, a.title, a.sentiment_score
        from raw.news_article_tickers t
        join raw.news_articles a on a.article_id = t.article_id
        """
    ).df()
    frame["news_date"] = pd.to_datetime(frame["published_at"]).dt.date
    return frame


def expected_daily(tagged: pd.DataFrame) -> pd.DataFrame:
    grouped = tagged.groupby(["ticker", "news_date"])["sentiment_score"]
    out = pd.DataFrame(
        {
            "article_count": grouped.size(),
            "positive_count": grouped.agg(lambda s: int((s > 0).sum())),
            "negative_count": grouped.agg(lambda s: int((s < 0).sum())),
            "avg_sentiment": grouped.mean(),
        }
    )
    return out.sort_index()


def test_mart_news_daily_matches_the_raw_rows(con, tagged):
    mart = con.sql("select * from marts.mart_news_daily").df()
    mart["news_date"] = pd.to_datetime(mart["news_date"]).dt.date
    mart = mart.set_index(["ticker", "news_date"]).sort_index()
    expected = expected_daily(tagged)
    assert len(mart) == len(expected) > 5000
    assert list(mart.index) == list(expected.index)
    for column in ("article_count", "positive_count", "negative_count"):
        assert (mart[column].astype(int) == expected[column]).all(), column
    np.testing.assert_allclose(mart["avg_sentiment"], expected["avg_sentiment"], atol=1e-12)


def test_one_real_ticker_day_against_its_raw_rows(con):
    """A (Agilent) on 2018-02-06: three Benzinga partner headlines dated "2/6/2018 0:00" (midnight
    New York = 05:00 UTC), vendor-tagged A although they are about GrubHub, Broadridge and NCR."""
    raw = con.execute(
        """
        select a.title, a.published_at, a.sentiment_score
        from raw.news_article_tickers t join raw.news_articles a using (article_id)
        where t.ticker = 'A' and a.published_at >= ? and a.published_at < ?
        order by a.title
        """,
        [datetime(2018, 2, 6), datetime(2018, 2, 7)],
    ).fetchall()
    assert [r[0] for r in raw] == [
        "What's in the Cards for Broadridge (BR) in Q2 Earnings?",
        "Will Growth in Diner Base Aid GrubHub's (GRUB) Q4 Earnings?",
        "Will NCR Deliver a Positive Surprise This Earnings Season?",
    ]
    assert {r[1] for r in raw} == {datetime(2018, 2, 6, 5, 0)}
    assert [r[2] for r in raw] == [0.0, 0.0, 1.0]  # "Positive" is LM-positive
    row = con.execute(
        "select article_count, positive_count, negative_count, avg_sentiment from marts.mart_news_daily "
        "where ticker = 'A' and news_date = ?",
        [date(2018, 2, 6)],
    ).fetchall()[0]
    assert row[:3] == (3, 1, 0)
    assert row[3] == pytest.approx(1 / 3)


def test_fct_news_articles_is_the_link_table_joined(con, tagged):
    fact = con.sql("select ticker, article_id, title, sentiment_score, published_date from marts.fct_news_articles").df()
    assert len(fact) == len(tagged) == len(fact.drop_duplicates(["ticker", "article_id"]))
    merged = fact.merge(tagged, on=["ticker", "article_id"], suffixes=("", "_raw"), validate="one_to_one")
    assert len(merged) == len(fact)
    assert (merged["title"] == merged["title_raw"]).all()
    assert (pd.to_datetime(merged["published_date"]).dt.date == merged["news_date"]).all()


def expected_window(screener: pd.DataFrame, tagged: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for ticker, trade_date in zip(screener["ticker"], pd.to_datetime(screener["trade_date"]).dt.date, strict=True):
        window = tagged[
            (tagged["ticker"] == ticker)
            & (tagged["news_date"] >= trade_date - timedelta(days=6))
            & (tagged["news_date"] <= trade_date)
        ]
        rows.append((ticker, len(window), window["sentiment_score"].mean() if len(window) else None))
    return pd.DataFrame(rows, columns=["ticker", "news_count_7d", "news_sentiment_7d"]).set_index("ticker")


def test_screener_news_7d_columns(con, tagged):
    screener = con.sql(
        "select ticker, trade_date, news_count_7d, news_sentiment_7d from marts.mart_screener_latest"
    ).df()
    expected = expected_window(screener, tagged)
    got = screener.set_index("ticker").loc[expected.index]
    assert (got["news_count_7d"].astype(int) == expected["news_count_7d"]).all()
    assert got["news_sentiment_7d"].isna().equals(expected["news_sentiment_7d"].isna())
    np.testing.assert_allclose(
        got["news_sentiment_7d"].dropna().astype(float), expected["news_sentiment_7d"].dropna().astype(float), atol=1e-12
    )
    # the bundled headlines reach the last week of the price history for three tickers only
    in_news = got[got["news_count_7d"] > 0]
    assert in_news["news_count_7d"].astype(int).to_dict() == {"A": 3, "ABBV": 1, "ABC": 7}
    assert in_news.loc["ABBV", "news_sentiment_7d"] == -1.0  # "Argus Maintains Buy on AbbVie…": Argus ~ "argue"


def test_postgres_news_marts_equal_duckdb(con, built_postgres_warehouse):
    import psycopg
    from psycopg.types.numeric import FloatLoader

    prefix = built_postgres_warehouse.schema_prefix
    queries = {
        "daily": ("select ticker, news_date, article_count, positive_count, negative_count, avg_sentiment "
                  "from {marts}.mart_news_daily order by ticker, news_date"),
        "screener": "select ticker, news_count_7d, news_sentiment_7d from {marts}.mart_screener_latest order by ticker",
        "facts": "select count(*) as n, count(distinct article_id) as a from {marts}.fct_news_articles",
    }  # fmt: skip
    with psycopg.connect(built_postgres_warehouse.conninfo) as pg:
        pg.adapters.register_loader("numeric", FloatLoader)
        for name, sql in queries.items():
            cur = pg.execute(sql.format(marts=f"{prefix}marts"))
            pg_rows = cur.fetchall()
            duck_rows = con.execute(sql.format(marts="marts")).fetchall()
            pg_rows.sort(key=lambda r: r[:2])  # ticker order differs by collation
            duck_rows.sort(key=lambda r: r[:2])
            assert len(pg_rows) == len(duck_rows), name
            for a, b in zip(pg_rows, duck_rows, strict=True):
                assert a[:-1] == b[:-1], name
                assert (a[-1] is None) == (b[-1] is None) and (a[-1] is None or abs(a[-1] - b[-1]) < 1e-12), name

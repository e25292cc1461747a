"""The news ingest on the bundled real headline files: readers, timezones, quarantine of the 4
broken Benzinga records, ``input = loaded + duplicates + rejected`` per file, deduplication, and
idempotent re-ingestion (DuckDB and PostgreSQL), re-scoring when the scorer changes."""

from __future__ import annotations

import csv
from datetime import datetime

import duckdb
import polars as pl
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from pipelines.defs.companies.assets import companies
from pipelines.defs.news import assets as news_assets
from pipelines.defs.news.assets import news
from pipelines.defs.news.bundled import (
    BENZINGA_PARTNER_CSV,
    BENZINGA_RATINGS_CSV,
    YAHOO_SEARCH_CSV,
    read_benzinga_partner,
    read_benzinga_ratings,
    read_yahoo_search,
)
from pipelines.defs.news.links import article_id, canonical_link
from pipelines.defs.news.sentiment import LoughranMcDonaldScorer, SentimentScore
from tests.conftest import postgres_settings, resources_for, scratch_database, test_settings

RATINGS_URI = "data/sample/news/benzinga_analyst_ratings_processed_sample.csv"
PARTNER_URI = "data/sample/news/benzinga_raw_partner_headlines_sample.csv"
YAHOO_URI = "data/sample/news/yahoo_search_news_2025.csv"
BROKEN = {
    2300: "5714,Sterne Agee Provides Color on Aaron's",
    2301: ",2011-07-20 06:43:00-04:00,AAN",
    3570: "7021,Goldman Sachs Updates on Car Parts",
    3571: ",2011-07-22 07:38:00-04:00,AAP",
}


def _csv_rows(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))[1:]


# ----------------------------------------------------------------------------- readers


def test_ratings_reader_quarantines_the_four_broken_records():
    batch = read_benzinga_ratings()
    assert batch.input_records == len(_csv_rows(BENZINGA_RATINGS_CSV)) == 9993
    assert len(batch.items) == 9989
    assert {b.source_line: b.raw_record for b in batch.broken} == BROKEN
    reasons = {b.source_line: b.reason for b in batch.broken}
    assert reasons[2300].startswith("field_count: 2 fields, the header has 4")
    assert reasons[2301].startswith("field_count: 3 fields, the header has 4")
    # quoted line breaks are legal CSV: the title is kept, whitespace collapsed
    citi = next(i for i in batch.items if i.title.startswith("Citi Downgrades AmerisourceBergen"))
    assert citi.title == "Citi Downgrades AmerisourceBergen to Hold, Slashes PT to $40"
    assert "\\n" in citi.raw_payload  # the raw payload keeps the vendor's line break


def test_other_readers_read_every_record():
    partner, yahoo = read_benzinga_partner(), read_yahoo_search()
    assert (partner.input_records, len(partner.broken)) == (len(_csv_rows(BENZINGA_PARTNER_CSV)), 0) == (500, 0)
    assert (yahoo.input_records, len(yahoo.broken)) == (len(_csv_rows(YAHOO_SEARCH_CSV)), 0) == (92, 0)
    assert all(i.vendor_tickers == ("A",) for i in partner.items)
    carter = yahoo.items[0]
    assert (carter.vendor_id, carter.vendor_tickers, carter.publisher) == (
        "b99aabd6-39b9-31a4-97a5-ac0de9ba9e1f", ("CRI",), "Business Wire",
    )  # fmt: skip


def test_timezones_of_each_file():
    ratings = {i.source_line: i for i in read_benzinga_ratings().items}
    # line 2: "2020-06-05 10:30:00-04:00" (New York summer time)
    assert ratings[2].published_at == datetime(2020, 6, 5, 14, 30)
    # a winter date carries -05:00
    winter = next(i for i in ratings.values() if '-05:00"' in i.raw_payload)
    stated = datetime.fromisoformat(winter.raw_payload.split('"date": "')[1].split('"')[0])
    assert winter.published_at == stated.replace(tzinfo=None) + stated.utcoffset() * -1
    # an evening article in New York falls on the next UTC date
    evening = next(i for i in ratings.values() if i.published_at.hour < 4 and "-04:00" in i.raw_payload)
    local_date = evening.raw_payload.split('"date": "')[1][:10]
    assert evening.published_at.date().isoformat() > local_date
    partner = read_benzinga_partner().items
    # "6/1/2020 0:00" is midnight in New York: 04:00 UTC in summer, 05:00 UTC in winter
    assert partner[0].published_at == datetime(2020, 6, 1, 4, 0)
    assert {i.published_at.hour for i in partner} == {4, 5}
    assert all(i.published_at.minute == 0 for i in partner)
    assert read_yahoo_search().items[0].published_at == datetime(2025, 2, 25, 11, 9)


def test_canonical_links_of_real_urls():
    # the two partner rows with the same URL dedupe to one key; tracking parameters go
    zacks = "http://www.zacks.com/stock/news/409352/pegasystems-pega-to-report-q1-earnings-whats-in-store?cid=CS-BENZ-FT-409352"
    assert canonical_link(zacks) == (
        "https://zacks.com/stock/news/409352/pegasystems-pega-to-report-q1-earnings-whats-in-store?cid=CS-BENZ-FT-409352"
    )
    sa = ("https://seekingalpha.com/article/4311579-wall-street-breakfast-trade-deadline-and-fed-meeting"
          "?utm_source=partner_&utm_medium=referralbenzinga")  # fmt: skip
    assert canonical_link(sa) == "https://seekingalpha.com/article/4311579-wall-street-breakfast-trade-deadline-and-fed-meeting"
    # two DIFFERENT Zacks articles share a promo URL differing only in cid: cid is kept
    promo = "https://www.zacks.com/registration/ultimatetrader/welcome/eoffer/30c3?adid=ZU_CONTENT_SYND&cid=CS-BENZ-FT-{}"
    assert canonical_link(promo.format(21316)) != canonical_link(promo.format(17530))
    # a content id in the query stays
    assert canonical_link("https://talkmarkets.com/content/stock-chart-breakdown-alert-agilent-tech-a?post=251694").endswith(
        "?post=251694"
    )


# ----------------------------------------------------------------------------- the asset


def materialize_news(instance, settings, assets=(news,)):
    return materialize(list(assets), resources=resources_for(settings), instance=instance)


def read_tables(path) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            "articles": con.sql("select * from raw.news_articles order by article_id").pl(),
            "tickers": con.sql("select * from raw.news_article_tickers order by article_id, ticker").pl(),
            "rejected": con.sql("select * from raw.rejected_news order by reject_id").pl(),
        }


def counts_metadata(result) -> dict[str, dict[str, int]]:
    materializations = result.asset_materializations_for_node("news")
    articles = next(m for m in materializations if m.asset_key == AssetKey(["raw", "news_articles"]))
    return articles.metadata["counts_per_input"].value


def check_results(result) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


@pytest.fixture(scope="module")
def first_ingest(tmp_path_factory):
    """A fresh DuckDB warehouse after one run of companies + news; yields (path, result, instance)."""
    directory = tmp_path_factory.mktemp("news_ingest")
    with DagsterInstance.ephemeral() as instance:
        result = materialize_news(instance, test_settings(directory), (companies, news))
        assert result.success
        yield directory / "warehouse.duckdb", result, instance


@pytest.mark.integration
def test_first_ingest_counts_balance_per_file(first_ingest):
    path, result, _ = first_ingest
    counts = counts_metadata(result)
    assert set(counts) == {RATINGS_URI, PARTNER_URI, YAHOO_URI}
    for uri, c in counts.items():
        assert c["input_records"] == c["loaded"] + c["duplicates"] + c["rejected"], uri
    assert counts[RATINGS_URI]["input_records"] == 9993 and counts[RATINGS_URI]["rejected"] == 4
    assert (counts[PARTNER_URI]["loaded"], counts[PARTNER_URI]["duplicates"]) == (498, 2)  # 2 URLs repeat
    assert (counts[YAHOO_URI]["loaded"], counts[YAHOO_URI]["duplicates"]) == (76, 16)  # 76 unique uuids
    tables = read_tables(path)
    per_source = dict(tables["articles"].group_by("source_uri").len().iter_rows())
    assert per_source == {uri: c["loaded"] for uri, c in counts.items()}
    assert check_results(result) == {"rows_pass_expectations": True, "articles_unique": True, "feeds_fetched": True}


@pytest.mark.integration
def test_broken_rows_are_quarantined_with_reason(first_ingest):
    rejected = read_tables(first_ingest[0])["rejected"]
    assert rejected.height == 4
    assert dict(zip(rejected["source_line"], rejected["raw_record"], strict=True)) == BROKEN
    assert set(rejected["source_uri"]) == {RATINGS_URI}
    assert all(r.startswith("field_count: ") for r in rejected["reason"])


@pytest.mark.integration
def test_deduplication_of_real_records(first_ingest):
    tables = read_tables(first_ingest[0])
    articles, tickers = tables["articles"], tables["tickers"]
    # ratings rows have no link: one article per distinct (headline, instant)
    keys = {(" ".join(r[1].split()), datetime.fromisoformat(r[2]).timestamp())
            for r in _csv_rows(BENZINGA_RATINGS_CSV) if len(r) == 4}  # fmt: skip
    assert articles.filter(pl.col("source_uri") == RATINGS_URI).height == len(keys) == 9717
    # one Benzinga headline, one minute, 13 tickers: one article with 13 vendor tags
    lows = articles.filter(
        (pl.col("title") == "Stocks That Hit 52-Week Lows On Thursday") & (pl.col("published_at") == datetime(2020, 3, 12, 16, 10))
    )
    assert lows.height == 1
    tagged = tickers.filter(pl.col("article_id") == lows["article_id"][0])
    assert tagged.height == 13 and set(tagged["tag_method"]) == {"vendor"}
    # the partner URL listed twice is one article; the Yahoo story returned by 5 searches too
    assert articles.filter(pl.col("title") == "Pegasystems (PEGA) to Report Q1 Earnings: What's in Store?").height == 1
    home_depot = articles.filter(pl.col("vendor_id") == "073c959d-7595-34af-8217-c0099b1b0dab")
    assert home_depot.height == 1
    assert home_depot["article_id"][0] == article_id(f"link:{home_depot['canonical_link'][0]}")
    assert articles["article_id"].is_unique().all() and articles["canonical_link"].drop_nulls().is_unique().all()


@pytest.mark.integration
def test_reingest_adds_nothing(first_ingest):
    path, _, instance = first_ingest
    before = read_tables(path)
    again = materialize_news(instance, test_settings(path.parent))
    assert again.success
    for uri, c in counts_metadata(again).items():
        assert c["loaded"] == 0 and c["tags_from_duplicates"] == 0, uri
        assert c["duplicates"] == c["input_records"] - c["rejected"], uri
    after = read_tables(path)
    assert after["articles"].equals(before["articles"])
    assert after["rejected"].equals(before["rejected"])
    assert after["tickers"].drop("tagged_at").equals(before["tickers"].drop("tagged_at"))
    assert check_results(again)["articles_unique"]


@pytest.mark.integration
def test_changed_scorer_rescores_every_article(first_ingest, monkeypatch):
    path, _, instance = first_ingest

    class Constant:
        method = "constant:test"

        def score(self, texts):
            return [SentimentScore(0.5, 1, 0) for _ in texts]

    before = read_tables(path)["articles"]
    settings = test_settings(path.parent)
    monkeypatch.setattr(news_assets, "default_scorer", Constant)
    assert materialize_news(instance, settings).success
    rescored = read_tables(path)["articles"]
    monkeypatch.setattr(news_assets, "default_scorer", LoughranMcDonaldScorer)
    assert materialize_news(instance, settings).success
    restored = read_tables(path)["articles"]
    assert rescored.height == before.height
    assert set(rescored["sentiment_method"]) == {"constant:test"} and set(rescored["sentiment_score"]) == {0.5}
    assert rescored.drop("sentiment_score", "sentiment_positive", "sentiment_negative", "sentiment_method").equals(
        before.drop("sentiment_score", "sentiment_positive", "sentiment_negative", "sentiment_method")
    )
    assert restored.equals(before)


def test_ingest_is_idempotent_on_postgres(postgres_server, first_ingest, tmp_path):
    import psycopg

    duckdb_ids = set(read_tables(first_ingest[0])["articles"]["article_id"])
    with scratch_database(postgres_server, "news") as database:
        settings = postgres_settings(database, tmp_path)
        with DagsterInstance.ephemeral() as instance:
            first = materialize_news(instance, settings, (companies, news))
            second = materialize_news(instance, settings)
        with psycopg.connect(database.conninfo) as con:
            ids = {r[0] for r in con.execute("select article_id from t_raw.news_articles")}
            rejected = con.execute("select count(*) from t_raw.rejected_news").fetchone()[0]
            vendor_tags = con.execute("select count(*) from t_raw.news_article_tickers").fetchone()[0]
    assert first.success and second.success
    assert ids == duckdb_ids
    assert rejected == 4
    assert vendor_tags == read_tables(first_ingest[0])["tickers"].height
    assert all(c["loaded"] == 0 for c in counts_metadata(second).values())

"""RSS/Atom feeds: parse real items (feeds built at test time from Yahoo search news rows, see
``tests/news_feeds.py``), fetch through the shared HTTP policy with respx (429
retried, 500 and non-feed bodies reported), and the news asset on a feed: matcher tags,
re-ingesting the same items with tracking parameters adds nothing, and the bundled Yahoo rows
of the same stories are recognised as duplicates across sources."""

from __future__ import annotations

import csv
import dataclasses
from datetime import datetime

import duckdb
import httpx
import polars as pl
import pytest
import respx
from dagster import AssetKey, DagsterInstance, materialize

from pipelines.defs.companies.assets import companies
from pipelines.defs.news import assets as news_assets
from pipelines.defs.news.assets import news
from pipelines.defs.news.bundled import YAHOO_SEARCH_CSV, read_bundled
from pipelines.defs.news.feeds import fetch_feeds
from pipelines.lib.http import RawResponseStore, VendorResponseError
from pipelines.sources import rss
from tests.conftest import resources_for, test_settings
from tests.news_feeds import ATOM_FEED, RSS_FEED

RSS_FIXTURE = RSS_FEED  # built from the materialised CSV when read (read_bytes)
ATOM_FIXTURE = ATOM_FEED
FEED_URL = "https://news.test/yahoo-search.rss"


@pytest.fixture(scope="module")
def yahoo_rows() -> dict[str, dict[str, str]]:
    """The real rows the fixtures were built from, by uuid (read independently with csv)."""
    with open(YAHOO_SEARCH_CSV, newline="", encoding="utf-8") as handle:
        return {row["uuid"]: row for row in csv.DictReader(handle)}


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=None) - moment.utcoffset()


@pytest.mark.parametrize(("fixture", "version", "n", "id_prefix"), [(RSS_FIXTURE, "rss20", 8, ""), (ATOM_FIXTURE, "atom10", 3, "urn:uuid:")])
def test_feed_entries_are_the_real_rows(yahoo_rows, fixture, version, n, id_prefix):
    feed = rss.parse_feed(fixture.read_bytes(), FEED_URL)
    assert feed.version == version and len(feed.entries) == n
    for position, entry in enumerate(feed.entries, start=1):
        row = yahoo_rows[entry.guid.removeprefix(id_prefix)]
        assert entry.position == position
        assert (entry.title, entry.link, entry.publisher) == (row["title"], row["link"], row["publisher"])
        assert entry.published_at == _utc(row["published_at"])


def test_not_a_feed_is_a_vendor_response_error():
    with pytest.raises(VendorResponseError, match="not an RSS/Atom feed"):
        rss.parse_feed(b"<html><body>Service unavailable</body></html>", FEED_URL)
    with pytest.raises(VendorResponseError):
        rss.parse_feed(b'{"error": "rate limited"}', FEED_URL)


def test_fetch_retries_429_and_keeps_the_raw_body(tmp_path):
    body = RSS_FIXTURE.read_bytes()
    store = RawResponseStore(tmp_path, "rss")
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(FEED_URL).mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(200, content=body)]
        )
        results = fetch_feeds([FEED_URL], store)
    assert route.call_count == 2
    assert results.errors == {}
    (batch,) = results.batches
    assert batch.source == "rss" and batch.source_uri == FEED_URL and len(batch.items) == 8
    assert store.get(results.raw_keys[FEED_URL]) == body
    assert results.raw_keys[FEED_URL].startswith("news.test/")


def test_failing_feeds_are_reported_not_raised(monkeypatch):
    broken = "https://news.test/broken.rss"
    html = "https://news.test/html.rss"
    policy = dataclasses.replace(rss.rss_policy(), backoff_factor=0.01)  # the real retries, without the waits
    monkeypatch.setattr(rss, "rss_policy", lambda: policy)
    with respx.mock(assert_all_called=True) as mock:
        failing = mock.get(broken).mock(return_value=httpx.Response(500, headers={"Retry-After": "0"}))
        mock.get(html).mock(return_value=httpx.Response(200, content=b"<html>maintenance</html>"))
        mock.get(FEED_URL).mock(return_value=httpx.Response(200, content=ATOM_FIXTURE.read_bytes()))
        results = fetch_feeds([broken, html, FEED_URL])
    assert failing.call_count == policy.max_retries + 1
    assert "HTTP 500" in results.errors[broken] and f"after {policy.max_retries + 1} attempt" in results.errors[broken]
    assert "not an RSS/Atom feed" in results.errors[html]
    assert [b.source_uri for b in results.batches] == [FEED_URL]


# ----------------------------------------------------------------------------- the asset on a feed


def _with_tracking(body: bytes) -> bytes:
    """The same feed with Google Analytics parameters on every link (what feeds often add)."""
    text = body.decode("utf-8").replace(".html</link>", ".html?utm_source=rss&amp;utm_medium=feed</link>")
    assert text.count("utm_source=rss") == 8
    return text.encode("utf-8")


def _run(instance, settings, body: bytes, assets=(news,)):
    with respx.mock(assert_all_called=True) as mock:
        mock.get(FEED_URL).mock(return_value=httpx.Response(200, content=body))
        result = materialize(list(assets), resources=resources_for(settings), instance=instance)
    assert result.success
    materialization = next(
        m for m in result.asset_materializations_for_node("news") if m.asset_key == AssetKey(["raw", "news_articles"])
    )
    return materialization.metadata["counts_per_input"].value


def _tags(path) -> pl.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql(
            "select a.title, t.ticker, t.tag_method, t.matched_text from raw.news_article_tickers t "
            "join raw.news_articles a using (article_id) order by a.title, t.ticker"
        ).pl()


@pytest.mark.integration
def test_feed_ingest_tags_dedupes_and_meets_the_bundled_rows(tmp_path, monkeypatch):
    body = RSS_FIXTURE.read_bytes()
    warehouse = tmp_path / "warehouse.duckdb"
    settings = test_settings(tmp_path, news_feeds=(FEED_URL,))
    with DagsterInstance.ephemeral() as instance:
        # feed only (bundled files switched off): every item is new and tagged by the matcher
        monkeypatch.setattr(news_assets, "read_bundled", lambda: [])
        first = _run(instance, settings, body, (companies, news))
        assert first == {FEED_URL: {"input_records": 8, "loaded": 8, "duplicates": 0, "rejected": 0,
                                    "tags_from_duplicates": 0}}  # fmt: skip
        tags = _tags(warehouse)
        assert set(tags["tag_method"]) == {"symbol", "name"}
        by_title = {t: set(g["ticker"]) for (t,), g in tags.group_by("title")}
        assert by_title == {
            "Home Depot forecasts annual same-store sales growth below estimates": {"HD"},
            "Indonesia and Apple said to agree on terms to lift iPhone 16 ban": {"AAPL"},
            "Wells Fargo Adjusts Price Target on Amazon.com to $203 From $207, Maintains Equalweight Rating": {"AMZN"},
            "Delta Air Lines to soon launch its third-longest flight": {"DAL"},
            "Spotting Winners: FedEx (NYSE:FDX) And Air Freight and Logistics Stocks In Q4": {"FDX"},
            "Apple Inc: An Exploration into Its Intrinsic Value": {"AAPL"},
        }  # "DeepSeek … goes all in" and "Issue of Debt" get no tag

        # the same items again, links carrying utm_* parameters: nothing new
        second = _run(instance, settings, _with_tracking(body))
        assert second[FEED_URL] == {"input_records": 8, "loaded": 0, "duplicates": 8, "rejected": 0,
                                    "tags_from_duplicates": 0}  # fmt: skip
        with duckdb.connect(str(warehouse), read_only=True) as con:
            assert con.execute("select count(*) from raw.news_articles").fetchone()[0] == 8
            assert con.execute("select count(*) from raw.news_articles where link like '%utm_%'").fetchone()[0] == 0
        assert list(tmp_path.joinpath("raw", "rss", "news.test").rglob("*.xml")), "raw feed bodies are kept"

        # bundled files back on: their Yahoo rows of the same 8 stories are duplicates across sources,
        # and their vendor tickers replace the matcher's tags of those articles
        monkeypatch.setattr(news_assets, "read_bundled", read_bundled)
        third = _run(instance, settings, body)
    yahoo = third["data/sample/news/yahoo_search_news_2025.csv"]
    assert (yahoo["loaded"], yahoo["input_records"]) == (76 - 8, 92)
    home_depot = _tags(warehouse).filter(pl.col("title").str.starts_with("Home Depot forecasts"))
    assert home_depot.select("ticker", "tag_method", "matched_text").rows() == [("HD", "vendor", "HD")]

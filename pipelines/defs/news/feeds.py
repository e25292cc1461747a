"""RSS/Atom feeds as news sources: fetch every configured feed, turn entries into news items.

A feed that cannot be fetched or parsed does not stop the others (nor the bundled files): its
error is reported (asset check ``feeds_fetched``) and the next poll tries again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from pipelines.defs.news.records import NewsItem, SourceBatch, clean_title
from pipelines.lib.http import (
    RawResponseStore,
    VendorClient,
    VendorHTTPError,
    VendorResponseError,
)
from pipelines.sources import rss

SOURCE = "rss"


def feed_batch(body: bytes, url: str) -> SourceBatch:
    """Every entry of the feed ``body`` (fetched from ``url``) as a news item (no vendor tickers).

    Raises:
        VendorResponseError: not an RSS/Atom document.
    """
    feed = rss.parse_feed(body, url)
    items = [
        NewsItem(
            source=SOURCE,
            source_uri=url,
            source_line=entry.position,
            title=clean_title(entry.title),
            published_at=entry.published_at,
            publisher=clean_title(entry.publisher),
            link=entry.link,
            vendor_id=entry.guid,
            vendor_tickers=(),
            raw_payload=entry.payload,
        )
        for entry in feed.entries
    ]
    return SourceBatch(SOURCE, url, items=items)


@dataclass
class FeedResults:
    """Batches of the feeds that worked, and ``url -> error`` of those that did not."""

    batches: list[SourceBatch] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    raw_keys: dict[str, str] = field(default_factory=dict)


def fetch_feeds(
    urls: Sequence[str], store: RawResponseStore | None = None, transport: httpx.BaseTransport | None = None
) -> FeedResults:
    """Fetch and parse each feed URL with :func:`pipelines.sources.rss.rss_policy` (``transport``
    replaces the network in tests); bodies go to ``store``."""
    results = FeedResults()
    if not urls:
        return results
    with VendorClient(rss.rss_policy(), transport=transport) as client:
        for url in urls:
            try:
                fetched = rss.fetch_feed(client, url, store)
                results.batches.append(feed_batch(fetched.body, url))
                if fetched.raw_key:
                    results.raw_keys[url] = fetched.raw_key
            except (VendorHTTPError, VendorResponseError) as error:
                results.errors[url] = str(error)
    return results

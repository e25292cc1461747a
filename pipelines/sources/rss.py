"""RSS 2.0 / Atom news feeds: fetch with the shared HTTP policy, parse with feedparser.

* :func:`rss_policy` — the :class:`~pipelines.lib.http.HttpPolicy` of feed requests (timeouts,
  retries with backoff on connect errors, timeouts, 429 and 5xx honouring ``Retry-After``,
  at most 2 requests per second); a 4xx other than 429 fails at once.
* :func:`fetch_feed` — GET one feed URL; the body is kept byte for byte in the raw response
  store (vendor ``rss``, key ``<host>/<sha1 of the URL, 12 hex>/<fetch time UTC>.xml``), since a
  feed changes between polls and each body is evidence of what was published when.
* :func:`parse_feed` — feedparser's normalised entries as :class:`FeedEntry`: ``title`` (as
  given); ``link``; ``guid`` = ``<guid>`` / Atom ``<id>``; ``published_at`` = ``<pubDate>`` /
  ``<published>`` (else ``<updated>``) as naive UTC (feedparser converts the zone);
  ``publisher`` = the entry's ``<source>`` (RSS), else its author, else the feed's title;
  ``payload`` = the entry as feedparser read it (JSON text, without its parsed-date tuples).
  Feeds carry no tickers.

Errors: :class:`~pipelines.lib.http.VendorHTTPError` (HTTP failure after the policy's retries),
:class:`~pipelines.lib.http.VendorResponseError` (the body is not an RSS or Atom document).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import httpx

from pipelines.lib.http import (
    HttpPolicy,
    RawResponseStore,
    VendorClient,
    VendorResponseError,
)

VENDOR = "rss"
ACCEPT = "application/rss+xml, application/atom+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.7, */*;q=0.1"


def rss_policy() -> HttpPolicy:
    """HTTP policy of feed requests (see the module doc)."""
    return HttpPolicy(
        vendor=VENDOR,
        user_agent="stock-screener-warehouse/0.1 (news feed reader)",
        timeout_s=20.0,
        max_retries=3,
        backoff_factor=1.0,
        rate_per_second=2,
        headers={"Accept": ACCEPT},
    )


@dataclass(frozen=True)
class FeedFetch:
    """One fetched feed: the URL asked for, the body as received, when (UTC) and where it is kept."""

    url: str
    body: bytes
    fetched_at: datetime
    raw_key: str | None


def raw_key(url: str, fetched_at: datetime) -> str:
    """Raw-store key of a feed body fetched at ``fetched_at`` (aware or naive UTC)."""
    host = httpx.URL(url).host or "feed"
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]
    return f"{host}/{digest}/{fetched_at:%Y%m%dT%H%M%S%fZ}.xml"


def fetch_feed(client: VendorClient, url: str, store: RawResponseStore | None = None) -> FeedFetch:
    """GET ``url`` with ``client`` (built from :func:`rss_policy`) and keep the body in ``store``.

    Raises:
        VendorHTTPError: as :meth:`VendorClient.get` (4xx, or 429/5xx/network still failing
            after the retries).
    """
    response = client.get(url)
    fetched_at = datetime.now(timezone.utc).replace(tzinfo=None)
    key = None
    if store is not None:
        key = raw_key(url, fetched_at)
        store.put(key, response.content)
    return FeedFetch(url, response.content, fetched_at, key)


@dataclass(frozen=True)
class FeedEntry:
    """One feed entry (see the module doc); ``position`` is its 1-based place in the feed."""

    position: int
    title: str | None
    link: str | None
    guid: str | None
    published_at: datetime | None
    publisher: str | None
    payload: str


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: ``version`` (``rss20``, ``atom10``…), feed ``title`` and its entries."""

    url: str
    version: str
    title: str | None
    entries: list[FeedEntry]


def parse_feed(body: bytes, url: str) -> ParsedFeed:
    """Parse an RSS/Atom document with feedparser (no network access: it gets the bytes).

    Raises:
        VendorResponseError: feedparser does not recognise an RSS or Atom document (HTML error
            page, JSON, XML that is not a feed).
    """
    import feedparser

    parsed = feedparser.parse(body)
    if not parsed.get("version"):
        problem = parsed.get("bozo_exception") or "no RSS or Atom root element"
        raise VendorResponseError(VENDOR, url, f"not an RSS/Atom feed ({problem}); starts with {body[:80]!r}")
    title = parsed.feed.get("title")
    return ParsedFeed(url, parsed.version, title, [_entry(e, i, title) for i, e in enumerate(parsed.entries, 1)])


def _text(value: Any) -> str | None:
    text = (value or "").strip() if isinstance(value, str) else None
    return text or None


def _entry(entry: dict[str, Any], position: int, feed_title: str | None) -> FeedEntry:
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    source = entry.get("source") or {}
    payload = {k: v for k, v in entry.items() if not k.endswith("_parsed")}
    return FeedEntry(
        position=position,
        title=_text(entry.get("title")),
        link=_text(entry.get("link")),
        guid=_text(entry.get("id")),
        published_at=datetime(*stamp[:6]) if stamp else None,  # feedparser gives UTC
        publisher=_text(source.get("title")) or _text(entry.get("author")) or _text(feed_title),
        payload=json.dumps(payload, ensure_ascii=False, default=str),
    )

"""RSS 2.0 and Atom 1.0 feed documents for the news tests, built at test time from real rows of
the materialised ``data/sample/news/yahoo_search_news_2025.csv`` (Yahoo Finance search news; see
``data/manifest.toml`` and ``data/README.md``).

There is no recorded real RSS/Atom response in the bundled data, so the feeds are built:

* :data:`RSS_FEED`: RSS 2.0, 8 items, in this order: "Home Depot forecasts annual same-store
  sales growth below estimates" (Reuters), "Indonesia and Apple said to agree on terms to lift
  iPhone 16 ban" (Bloomberg), "DeepSeek rushes to launch new AI model as China goes all in"
  (Reuters), "Wells Fargo Adjusts Price Target on Amazon.com to $203 From $207, Maintains
  Equalweight Rating" (MT Newswires), "Delta Air Lines to soon launch its third-longest flight"
  (TheStreet), "Spotting Winners: FedEx (NYSE:FDX) And Air Freight and Logistics Stocks In Q4"
  (StockStory), "Issue of Debt" (Business Wire), "Apple Inc: An Exploration into Its Intrinsic
  Value" (GuruFocus.com).
* :data:`ATOM_FEED`: Atom 1.0, 3 entries: "Alphabet Inc. (GOOG) Is a Trending Stock: Facts to
  Know Before Betting on It" (Zacks), "Berkshire Hathaway, Strategy, Domino's Pizza: Market
  Minute" (Yahoo Finance Video), "Matthews Pacific Tiger Fund Reduces Alibaba Group Holding Ltd
  by 62.53%" (GuruFocus.com).

Real, read from the CSV rows: every title, link, publication time (``published_at``, UTC, written
as RFC 822 ``pubDate`` / RFC 3339 ``published``), publisher and Yahoo ``uuid``. Constructed: the
XML envelopes (channel/feed title, description, feed id, and the feed's ``updated``: its latest
entry), the elements carrying the values (``<guid isPermaLink="false">uuid</guid>``, Atom
``<id>urn:uuid:uuid</id>``, the publisher as ``<dc:creator>`` / ``<author><name>``). Tests that
need tracking parameters (``utm_*``) append them to these real links in the test code itself.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from tests.data_files import sample_file

YAHOO_SEARCH_NEWS = "news/yahoo_search_news_2025.csv"

#: The ``uuid`` of each item, in feed order.
RSS_UUIDS = (
    "073c959d-7595-34af-8217-c0099b1b0dab",  # Home Depot forecasts annual same-store sales growth below estimates
    "bfb8b663-081c-3c2b-84e3-df8fff2c37d8",  # Indonesia and Apple said to agree on terms to lift iPhone 16 ban
    "1070cee3-5d58-37ef-83db-87769b20f92e",  # DeepSeek rushes to launch new AI model as China goes all in
    "8ebe49b5-d64d-3362-b53c-2e66b6ccfc58",  # Wells Fargo Adjusts Price Target on Amazon.com to $203 From $207, ...
    "a02e2b7f-0571-3135-91a0-26dffa0dae18",  # Delta Air Lines to soon launch its third-longest flight
    "11dfb1da-e6de-3c9a-9506-a88d25846067",  # Spotting Winners: FedEx (NYSE:FDX) And Air Freight and Logistics ...
    "f2f9ad61-e30a-356d-80f2-eb79a39c996e",  # Issue of Debt
    "76679f48-d3d7-340b-b1b4-4a95a714b868",  # Apple Inc: An Exploration into Its Intrinsic Value
)
ATOM_UUIDS = (
    "6ab36b5b-5823-36b0-84be-b1105b65406e",  # Alphabet Inc. (GOOG) Is a Trending Stock: Facts to Know Before ...
    "2c6f19b3-5079-395c-b244-d125e5a7dc26",  # Berkshire Hathaway, Strategy, Domino's Pizza: Market Minute
    "d9c98750-9587-3df1-aaaf-243381705611",  # Matthews Pacific Tiger Fund Reduces Alibaba Group Holding Ltd by 62.53%
)


def yahoo_rows(uuids: tuple[str, ...]) -> list[dict[str, str]]:
    """The CSV rows of ``uuids``, in that order (the first row of each uuid: a story returned by
    several searches repeats with the same title, link, time and publisher).

    Raises:
        domain.datasets.MissingDataFileError: the CSV is not materialised.
        KeyError: a uuid is not in the CSV.
    """
    by_uuid: dict[str, dict[str, str]] = {}
    with open(sample_file(YAHOO_SEARCH_NEWS), newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_uuid.setdefault(row["uuid"], row)
    return [by_uuid[uuid] for uuid in uuids]


def _published(row: dict[str, str]) -> datetime:
    return datetime.fromisoformat(row["published_at"]).astimezone(UTC)


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def rss_document(uuids: tuple[str, ...] = RSS_UUIDS) -> bytes:
    """An RSS 2.0 document (UTF-8) with one ``<item>`` per uuid, in order."""
    items = "".join(
        "    <item>\n"
        f"      <title>{escape(row['title'])}</title>\n"
        f"      <link>{escape(row['link'])}</link>\n"
        f"      <pubDate>{format_datetime(_published(row))}</pubDate>\n"
        f'      <guid isPermaLink="false">{escape(row["uuid"])}</guid>\n'
        f"      <dc:creator>{escape(row['publisher'])}</dc:creator>\n"
        "    </item>\n"
        for row in yahoo_rows(uuids)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<!-- Test feed built by tests/news_feeds.py: real Yahoo Finance search news items in an RSS 2.0 envelope -->\n"
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        "  <channel>\n"
        "    <title>Yahoo Finance search news (fixture)</title>\n"
        "    <link>https://finance.yahoo.com/</link>\n"
        f"    <description>Real items of data/sample/{YAHOO_SEARCH_NEWS}</description>\n"
        f"{items}"
        "  </channel>\n"
        "</rss>\n"
    ).encode()


def atom_document(uuids: tuple[str, ...] = ATOM_UUIDS) -> bytes:
    """An Atom 1.0 document (UTF-8) with one ``<entry>`` per uuid, in order; the feed's
    ``updated`` is its latest entry's publication time."""
    rows = yahoo_rows(uuids)
    entries = "".join(
        "  <entry>\n"
        f"    <title>{escape(row['title'])}</title>\n"
        f"    <link href={quoteattr(row['link'])}/>\n"
        f"    <id>urn:uuid:{escape(row['uuid'])}</id>\n"
        f"    <published>{_rfc3339(_published(row))}</published>\n"
        f"    <updated>{_rfc3339(_published(row))}</updated>\n"
        f"    <author><name>{escape(row['publisher'])}</name></author>\n"
        "  </entry>\n"
        for row in rows
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        "<!-- Test feed built by tests/news_feeds.py: real Yahoo Finance search news items in an Atom 1.0 envelope -->\n"
        '<feed xmlns="http://www.w3.org/2005/Atom">\n'
        "  <title>Yahoo Finance search news (fixture)</title>\n"
        "  <id>urn:fixture:yahoo-search-news-atom</id>\n"
        f"  <updated>{_rfc3339(max(_published(row) for row in rows))}</updated>\n"
        f"{entries}"
        "</feed>\n"
    ).encode()


@dataclass(frozen=True)
class FeedDocument:
    """A feed built when read (so from the materialised CSV, at test time, not at import):
    ``read_bytes()`` like a :class:`~pathlib.Path`, ``write(folder)`` for code that needs a file."""

    name: str
    kind: str  # "rss" or "atom"

    def read_bytes(self) -> bytes:
        """The document's bytes (UTF-8 XML)."""
        return rss_document() if self.kind == "rss" else atom_document()

    def write(self, folder: Path) -> Path:
        """Write the document to ``folder/<name>`` and return that path."""
        path = folder / self.name
        path.write_bytes(self.read_bytes())
        return path

    def __str__(self) -> str:
        return self.name


RSS_FEED = FeedDocument("yahoo_search_news_rss.xml", "rss")
ATOM_FEED = FeedDocument("yahoo_search_news_atom.xml", "atom")

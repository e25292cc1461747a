"""The news ingest as pure functions: validate, deduplicate, tag, count (no Dagster, no I/O
except through the :class:`~domain.warehouse.Warehouse` passed in).

Per input record (file row or feed entry), in the order of the batches:

1. unreadable (wrong field count) -> quarantined (``field_count: …``);
2. fails the GE suite (:mod:`pipelines.defs.news.validation`) -> quarantined (rule names);
3. same article as one already stored or seen earlier in this run -> **duplicate**: same
   ``article_id`` (canonical link, else vendor id, else title + time), or same canonical link,
   or same ``(source, vendor_id)``. Its vendor tickers are still added to that article when new
   (the Benzinga ratings file has one row per (headline, ticker));
4. otherwise a **new article**.

So ``input_records = loaded + duplicates + rejected`` for every file and feed, and ingesting
the same input again adds nothing (every record is a duplicate or an already stored reject).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from domain.warehouse import Warehouse
from pipelines.defs.news import links, validation
from pipelines.defs.news.records import SourceBatch
from pipelines.defs.news.sentiment import SentimentScorer
from pipelines.defs.news.tables import articles_table, rejected_table, tickers_table
from pipelines.defs.news.tagging import TickerTagger, normalize_vendor_tickers
from pipelines.lib.expectations import SuiteOutcome

ITEM_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.Utf8(),
    "source_uri": pl.Utf8(),
    "source_line": pl.Int64(),
    "title": pl.Utf8(),
    "published_at": pl.Datetime("us"),
    "publisher": pl.Utf8(),
    "link": pl.Utf8(),
    "vendor_id": pl.Utf8(),
    "vendor_tickers": pl.List(pl.Utf8()),
    "raw_payload": pl.Utf8(),
}
ARTICLE_COLUMNS = (
    "article_id", "source", "source_uri", "source_line", "vendor_id", "published_at", "publisher", "title",
    "link", "canonical_link", "sentiment_score", "sentiment_positive", "sentiment_negative", "sentiment_method",
    "raw_payload", "loaded_at",
)  # fmt: skip
TAG_SCHEMA: dict[str, pl.DataType] = {
    "article_id": pl.Utf8(),
    "ticker": pl.Utf8(),
    "tag_method": pl.Utf8(),
    "matched_text": pl.Utf8(),
    "tagged_at": pl.Datetime("us"),
}
REJECT_SCHEMA: dict[str, pl.DataType] = {
    "reject_id": pl.Utf8(),
    "source": pl.Utf8(),
    "source_uri": pl.Utf8(),
    "source_line": pl.Int64(),
    "reason": pl.Utf8(),
    "raw_record": pl.Utf8(),
    "loaded_at": pl.Datetime("us"),
}


@dataclass
class StoredNews:
    """What the warehouse already holds, for deduplication."""

    article_ids: set[str] = field(default_factory=set)
    by_link: dict[str, str] = field(default_factory=dict)  # canonical link -> article_id
    by_vendor_id: dict[tuple[str, str], str] = field(default_factory=dict)  # (source, vendor id) -> article_id
    vendor_tags: set[tuple[str, str]] = field(default_factory=set)  # (article_id, ticker)
    reject_ids: set[str] = field(default_factory=set)


def load_stored(warehouse: Warehouse) -> StoredNews:
    """Read the keys of the stored articles, vendor tags and rejects (tables must exist)."""
    articles = warehouse.fetch_frame(f"select article_id, source, vendor_id, canonical_link from {articles_table(warehouse)}")
    tags = warehouse.fetch_frame(f"select article_id, ticker from {tickers_table(warehouse)} where tag_method = 'vendor'")
    rejects = warehouse.fetch_frame(f"select reject_id from {rejected_table(warehouse)}")
    stored = StoredNews(reject_ids=set(rejects["reject_id"].to_list()) if rejects.height else set())
    for article_id, source, vendor_id, canonical in articles.iter_rows():
        stored.article_ids.add(article_id)
        if canonical:
            stored.by_link[canonical] = article_id
        if vendor_id:
            stored.by_vendor_id[(source, vendor_id)] = article_id
    stored.vendor_tags = {(a, t) for a, t in tags.iter_rows()}
    return stored


@dataclass
class IngestPlan:
    """What one run writes, and the per-input counts.

    ``articles``: new rows of ``raw.news_articles`` without the sentiment columns;
    ``vendor_tags``: new ``vendor`` rows of ``raw.news_article_tickers``; ``rejects``: new rows
    of ``raw.rejected_news``; ``counts``: ``source_uri -> {input_records, loaded, duplicates,
    rejected, tags_from_duplicates}`` (the last: vendor tickers a duplicate record added to
    the stored article); ``loaded_items``: the validated items that became articles
    (for the re-run of the suite); ``input_outcome``: the suite's result on all items.
    """

    articles: pl.DataFrame
    vendor_tags: pl.DataFrame
    rejects: pl.DataFrame
    counts: dict[str, dict[str, int]]
    loaded_items: pl.DataFrame
    input_outcome: SuiteOutcome


def items_frame(batches: Sequence[SourceBatch]) -> pl.DataFrame:
    """All items of ``batches`` as one frame (:data:`ITEM_SCHEMA`), in batch order."""
    rows = [
        {
            "source": i.source,
            "source_uri": i.source_uri,
            "source_line": i.source_line,
            "title": i.title,
            "published_at": i.published_at,
            "publisher": i.publisher,
            "link": i.link,
            "vendor_id": i.vendor_id,
            "vendor_tickers": list(i.vendor_tickers),
            "raw_payload": i.raw_payload,
        }
        for batch in batches
        for i in batch.items
    ]
    return pl.DataFrame(rows, schema=ITEM_SCHEMA)


def reject_id(source_uri: str, raw_record: str) -> str:
    """Stable id of a quarantined record (the same record from the same input is stored once)."""
    return hashlib.sha256(f"{source_uri}\n{raw_record}".encode()).hexdigest()[:20]


def plan_ingest(
    batches: Sequence[SourceBatch], stored: StoredNews, known_tickers: Iterable[str], loaded_at: datetime
) -> IngestPlan:
    """Validate, deduplicate and count ``batches`` against ``stored`` (see the module doc).

    ``known_tickers``: the company table's tickers (to spell vendor class suffixes like it);
    ``loaded_at``: naive UTC time of the run. ``stored`` is updated in place with what the plan
    adds, so planning the same batches again against it yields nothing new.
    """
    known = set(known_tickers)
    counts = {
        b.source_uri: {"input_records": 0, "loaded": 0, "duplicates": 0, "rejected": 0, "tags_from_duplicates": 0}
        for b in batches
    }
    rejects: list[dict] = []

    def reject(source: str, uri: str, line: int, reason: str, raw: str) -> None:
        counts[uri]["rejected"] += 1
        rid = reject_id(uri, raw)
        if rid not in stored.reject_ids:
            stored.reject_ids.add(rid)
            rejects.append(
                {"reject_id": rid, "source": source, "source_uri": uri, "source_line": line, "reason": reason,
                 "raw_record": raw, "loaded_at": loaded_at}
            )  # fmt: skip

    for batch in batches:
        counts[batch.source_uri]["input_records"] += batch.input_records
        for broken in batch.broken:
            reject(broken.source, broken.source_uri, broken.source_line, broken.reason, broken.raw_record)

    items = items_frame(batches)
    split = validation.split_valid_rejected(items, loaded_at)
    for row in split.rejected.iter_rows(named=True):
        reject(row["source"], row["source_uri"], row["source_line"], row["reason"], row["raw_payload"])

    articles: list[dict] = []
    tags: list[dict] = []
    loaded_rows: list[int] = []
    for position, row in enumerate(split.valid.iter_rows(named=True)):
        canonical = links.canonical_link(row["link"])
        key = links.dedupe_key(row["source"], canonical, row["vendor_id"], row["title"], row["published_at"])
        new_id = links.article_id(key)
        vendor_key = (row["source"], row["vendor_id"]) if row["vendor_id"] else None
        target = (
            new_id
            if new_id in stored.article_ids
            else stored.by_link.get(canonical or "") or (stored.by_vendor_id.get(vendor_key) if vendor_key else None)
        )
        uri_counts = counts[row["source_uri"]]
        duplicate = target is not None
        if duplicate:
            uri_counts["duplicates"] += 1
        else:
            target = new_id
            stored.article_ids.add(new_id)
            if canonical:
                stored.by_link[canonical] = new_id
            if vendor_key:
                stored.by_vendor_id[vendor_key] = new_id
            articles.append({**row, "article_id": new_id, "canonical_link": canonical, "loaded_at": loaded_at})
            loaded_rows.append(position)
            uri_counts["loaded"] += 1
        for symbol in row["vendor_tickers"]:
            symbol = (symbol or "").strip()
            if not symbol:
                continue
            ticker = normalize_vendor_tickers([symbol], known)[0]
            if (target, ticker) in stored.vendor_tags:
                continue
            stored.vendor_tags.add((target, ticker))
            tags.append(
                {"article_id": target, "ticker": ticker, "tag_method": "vendor", "matched_text": symbol,
                 "tagged_at": loaded_at}
            )  # fmt: skip
            if duplicate:
                uri_counts["tags_from_duplicates"] += 1

    article_frame = pl.DataFrame(articles, schema={**ITEM_SCHEMA, "article_id": pl.Utf8(), "canonical_link": pl.Utf8(),
                                                   "loaded_at": pl.Datetime("us")})  # fmt: skip
    return IngestPlan(
        articles=article_frame.drop("vendor_tickers"),
        vendor_tags=pl.DataFrame(tags, schema=TAG_SCHEMA),
        rejects=pl.DataFrame(rejects, schema=REJECT_SCHEMA),
        counts=counts,
        loaded_items=split.valid[loaded_rows] if loaded_rows else split.valid.head(0),
        input_outcome=split.input_outcome,
    )


def with_sentiment(articles: pl.DataFrame, scorer: SentimentScorer) -> pl.DataFrame:
    """``articles`` (with ``title``) plus the sentiment columns scored by ``scorer``."""
    scores = scorer.score(articles["title"].to_list())
    return articles.with_columns(
        pl.Series("sentiment_score", [s.score for s in scores], pl.Float64),
        pl.Series("sentiment_positive", [s.positive for s in scores], pl.Int32),
        pl.Series("sentiment_negative", [s.negative for s in scores], pl.Int32),
        pl.lit(scorer.method, pl.Utf8).alias("sentiment_method"),
    )


def matcher_tags(
    articles: pl.DataFrame, vendor_tagged: set[str], tagger: TickerTagger, tagged_at: datetime
) -> pl.DataFrame:
    """``symbol``/``name`` rows of ``raw.news_article_tickers`` for every article of ``articles``
    (``article_id``, ``title``) that has no vendor tag."""
    rows = [
        {"article_id": article_id, "ticker": tag.ticker, "tag_method": tag.method, "matched_text": tag.matched_text,
         "tagged_at": tagged_at}
        for article_id, title in articles.select("article_id", "title").iter_rows()
        if article_id not in vendor_tagged
        for tag in tagger.tag(title)
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=TAG_SCHEMA)

"""DDL of the raw news tables (valid on DuckDB and PostgreSQL; the warehouse contract for BI).

``<prefix>raw.news_articles`` — one row per article (``article_id`` unique, also unique by
``canonical_link`` and by ``(source, vendor_id)``), insert-only except for re-scoring:

==================  =========================================================================
article_id          20 hex digits, SHA-256 of the dedup key (:mod:`pipelines.defs.news.links`)
source              ``benzinga_analyst_ratings``, ``benzinga_partner_headlines``,
                    ``yahoo_search``, ``rss``: the first source that delivered the article
source_uri          file (``data/sample/news/…``) or feed URL
source_line         line of the record in the file / position of the entry in the feed
vendor_id           Yahoo ``uuid`` / RSS ``guid`` (NULL for the Benzinga files)
published_at        publication time, UTC (``timestamp`` without zone, in UTC)
publisher           e.g. ``Zacks``, ``Reuters``; ``Benzinga`` for the ratings file
title               headline, whitespace collapsed
link                URL as given (NULL for the Benzinga ratings file)
canonical_link      normalised URL used for deduplication (NULL without link)
sentiment_score     [-1, 1] (see :mod:`pipelines.defs.news.sentiment`)
sentiment_positive  positive evidence (LM positive words)
sentiment_negative  negative evidence (LM negative words)
sentiment_method    scorer name and version
raw_payload         the record as the vendor sent it, JSON text
loaded_at           UTC time of the run that inserted the row (kept when re-scored)
==================  =========================================================================

``<prefix>raw.news_article_tickers`` — one row per (article_id, ticker): ``tag_method``
(``vendor`` | ``symbol`` | ``name``, see :mod:`pipelines.defs.news.tagging`), ``matched_text``
(the vendor's symbol as given, or the headline span that matched), ``tagged_at`` (UTC). Vendor
rows are insert-only; matcher rows are recomputed on every run from the current company table.
A link table (not a list column) so that DuckDB, PostgreSQL and dbt treat it alike.

``<prefix>raw.rejected_news`` — quarantined input records, each stored once: ``reject_id``
(hash of source_uri + record), ``source``, ``source_uri``, ``source_line``, ``reason`` (failed
rule names joined by ``"; "``, or ``field_count: …``), ``raw_record`` (the CSV lines as read
when the record could not be split into fields, else its fields as JSON), ``loaded_at``.
"""

from __future__ import annotations

from domain.warehouse import Warehouse


def articles_table(warehouse: Warehouse) -> str:
    """Qualified name of ``raw.news_articles``."""
    return warehouse.table("raw", "news_articles")


def tickers_table(warehouse: Warehouse) -> str:
    """Qualified name of ``raw.news_article_tickers``."""
    return warehouse.table("raw", "news_article_tickers")


def rejected_table(warehouse: Warehouse) -> str:
    """Qualified name of ``raw.rejected_news``."""
    return warehouse.table("raw", "rejected_news")


def ensure_news_tables(warehouse: Warehouse) -> None:
    """Create the raw schema and the news tables if they do not exist (idempotent)."""
    warehouse.ensure_schema("raw")
    warehouse.execute(
        f"""create table if not exists {articles_table(warehouse)} (
            article_id varchar not null,
            source varchar not null,
            source_uri varchar not null,
            source_line bigint not null,
            vendor_id varchar,
            published_at timestamp not null,
            publisher varchar,
            title varchar not null,
            link varchar,
            canonical_link varchar,
            sentiment_score double precision not null,
            sentiment_positive integer not null,
            sentiment_negative integer not null,
            sentiment_method varchar not null,
            raw_payload varchar not null,
            loaded_at timestamp not null
        )"""
    )
    warehouse.execute(
        f"""create table if not exists {tickers_table(warehouse)} (
            article_id varchar not null,
            ticker varchar not null,
            tag_method varchar not null,
            matched_text varchar not null,
            tagged_at timestamp not null
        )"""
    )
    warehouse.execute(
        f"""create table if not exists {rejected_table(warehouse)} (
            reject_id varchar not null,
            source varchar not null,
            source_uri varchar not null,
            source_line bigint not null,
            reason varchar not null,
            raw_record varchar not null,
            loaded_at timestamp not null
        )"""
    )

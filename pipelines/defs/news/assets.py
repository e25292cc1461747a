"""News assets: ``raw/news_articles``, ``raw/news_article_tickers``, ``raw/rejected_news``.

One multi-asset run (the sensor in :mod:`pipelines.defs.news.polling` starts one every
``NEWS_POLL_MINUTES`` when ``NEWS_FEEDS`` is set; the ``warehouse_build`` job runs it too):

1. reads the bundled headline files (:mod:`pipelines.defs.news.bundled`) and fetches the
   feeds of ``NEWS_FEEDS`` (:mod:`pipelines.defs.news.feeds`; a failing feed is reported by the
   ``feeds_fetched`` check and does not stop the others);
2. validates, deduplicates and counts (:mod:`pipelines.defs.news.ingest`); new articles get a
   sentiment score (:mod:`pipelines.defs.news.sentiment`), stored articles scored by another
   method are re-scored;
3. re-derives the matcher tags of every stored article without vendor tickers from the
   current ``raw.companies`` (:mod:`pipelines.defs.news.tagging`);
4. writes new articles, new vendor tags, the matcher tags and new rejects in ONE transaction.

Checks: ``rows_pass_expectations`` (blocking): the GE suite passes on the loaded rows and
``input_records = loaded + duplicates + rejected`` for every file and feed;
``articles_unique`` (blocking): no two stored articles share ``article_id``, canonical link or
``(source, vendor_id)``; ``feeds_fetched`` (warning): every configured feed was fetched and
parsed.
"""

from datetime import datetime, timezone

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from domain.warehouse import Replacement, Warehouse
from pipelines.defs.news.bundled import read_bundled
from pipelines.defs.news.feeds import fetch_feeds
from pipelines.defs.news.ingest import (
    ARTICLE_COLUMNS,
    load_stored,
    matcher_tags,
    plan_ingest,
    with_sentiment,
)
from pipelines.defs.news.sentiment import default_scorer
from pipelines.defs.news.tables import (
    articles_table,
    ensure_news_tables,
    rejected_table,
    tickers_table,
)
from pipelines.defs.news.tagging import TickerTagger
from pipelines.defs.news.validation import validate_items
from pipelines.lib.resources import (
    NewsFeedsResource,
    RawResponsesResource,
    WarehouseResource,
)

ARTICLES_KEY = AssetKey(["raw", "news_articles"])
TICKERS_KEY = AssetKey(["raw", "news_article_tickers"])
REJECTED_KEY = AssetKey(["raw", "rejected_news"])
COMPANIES_KEY = AssetKey(["raw", "companies"])
ROWS_CHECK = "rows_pass_expectations"
UNIQUE_CHECK = "articles_unique"
FEEDS_CHECK = "feeds_fetched"

_COMMON = {"group_name": "news", "kinds": {"python", "duckdb", "postgres"}, "owners": ["team:data-engineering"]}


def _tagger(warehouse: Warehouse) -> TickerTagger:
    companies = warehouse.fetch_frame(f"select ticker, company_name from {warehouse.table('raw', 'companies')}")
    return TickerTagger(companies.iter_rows())


def _duplicate_keys(warehouse: Warehouse) -> dict[str, int]:
    table = articles_table(warehouse)
    frame = warehouse.fetch_frame(
        f"""select
            count(*) - count(distinct article_id) as article_id,
            count(canonical_link) - count(distinct canonical_link) as canonical_link,
            count(vendor_id) - count(distinct source || '|' || vendor_id) as source_vendor_id
        from {table}"""
    )
    return {k: int(v or 0) for k, v in frame.row(0, named=True).items()}


def _markdown(frame: pl.DataFrame, limit: int = 20) -> str:
    head = frame.head(limit)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    lines += [
        "| " + " | ".join("" if v is None else str(v).replace("|", "\\|").replace("\n", " ")[:120] for v in row) + " |"
        for row in head.iter_rows()
    ]
    return "\n".join(lines)


@multi_asset(
    name="news",
    specs=[
        AssetSpec(
            ARTICLES_KEY,
            deps=[COMPANIES_KEY],
            description="News articles (headline, UTC time, publisher, link, sentiment, raw payload) from the "
            "bundled Benzinga and Yahoo headline files and the RSS/Atom feeds of NEWS_FEEDS, one row per "
            "article: deduplicated by canonical link, vendor id, or title + time.",
            tags={"layer": "raw"},
            **_COMMON,
        ),
        AssetSpec(
            TICKERS_KEY,
            deps=[COMPANIES_KEY],
            description="Tickers of each news article: the vendor's when it gives any, else symbols and company "
            "names found in the headline (tag_method vendor | symbol | name).",
            tags={"layer": "raw"},
            **_COMMON,
        ),
        AssetSpec(
            REJECTED_KEY,
            description="Quarantined news records (broken CSV rows, failed GE rules) with the reason and the "
            "raw record, each stored once.",
            tags={"layer": "raw"},
            **_COMMON,
        ),
    ],
    check_specs=[
        AssetCheckSpec(
            ROWS_CHECK,
            asset=ARTICLES_KEY,
            blocking=True,
            description="GE suite news_items_rows passes on the loaded rows, and input records = loaded + "
            "duplicates + rejected for every file and feed.",
        ),
        AssetCheckSpec(
            UNIQUE_CHECK,
            asset=ARTICLES_KEY,
            blocking=True,
            description="No two stored articles share article_id, canonical_link or (source, vendor_id).",
        ),
        AssetCheckSpec(
            FEEDS_CHECK,
            asset=ARTICLES_KEY,
            description="Every feed of NEWS_FEEDS was fetched and parsed (warning only: the others still load).",
        ),
    ],
)
def news(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    news_feeds: NewsFeedsResource,
    raw_responses: RawResponsesResource,
):
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    batches = read_bundled()
    feeds = fetch_feeds(tuple(news_feeds.feeds), raw_responses.store("rss"))
    batches += feeds.batches
    for url, error in feeds.errors.items():
        context.log.warning(f"news feed {url} skipped: {error}")

    scorer = default_scorer()
    with warehouse.connect() as wh:
        ensure_news_tables(wh)
        tagger = _tagger(wh)
        plan = plan_ingest(batches, load_stored(wh), tagger.tickers, loaded_at)
        new_articles = with_sentiment(plan.articles, scorer).select(ARTICLE_COLUMNS)
        stale = wh.fetch_frame(
            f"select {', '.join(ARTICLE_COLUMNS)} from {articles_table(wh)} where sentiment_method <> ?", [scorer.method]
        )
        sentiment_columns = ("sentiment_score", "sentiment_positive", "sentiment_negative", "sentiment_method")
        rescored = (
            with_sentiment(stale.drop(sentiment_columns), scorer).select(ARTICLE_COLUMNS)
            if stale.height
            else new_articles.head(0)
        )
        stored_titles = wh.fetch_frame(f"select article_id, title from {articles_table(wh)}")
        vendor_tagged = set(
            wh.fetch_frame(f"select distinct article_id from {tickers_table(wh)} where tag_method = 'vendor'")[
                "article_id"
            ].to_list()
        ) | set(plan.vendor_tags["article_id"].to_list())
        all_titles = pl.concat(
            [stored_titles.cast(pl.Utf8), new_articles.select("article_id", "title")] if stored_titles.height
            else [new_articles.select("article_id", "title")]
        )
        matched = matcher_tags(all_titles, vendor_tagged, tagger, loaded_at)
        wh.replace_rows(
            [
                Replacement(
                    articles_table(wh), pl.concat([new_articles, rescored.cast(new_articles.schema)]),
                    "sentiment_method <> ?", (scorer.method,),
                ),  # fmt: skip
                Replacement(tickers_table(wh), matched, "tag_method <> 'vendor'"),
                Replacement(tickers_table(wh), plan.vendor_tags, "false"),
                Replacement(rejected_table(wh), plan.rejects, "false"),
            ]
        )
        totals = {t: wh.row_count(t) for t in (articles_table(wh), tickers_table(wh), rejected_table(wh))}
        tag_methods = wh.fetch_frame(
            f"select tag_method, count(*) as n from {tickers_table(wh)} group by tag_method order by tag_method"
        )
        duplicate_keys = _duplicate_keys(wh)

    loaded_outcome = validate_items(plan.loaded_items, loaded_at)
    balanced = {
        uri: c["input_records"] == c["loaded"] + c["duplicates"] + c["rejected"] for uri, c in plan.counts.items()
    }
    summary = {
        "input_records": sum(c["input_records"] for c in plan.counts.values()),
        "loaded": sum(c["loaded"] for c in plan.counts.values()),
        "duplicates": sum(c["duplicates"] for c in plan.counts.values()),
        "rejected": sum(c["rejected"] for c in plan.counts.values()),
    }
    context.log.info(f"news: {summary}; per input: {plan.counts}")
    yield MaterializeResult(
        asset_key=ARTICLES_KEY,
        metadata={
            "dagster/row_count": totals[articles_table(wh)],
            **summary,
            "rescored": rescored.height,
            "sentiment_method": scorer.method,
            "counts_per_input": MetadataValue.json(plan.counts),
            "feeds": MetadataValue.json({"configured": list(news_feeds.feeds), "raw_keys": feeds.raw_keys}),
            "new_articles_preview": MetadataValue.md(
                _markdown(new_articles.select("published_at", "publisher", "title", "sentiment_score"))
            ),
        },
    )
    yield MaterializeResult(
        asset_key=TICKERS_KEY,
        metadata={
            "dagster/row_count": totals[tickers_table(wh)],
            "rows_by_tag_method": MetadataValue.json(dict(tag_methods.iter_rows())),
            "vendor_tags_added": plan.vendor_tags.height,
            "matcher_tags": matched.height,
        },
    )
    yield MaterializeResult(
        asset_key=REJECTED_KEY,
        metadata={
            "dagster/row_count": totals[rejected_table(wh)],
            "rejected_this_run": summary["rejected"],
            "new_rejects": plan.rejects.height,
            "rejected_by_rule": MetadataValue.json(plan.input_outcome.failed_rows_by_rule),
            "new_rejects_preview": MetadataValue.md(
                _markdown(plan.rejects.select("source_uri", "source_line", "reason", "raw_record"))
            ),
        },
    )
    yield AssetCheckResult(
        asset_key=ARTICLES_KEY,
        check_name=ROWS_CHECK,
        passed=loaded_outcome.success and all(balanced.values()),
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "counts_balance_per_input": MetadataValue.json(balanced),
            "loaded_failed_by_rule": MetadataValue.json(loaded_outcome.failed_rows_by_rule),
            "input_rejected_by_rule": MetadataValue.json(plan.input_outcome.failed_rows_by_rule),
            "expectations_evaluated": loaded_outcome.evaluated_expectations,
        },
    )
    yield AssetCheckResult(
        asset_key=ARTICLES_KEY,
        check_name=UNIQUE_CHECK,
        passed=not any(duplicate_keys.values()),
        severity=AssetCheckSeverity.ERROR,
        metadata={"duplicated_keys": MetadataValue.json(duplicate_keys)},
    )
    yield AssetCheckResult(
        asset_key=ARTICLES_KEY,
        check_name=FEEDS_CHECK,
        passed=not feeds.errors,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "feeds_configured": len(news_feeds.feeds),
            "feeds_failed": MetadataValue.json(feeds.errors),
        },
    )

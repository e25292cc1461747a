"""The news code location: assets and checks, the ``news_feed_poll`` job and the sensor that
polls ``NEWS_FEEDS`` every ``NEWS_POLL_MINUTES`` (default 30)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRunStatus,
    RunRequest,
    SkipReason,
    build_sensor_context,
)
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.utils import make_new_run_id

from pydantic import ValidationError

from domain.settings import Settings
from pipelines.defs.news.sensors import interval_key, news_feed_poll_sensor
from pipelines.lib.resources import NewsFeedsResource

FEED = "https://news.test/yahoo-search.rss"


def _context(instance, feeds: list[str], poll_minutes: int = 30):
    return build_sensor_context(instance=instance, resources={"news_feeds": NewsFeedsResource(feeds=feeds, poll_minutes=poll_minutes)})


def test_news_assets_checks_and_lineage(definitions):
    graph = definitions.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"raw/news_articles", "raw/news_article_tickers", "raw/rejected_news", "staging/stg_news__articles",
            "marts/fct_news_articles", "marts/mart_news_daily"} <= keys  # fmt: skip
    checks = {c.name for c in graph.get_check_keys_for_assets({AssetKey(["raw", "news_articles"])})}
    assert checks == {"rows_pass_expectations", "articles_unique", "feeds_fetched"}
    assert AssetKey(["raw", "companies"]) in graph.get(AssetKey(["raw", "news_articles"])).parent_keys
    assert AssetKey(["raw", "news_articles"]) in graph.get(AssetKey(["staging", "stg_news__articles"])).parent_keys
    screener = graph.get(AssetKey(["marts", "mart_screener_latest"]))
    assert AssetKey(["marts", "mart_news_daily"]) in screener.parent_keys


def test_poll_job_covers_the_news_and_what_depends_on_it(definitions):
    job = definitions.resolve_job_def("news_feed_poll")
    selected = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    assert {"raw/news_articles", "marts/mart_news_daily", "marts/mart_screener_latest",
            "serving/warehouse_snapshot"} <= selected  # fmt: skip
    assert "raw/prices_daily" not in selected and "marts/fct_daily_indicators" not in selected


def test_sensor_interval_and_default_status(definitions):
    sensor = definitions.resolve_sensor_def("news_feed_poll_sensor")
    assert sensor.minimum_interval_seconds == 60  # the interval itself is in the run key
    assert sensor.default_status.value == "RUNNING"  # it skips with a reason while NEWS_FEEDS is empty
    assert Settings.from_values().news_poll_minutes == 30


def test_sensor_skips_without_feeds_and_requests_one_run_per_interval():
    with DagsterInstance.ephemeral() as instance:
        skipped = news_feed_poll_sensor(_context(instance, []))
        assert isinstance(skipped, SkipReason) and "NEWS_FEEDS is empty" in skipped.skip_message
        first = news_feed_poll_sensor(_context(instance, [FEED]))
        second = news_feed_poll_sensor(_context(instance, [FEED]))
        assert isinstance(first, RunRequest) and first.run_key == second.run_key
        assert first.run_key == f"news-poll-{interval_key(datetime.now(timezone.utc), 30)}"
        # a poll still running: no new request (DuckDB has one writer)
        instance.add_run(
            DagsterRun(job_name="news_feed_poll", run_id=make_new_run_id(), status=DagsterRunStatus.STARTED)
        )
        busy = news_feed_poll_sensor(_context(instance, [FEED]))
        assert isinstance(busy, SkipReason) and "has not finished" in busy.skip_message


def test_interval_key():
    assert interval_key(datetime(2025, 2, 25, 11, 29, 59, tzinfo=timezone.utc), 30) == "2025-02-25T11:00Z"
    assert interval_key(datetime(2025, 2, 25, 11, 30, tzinfo=timezone.utc), 30) == "2025-02-25T11:30Z"
    assert interval_key(datetime(2025, 2, 25, 11, 44, tzinfo=timezone.utc), 45) == "2025-02-25T11:15Z"


@pytest.mark.parametrize("bad", ["0", "-5", "half an hour"])
def test_poll_minutes_must_be_positive(monkeypatch, bad):
    monkeypatch.setenv("NEWS_POLL_MINUTES", bad)
    with pytest.raises(ValidationError, match="news_poll_minutes"):
        Settings()

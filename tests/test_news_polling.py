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

from domain.settings import get_settings, load_settings
from pipelines.definitions import defs
from pipelines.defs.news.polling import interval_key, news_feed_poll_sensor

FEED = "https://news.test/yahoo-search.rss"


@pytest.fixture()
def feeds(monkeypatch):
    """Set NEWS_FEEDS (and restore the settings cache afterwards)."""

    def set_feeds(value: str | None) -> None:
        if value is None:
            monkeypatch.delenv("NEWS_FEEDS", raising=False)
        else:
            monkeypatch.setenv("NEWS_FEEDS", value)
        get_settings.cache_clear()

    yield set_feeds
    get_settings.cache_clear()


def test_news_assets_checks_and_lineage():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"raw/news_articles", "raw/news_article_tickers", "raw/rejected_news", "staging/stg_raw__news_articles",
            "marts/fct_news_articles", "marts/mart_news_daily"} <= keys  # fmt: skip
    checks = {c.name for c in graph.get_check_keys_for_assets({AssetKey(["raw", "news_articles"])})}
    assert checks == {"rows_pass_expectations", "articles_unique", "feeds_fetched"}
    assert AssetKey(["raw", "companies"]) in graph.get(AssetKey(["raw", "news_articles"])).parent_keys
    assert AssetKey(["raw", "news_articles"]) in graph.get(AssetKey(["staging", "stg_raw__news_articles"])).parent_keys
    screener = graph.get(AssetKey(["marts", "mart_screener_latest"]))
    assert AssetKey(["marts", "mart_news_daily"]) in screener.parent_keys


def test_poll_job_covers_the_news_and_what_depends_on_it():
    job = defs.resolve_job_def("news_feed_poll")
    selected = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    assert {"raw/news_articles", "marts/mart_news_daily", "marts/mart_screener_latest",
            "serving/warehouse_snapshot"} <= selected  # fmt: skip
    assert "raw/prices_daily" not in selected and "marts/fct_daily_indicators" not in selected


def test_sensor_interval_and_default_status(feeds):
    feeds(None)
    sensor = defs.resolve_sensor_def("news_feed_poll_sensor")
    assert sensor.minimum_interval_seconds == 30 * 60 == load_settings().news_poll_minutes * 60
    assert sensor.default_status.value == "STOPPED"  # no NEWS_FEEDS when the code location loaded


def test_sensor_skips_without_feeds_and_requests_one_run_per_interval(feeds):
    with DagsterInstance.ephemeral() as instance:
        feeds(None)
        skipped = news_feed_poll_sensor(build_sensor_context(instance=instance))
        assert isinstance(skipped, SkipReason) and "NEWS_FEEDS is empty" in skipped.skip_message
        feeds(FEED)
        first = news_feed_poll_sensor(build_sensor_context(instance=instance))
        second = news_feed_poll_sensor(build_sensor_context(instance=instance))
        assert isinstance(first, RunRequest) and first.run_key == second.run_key
        assert first.run_key == f"news-poll-{interval_key(datetime.now(timezone.utc), 30)}"
        # a poll still running: no new request (DuckDB has one writer)
        instance.add_run(
            DagsterRun(job_name="news_feed_poll", run_id=make_new_run_id(), status=DagsterRunStatus.STARTED)
        )
        busy = news_feed_poll_sensor(build_sensor_context(instance=instance))
        assert isinstance(busy, SkipReason) and "has not finished" in busy.skip_message


def test_interval_key():
    assert interval_key(datetime(2025, 2, 25, 11, 29, 59, tzinfo=timezone.utc), 30) == "2025-02-25T11:00Z"
    assert interval_key(datetime(2025, 2, 25, 11, 30, tzinfo=timezone.utc), 30) == "2025-02-25T11:30Z"
    assert interval_key(datetime(2025, 2, 25, 11, 44, tzinfo=timezone.utc), 45) == "2025-02-25T11:15Z"


@pytest.mark.parametrize("bad", ["0", "-5", "half an hour"])
def test_poll_minutes_must_be_positive(monkeypatch, bad):
    monkeypatch.setenv("NEWS_POLL_MINUTES", bad)
    with pytest.raises(ValueError, match="NEWS_POLL_MINUTES"):
        load_settings()

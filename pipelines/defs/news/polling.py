"""Polling the news feeds: job ``news_feed_poll`` and sensor ``news_feed_poll_sensor``.

The job materialises the news assets and everything downstream of them (dbt news models, the
screener mart, the snapshot), so a poll that finds new headlines reaches the app; the alerts
group is left out (``alerts_after_build_sensor`` evaluates the alerts after the poll). The sensor
requests one run per ``NEWS_POLL_MINUTES`` interval (default 30) while ``NEWS_FEEDS`` lists at
least one feed; it is switched on by default only then (``default_status``), and skips with a
reason when the list is empty. A new run is not requested while the previous poll is still
queued or running (DuckDB has a single writer). The run key is the start of the interval, so
a sensor evaluated twice in one interval requests one run.
"""

from datetime import datetime, timezone

from dagster import (
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    sensor,
)

from pipelines.defs.news.assets import news
from pipelines.lib.runs import active_run
from pipelines.lib.settings import get_settings

news_feed_poll_job = define_asset_job(
    name="news_feed_poll",
    selection=AssetSelection.assets(news).downstream() - AssetSelection.groups("alerts"),
    description="Fetch the RSS/Atom feeds of NEWS_FEEDS (and re-read the bundled headline files), then "
    "rebuild the dbt models downstream of the news tables and publish the snapshot.",
)



def interval_key(now: datetime, minutes: int) -> str:
    """Start of the ``minutes``-long interval containing ``now`` (UTC, ISO), the run key."""
    seconds = minutes * 60
    start = int(now.timestamp()) // seconds * seconds
    return datetime.fromtimestamp(start, timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


@sensor(
    job=news_feed_poll_job,
    minimum_interval_seconds=get_settings().news_poll_minutes * 60,
    default_status=DefaultSensorStatus.RUNNING if get_settings().news_feeds else DefaultSensorStatus.STOPPED,
    description="Every NEWS_POLL_MINUTES (default 30) minutes while NEWS_FEEDS is set: run news_feed_poll.",
)
def news_feed_poll_sensor(context: SensorEvaluationContext):
    settings = get_settings()
    if not settings.news_feeds:
        return SkipReason("NEWS_FEEDS is empty: no feed to poll (the bundled headlines load with the build)")
    active = active_run(context.instance, [news_feed_poll_job.name])
    if active is not None:
        return SkipReason(f"the previous poll {active.run_id} has not finished")
    key = interval_key(datetime.now(timezone.utc), settings.news_poll_minutes)
    return RunRequest(run_key=f"news-poll-{key}", tags={"news_feeds": str(len(settings.news_feeds))})

"""Sensor ``news_feed_poll_sensor``: one ``news_feed_poll`` run per polling interval.

It is evaluated every minute and requests one run per ``NEWS_POLL_MINUTES`` interval (default
30; the run key is the start of the interval, so the minutes in between request nothing new)
while ``NEWS_FEEDS`` lists at least one feed, and skips with a reason when the list is empty
(both come from the ``news_feeds`` resource). A new run is not requested while the previous poll
is still queued or running (DuckDB has a single writer).
"""

from datetime import datetime, timezone

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from pipelines.defs.news.jobs import news_feed_poll_job
from pipelines.lib.resources import NewsFeedsResource
from pipelines.lib.runs import active_run


def interval_key(now: datetime, minutes: int) -> str:
    """Start of the ``minutes``-long interval containing ``now`` (UTC, ISO), the run key."""
    seconds = minutes * 60
    start = int(now.timestamp()) // seconds * seconds
    return datetime.fromtimestamp(start, timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


@sensor(
    job=news_feed_poll_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Every NEWS_POLL_MINUTES (default 30) minutes while NEWS_FEEDS is set: run news_feed_poll.",
)
def news_feed_poll_sensor(context: SensorEvaluationContext, news_feeds: NewsFeedsResource):
    if not news_feeds.feeds:
        return SkipReason("NEWS_FEEDS is empty: no feed to poll (the bundled headlines load with the build)")
    active = active_run(context.instance, [news_feed_poll_job.name])
    if active is not None:
        return SkipReason(f"the previous poll {active.run_id} has not finished")
    key = interval_key(datetime.now(timezone.utc), news_feeds.poll_minutes)
    return RunRequest(run_key=f"news-poll-{key}", tags={"news_feeds": str(len(news_feeds.feeds))})

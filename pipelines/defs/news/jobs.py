"""Job ``news_feed_poll``: the news assets and everything downstream of them (dbt news models,
the screener mart, the snapshot), so a poll that finds new headlines reaches the app; the alerts
group is left out (``alerts_after_build_sensor`` evaluates the alerts after the poll)."""

from dagster import AssetSelection, define_asset_job

from pipelines.defs.news.assets import news

news_feed_poll_job = define_asset_job(
    name="news_feed_poll",
    selection=AssetSelection.assets(news).downstream() - AssetSelection.groups("alerts"),
    description="Fetch the RSS/Atom feeds of NEWS_FEEDS (and re-read the bundled headline files), then "
    "rebuild the dbt models downstream of the news tables and publish the snapshot.",
)

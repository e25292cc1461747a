"""News headlines: bundled files and RSS/Atom feeds -> raw news tables (tagged, scored), polled by
a sensor when feeds are configured."""

from dagster import Definitions

from pipelines.defs.news.assets import news
from pipelines.defs.news.polling import news_feed_poll_job, news_feed_poll_sensor

defs = Definitions(assets=[news], jobs=[news_feed_poll_job], sensors=[news_feed_poll_sensor])

"""One weekday schedule per price feed, after its market's data is ready: load the session that
just closed on that market and update the marts (``prices_update``, the incremental path).

The times come from the markets seed (:mod:`domain.markets`): ``data_ready_time_local`` in the
market's time zone, Monday to Friday; exchange holidays of the feed's calendar are skipped.
``weekday_after_close_schedule``: feed ``us``, 18:30 New York (NYSE closes at 16:00);
``krx_after_close_schedule``: feed ``krx``, 18:00 Seoul (KRX closes at 15:30; the day's data is
final after 18:00). A new market's feed gets its schedule from its seed row.
"""

from __future__ import annotations

from dagster import RunRequest, ScheduleDefinition, ScheduleEvaluationContext, schedule

from domain.markets import markets
from pipelines.defs.build.jobs import prices_update_job, warehouse_build_run_config
from pipelines.defs.prices.feeds import PriceFeed, price_feeds
from pipelines.lib.sessions import is_session

#: Schedule name per feed (the US one keeps the name it had before markets were data).
SCHEDULE_NAMES = {"us": "weekday_after_close_schedule"}


def after_close_schedule(feed: PriceFeed) -> ScheduleDefinition:
    """The weekday schedule of ``feed`` at its market's data-ready time, local time."""
    market = markets()[feed.markets[0]]
    ready = market.data_ready_time_local
    close = market.close_time_local.strftime("%H:%M")

    @schedule(
        name=SCHEDULE_NAMES.get(feed.name, f"{feed.name}_after_close_schedule"),
        job=prices_update_job,
        cron_schedule=f"{ready.minute} {ready.hour} * * 1-5",
        execution_timezone=market.time_zone,
        description=f"{ready.strftime('%H:%M')} {market.time_zone} time, Monday to Friday ({feed.exchange} closes "
        f"at {close}): loads that session of the {feed.name} price feed ({', '.join(feed.markets)}) and updates "
        "the marts downstream of the prices from it (prices_update, the incremental path; needs a first "
        "warehouse_build); skips the exchange's holidays.",
    )
    def _after_close(context: ScheduleEvaluationContext):
        day = context.scheduled_execution_time.date()
        if not is_session(day, feed.exchange):
            return
        session = day.isoformat()
        yield RunRequest(
            run_key=f"{feed.name}:{session}",
            run_config=warehouse_build_run_config(session, session, price_feeds=[feed.name]),
            tags={"prices/session": session, "prices/feed": feed.name},
        )

    return _after_close


after_close_schedules = [after_close_schedule(feed) for feed in price_feeds().values()]

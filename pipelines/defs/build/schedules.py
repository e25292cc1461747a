"""Weekday schedule after the US close: load the session that just closed and rebuild."""

from dagster import RunRequest, ScheduleEvaluationContext, schedule

from domain.calendar import EXCHANGE_TIMEZONE
from pipelines.defs.build.jobs import warehouse_build_job
from pipelines.lib.partitions import trading_day_partitions


@schedule(
    job=warehouse_build_job,
    cron_schedule="30 18 * * 1-5",
    execution_timezone=EXCHANGE_TIMEZONE,
    description="18:30 New York time, Monday to Friday (NYSE closes at 16:00); skips holidays.",
)
def weekday_after_close_schedule(context: ScheduleEvaluationContext):
    """Request the latest session partition (none on exchange holidays)."""
    session = context.scheduled_execution_time.date().isoformat()
    if not trading_day_partitions().has_partition_key(session):
        return
    yield RunRequest(run_key=session, partition_key=session)

"""Weekday schedule after the US close: load the session that just closed and update the marts."""

from dagster import RunRequest, ScheduleEvaluationContext, schedule

from domain.calendar import EXCHANGE_TIMEZONE
from pipelines.defs.build.jobs import prices_update_job, warehouse_build_run_config
from pipelines.lib.sessions import is_session


@schedule(
    job=prices_update_job,
    cron_schedule="30 18 * * 1-5",
    execution_timezone=EXCHANGE_TIMEZONE,
    description="18:30 New York time, Monday to Friday (NYSE closes at 16:00): loads that session "
    "and updates the marts downstream of the prices from it (prices_update, the incremental path; "
    "needs a first warehouse_build); skips holidays.",
)
def weekday_after_close_schedule(context: ScheduleEvaluationContext):
    """Request the session that just closed (none on exchange holidays)."""
    day = context.scheduled_execution_time.date()
    if not is_session(day):
        return
    session = day.isoformat()
    yield RunRequest(
        run_key=session, run_config=warehouse_build_run_config(session, session), tags={"prices/session": session}
    )

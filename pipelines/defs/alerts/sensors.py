"""Sensors that request ``alerts_evaluate`` (all switched on by default).

``alerts_after_build_sensor``
    run-status sensor: each SUCCESS of a job that rebuilds the marts (:data:`MARTS_JOBS`:
    ``warehouse_build``, ``prices_update``, ``portfolio_refresh``, ``news_feed_poll``) requests one
    ``alerts_evaluate`` run (run key ``alerts-after-<run id>``: once per build).
``alert_rules_sensor``
    every 30 s: a SHA-256 of ``ALERT_RULES_FILE`` (of its example ``rules.example.yml`` while
    the file does not exist, ``missing`` when neither does) is kept in the cursor; a different
    value requests a run. The first tick only records the fingerprint (the build evaluates the
    rules). The app's first-use copy of the example keeps the bytes, so it requests no run. An invalid file is reported as the skip reason, and the cursor
    is not advanced, so the fixed file is picked up.
``alert_delivery_retry_sensor``
    every 60 s: when pending deliveries are due, requests a run (at most one per
    ``ALERT_RETRY_MINUTES`` interval: run key ``alert-retry-<interval start>``). On DuckDB it reads
    the published snapshot (opening the writer's file, even read-only, would block a build from
    taking its write lock), which every ``alerts_evaluate`` run republishes; on PostgreSQL the
    live tables.

The rules and retry sensors skip, without advancing, while any run is queued or in progress:
DuckDB allows one writer, and runs of the same job must not deliver the same outbox row twice.
"""

from datetime import UTC

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    RunStatusSensorContext,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from domain.alerts.rules import RulesFileError
from domain.alerts.store import load_rules, rules_file_fingerprint
from domain.warehouse.readers import DATABASE_ERRORS
from pipelines.defs.alerts.delivery import due_count, utc_now
from pipelines.defs.alerts.jobs import alerts_evaluate_job
from pipelines.defs.news.sensors import interval_key
from pipelines.lib.resources import AlertsResource, WarehouseResource
from pipelines.lib.runs import active_run
from pipelines.lib.sensors import after_rebuild_sensor

#: Jobs whose success means the marts were rebuilt.
MARTS_JOBS = ("warehouse_build", "prices_update", "portfolio_refresh", "news_feed_poll")


def _alerts_request(context: RunStatusSensorContext, run) -> RunRequest:
    return RunRequest(run_key=f"alerts-after-{run.run_id}", tags={"alerts/after_job": run.job_name,
                                                                 "alerts/after_run": run.run_id})  # fmt: skip


alerts_after_build_sensor = after_rebuild_sensor(
    "alerts_after_build_sensor",
    alerts_evaluate_job,
    MARTS_JOBS,
    "After each successful warehouse_build, prices_update, portfolio_refresh or news_feed_poll run: "
    "evaluate the alert rules on the rebuilt marts (alerts_evaluate).",
    _alerts_request,
)


@sensor(
    name="alert_rules_sensor",
    job=alerts_evaluate_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="When ALERT_RULES_FILE changes (rules added, paused, deleted, edited in the app or by "
    "hand): evaluate the rules (alerts_evaluate).",
)
def alert_rules_sensor(context: SensorEvaluationContext, alerts: AlertsResource):
    path = alerts.rules_path
    fingerprint = rules_file_fingerprint(path)
    if context.cursor is None:
        context.update_cursor(fingerprint)
        return SkipReason(f"recorded the fingerprint of {path}; later changes trigger alerts_evaluate")
    if fingerprint == context.cursor:
        return SkipReason(f"{path} unchanged")
    try:
        rules = load_rules(path)
    except RulesFileError as error:
        return SkipReason(f"{path} changed but is invalid, not evaluated:\n{error}")
    busy = active_run(context.instance)
    if busy is not None:
        return SkipReason(f"run {busy.run_id} ({busy.job_name}) is in progress; the change is picked up after it")
    context.update_cursor(fingerprint)
    return RunRequest(tags={"alerts/rules_fingerprint": fingerprint[:16], "alerts/rules": str(len(rules))})


@sensor(
    name="alert_delivery_retry_sensor",
    job=alerts_evaluate_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Every minute: when notifications that failed are due for a retry, run alerts_evaluate "
    "(at most once per ALERT_RETRY_MINUTES).",
)
def alert_delivery_retry_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource, alerts: AlertsResource):
    busy = active_run(context.instance)
    if busy is not None:
        return SkipReason(f"run {busy.run_id} ({busy.job_name}) is in progress")
    now = utc_now()
    try:
        with warehouse.read_published() as reader:
            due = 0 if reader is None else due_count(reader, now)
    except DATABASE_ERRORS as error:
        return SkipReason(f"the published snapshot could not be read: {error}")
    if not due:
        return SkipReason("no pending alert delivery is due")
    key = interval_key(now.replace(tzinfo=UTC), alerts.retry_minutes)
    return RunRequest(run_key=f"alert-retry-{key}", tags={"alerts/due_deliveries": str(due)})

"""A failed ``warehouse_build`` or ``prices_update`` raises an alert: the daily run's gate kept the previous snapshot.

When a build fails (the blocking completeness check of a daily run: its session has rows for
fewer than 95 % of the universe; a file that fails the row suite; a dbt test), nothing new is
published and analysts keep the previous snapshot. :func:`build_failure_event` makes that an
alert event (``rule_id`` ``build_failed``, ``rule_type`` ``pipeline``, no ticker) naming the run,
each failed step's message and what analysts keep; :func:`send_build_failure` sends it through
every configured channel (the run log always, ``ALERT_WEBHOOK_URL`` and e-mail when set), and
never raises (a channel's error is returned). It is sent by :data:`build_failure_alert_sensor`
(runs launched by the daemon: the weekday schedule, the UI) and by ``python -m pipelines.build``
(in-process runs, which no sensor sees).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from dagster import DefaultSensorStatus, RunFailureSensorContext, run_failure_sensor

from pipelines.defs.alerts.channels import ChannelNotConfigured, configured_channels
from pipelines.defs.build.jobs import prices_update_job, warehouse_build_job
from pipelines.lib.resources import AlertsResource

BUILD_FAILED_RULE = "build_failed"


def build_failure_event(
    run_id: str, errors: Sequence[str], kept: str, now: datetime | None = None, job_name: str = "warehouse_build"
) -> dict[str, Any]:
    """The alert event of a failed build (run ``run_id`` of job ``job_name``): the fields of
    :func:`pipelines.defs.alerts.channels.event_payload` (``observed_value`` = failed steps)."""
    now = (now or datetime.now(UTC)).replace(tzinfo=None, microsecond=0)
    lines = "; ".join(error.splitlines()[0] for error in errors) or "the run failed"
    return {
        "event_id": hashlib.sha256(f"{BUILD_FAILED_RULE}|{run_id}".encode()).hexdigest()[:32],
        "rule_id": BUILD_FAILED_RULE,
        "rule_type": "pipeline",
        "ticker": None,
        "trade_date": date(now.year, now.month, now.day),
        "observed_value": float(len(errors)),
        "threshold": None,
        "message": f"{job_name} run {run_id} failed, nothing new was published ({lines}); "
        f"analysts and BI keep {kept}",
        "fired_at": now,
    }


def send_build_failure(
    alerts: AlertsResource, event: Mapping[str, Any], run_log: Callable[[str], None] | None = None
) -> dict[str, str]:
    """Send ``event`` to the log and every configured channel; ``{channel: "sent" | error}``
    (a channel that is not configured is left out)."""
    outcome = {}
    for name, channel in configured_channels(alerts.webhook_url, alerts.smtp, run_log=run_log).items():
        try:
            channel.send(event)
            outcome[name] = "sent"
        except ChannelNotConfigured:
            continue
        except Exception as error:  # noqa: BLE001 - a failing channel must not hide the others
            outcome[name] = f"{type(error).__name__}: {error}"
    return outcome


@run_failure_sensor(
    monitored_jobs=[warehouse_build_job, prices_update_job],
    default_status=DefaultSensorStatus.RUNNING,
    description="Each failed warehouse_build or prices_update run (e.g. the daily run's session below the 95 % completeness "
    "gate) sends a build_failed alert through the configured channels: nothing new was published and "
    "analysts keep the previous snapshot.",
)
def build_failure_alert_sensor(context: RunFailureSensorContext, alerts: AlertsResource):
    """Send the failed run's alert (its failed steps' messages)."""
    errors = []
    for event in context.get_step_failure_events():
        error = event.event_specific_data.error
        message = (error.cause or error).message.strip() if error else "failed"
        errors.append(f"{event.step_key}: {message}")
    event = build_failure_event(
        context.dagster_run.run_id, errors, "the previous published build", job_name=context.dagster_run.job_name
    )
    outcome = send_build_failure(alerts, event, run_log=context.log.info)
    context.log.info(f"build_failed alert for run {context.dagster_run.run_id}: {outcome}")

"""Run-status sensors that request a job after each successful run of the jobs that rebuild the
marts: one shape for every "after a build" sensor (alerts, backtests)."""

from __future__ import annotations

from collections.abc import Callable, Collection

from dagster import (
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunStatusSensorContext,
    SkipReason,
    run_status_sensor,
)

#: What an after-rebuild sensor requests for a finished rebuild: a run, or the reason it skips.
RebuildRequest = Callable[[RunStatusSensorContext, DagsterRun], RunRequest | SkipReason]


def after_rebuild_sensor(
    name: str,
    request_job: object,
    rebuild_jobs: Collection[str],
    description: str,
    request: RebuildRequest,
):
    """A run-status sensor ``name`` (on by default): on each SUCCESS of a job in
    ``rebuild_jobs`` it returns ``request(context, run)`` for ``request_job`` (a job definition or
    a ``define_asset_job`` result); a run of any other
    job is skipped with the reason ``<job> does not rebuild the marts``."""

    @run_status_sensor(
        name=name,
        run_status=DagsterRunStatus.SUCCESS,
        request_job=request_job,
        default_status=DefaultSensorStatus.RUNNING,
        description=description,
    )
    def _after_rebuild(context: RunStatusSensorContext):
        run = context.dagster_run
        if run.job_name not in rebuild_jobs:
            return SkipReason(f"{run.job_name} does not rebuild the marts ({', '.join(rebuild_jobs)} do)")
        return request(context, run)

    return _after_rebuild

"""Which Dagster runs are active: sensors use it to wait while a run writes the warehouse
(DuckDB has a single writer)."""

from __future__ import annotations

from collections.abc import Iterable

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter

#: Statuses of a run that has been requested and has not finished.
ACTIVE_STATUSES = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
                   DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]  # fmt: skip


def active_run(instance: DagsterInstance, job_names: Iterable[str] | None = None) -> DagsterRun | None:
    """A queued or in-progress run of one of ``job_names`` (of any job when None), if any."""
    if job_names is None:
        runs = instance.get_runs(filters=RunsFilter(statuses=ACTIVE_STATUSES), limit=1)
        return runs[0] if runs else None
    for job_name in job_names:
        runs = instance.get_runs(filters=RunsFilter(job_name=job_name, statuses=ACTIVE_STATUSES), limit=1)
        if runs:
            return runs[0]
    return None

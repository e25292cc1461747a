"""Which Dagster runs are active: sensors use it to wait while a run writes the warehouse
(DuckDB has a single writer).

A run whose process was killed (``kill -9`` of ``make build``, a crashed machine) would stay
``STARTED`` for ever, and every sensor waiting for it would skip for good. Two things prevent
that:

* runs made in process by ``python -m pipelines.build`` carry the host and process id that runs
  them (:func:`process_tags`); :func:`active_run` reports such a run as failed once that process
  is gone (on the same host), and looks on;
* runs launched by the daemon are watched by Dagster's own run monitoring (``run_monitoring`` in
  ``dagster_home/dagster.yaml`` and ``deploy/dagster.yaml``), which fails a run whose worker died.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter

#: Statuses of a run that has been requested and has not finished.
ACTIVE_STATUSES = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
                   DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]  # fmt: skip

HOST_TAG = "stock_warehouse/host"
PID_TAG = "stock_warehouse/pid"


def process_tags() -> dict[str, str]:
    """Tags naming the host and process that execute a run in process."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def orphaned(run: DagsterRun) -> bool:
    """Whether ``run`` was executed in process (:func:`process_tags`) on this host by a process
    that no longer exists."""
    host, pid = run.tags.get(HOST_TAG), run.tags.get(PID_TAG)
    if host != socket.gethostname() or not (pid or "").isdigit():
        return False
    return not _process_alive(int(pid))


def active_run(instance: DagsterInstance, job_names: Iterable[str] | None = None) -> DagsterRun | None:
    """A queued or in-progress run of one of ``job_names`` (of any job when None), if any. A run
    whose process is gone (:func:`orphaned`) is reported as failed on the way, not returned."""
    filters = [RunsFilter(statuses=ACTIVE_STATUSES)] if job_names is None else [
        RunsFilter(job_name=name, statuses=ACTIVE_STATUSES) for name in job_names
    ]  # fmt: skip
    for runs_filter in filters:
        for run in instance.get_runs(filters=runs_filter):
            if orphaned(run):
                instance.report_run_failed(
                    run, f"the process {run.tags[PID_TAG]} on {run.tags[HOST_TAG]} that ran it is gone (killed?)"
                )
                continue
            return run
    return None

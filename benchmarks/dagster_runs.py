"""Where the time of a ``python -m pipelines.build`` goes, read back from its Dagster instance.

:func:`step_seconds` sums the step durations (``STEP_SUCCESS`` / ``STEP_FAILURE`` events: the
assets' compute plus Dagster's handling of the events each step yields) of every run recorded
in a ``DAGSTER_HOME`` folder; the rest of the process's wall time is Dagster and process
overhead outside asset compute: interpreter start and imports, loading the definitions, creating
the runs (planned-materialization events), starting and ending the steps.
"""

from __future__ import annotations

from pathlib import Path

from dagster import DagsterEventType, DagsterInstance
from dagster._core.instance.ref import InstanceRef


def run_ids(dagster_home: Path) -> set[str]:
    """Ids of the runs recorded in the instance of ``dagster_home``."""
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home)))
    try:
        return {run.run_id for run in instance.get_runs()}
    finally:
        instance.dispose()


def step_seconds(dagster_home: Path, skip_runs: set[str] = frozenset()) -> dict[str, float]:
    """``{"<job>/<step>": seconds}`` over the runs of the instance in ``dagster_home`` but
    ``skip_runs`` (e.g. those recorded before the measured command)."""
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home)))
    try:
        seconds: dict[str, float] = {}
        for run in instance.get_runs():
            if run.run_id in skip_runs:
                continue
            for record in instance.all_logs(run.run_id, of_type={DagsterEventType.STEP_SUCCESS,
                                                                  DagsterEventType.STEP_FAILURE}):  # fmt: skip
                event = record.dagster_event
                duration = getattr(event.event_specific_data, "duration_ms", None) or 0
                key = f"{run.job_name}/{event.step_key}"
                seconds[key] = seconds.get(key, 0.0) + duration / 1000
        return seconds
    finally:
        instance.dispose()

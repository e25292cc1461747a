"""Sensors of the backtests (switched on by default).

``strategy_files_sensor``
    every 30 s: keeps the dynamic partitions ``strategies`` equal to the stems of
    ``STRATEGIES_DIR/*.yml`` (adds new files, deletes the partitions of removed ones) and requests
    a ``backtests_run`` of each new or changed file (SHA-256 per file in the cursor; run key
    ``strategy-<stem>-<sha256 prefix>``). The first tick records the fingerprints only (the build
    runs every strategy).
``backtests_after_build_sensor``
    run-status sensor: each SUCCESS of a job that rebuilds the marts (``warehouse_build``,
    ``prices_update``) requests one ``backtests_run`` of every strategy partition (one run, run
    key ``backtests-after-<run id>``).

``strategy_files_sensor`` skips, without advancing, while a run is queued or in progress (DuckDB
allows one writer); the run-status sensor's requests queue behind the running ones.
"""

from __future__ import annotations

import hashlib
import json

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    RunStatusSensorContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from pipelines.defs.backtests.assets import STRATEGY_PARTITIONS
from pipelines.defs.backtests.jobs import backtests_run_job
from pipelines.lib.resources import StrategiesResource
from pipelines.lib.runs import active_run
from pipelines.lib.sensors import after_rebuild_sensor

#: Jobs whose success means the marts a backtest reads were rebuilt.
REBUILD_JOBS = ("warehouse_build", "prices_update")


def range_tags(keys: list[str]) -> dict[str, str]:
    """Run tags that make one run materialise the partitions ``keys[0]..keys[-1]``."""
    return {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}


@sensor(
    name="strategy_files_sensor",
    job=backtests_run_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Keeps one partition per strategy file of STRATEGIES_DIR and runs a strategy when its file "
    "is added or changed (backtests_run).",
)
def strategy_files_sensor(context: SensorEvaluationContext, strategies: StrategiesResource):
    if active_run(context.instance):
        return SkipReason("a run is queued or in progress: waiting (DuckDB allows one writer)")
    files = strategies.strategy_files()
    fingerprints = {key: hashlib.sha256(path.read_bytes()).hexdigest() for key, path in files.items()}
    known = set(context.instance.get_dynamic_partitions(STRATEGY_PARTITIONS.name))
    added = sorted(set(files) - known)
    removed = sorted(known - set(files))
    requests = []
    if context.cursor is not None:
        previous = json.loads(context.cursor)
        changed = sorted(key for key, sha in fingerprints.items() if previous.get(key) != sha)
        requests = [
            RunRequest(run_key=f"strategy-{key}-{fingerprints[key][:16]}", partition_key=key) for key in changed
        ]
    context.update_cursor(json.dumps(fingerprints, sort_keys=True))
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[
            *([STRATEGY_PARTITIONS.build_add_request(added)] if added else []),
            *([STRATEGY_PARTITIONS.build_delete_request(removed)] if removed else []),
        ],
    )


def _backtests_request(context: RunStatusSensorContext, run) -> RunRequest | SkipReason:
    keys = sorted(context.instance.get_dynamic_partitions(STRATEGY_PARTITIONS.name))
    if not keys:
        return SkipReason("no strategy partitions (no strategy files seen yet)")
    return RunRequest(
        run_key=f"backtests-after-{run.run_id}", tags={**range_tags(keys), "backtests/after_run": run.run_id}
    )


backtests_after_build_sensor = after_rebuild_sensor(
    "backtests_after_build_sensor",
    backtests_run_job,
    REBUILD_JOBS,
    "After each successful warehouse_build or prices_update run: run every strategy on the rebuilt marts "
    "(backtests_run, one run for all partitions).",
    _backtests_request,
)

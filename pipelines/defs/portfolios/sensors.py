"""Sensor ``portfolio_files_sensor``: watches ``PORTFOLIOS_DIR`` (the ``portfolio_files`` resource).

The sensor (on by default, evaluated at most
every 30 s) fingerprints the transaction files (``*.csv``: name -> SHA-256 of the bytes) and
keeps the fingerprint in its cursor; when a file is new, changed or deleted it requests one
run, and skips with a reason otherwise. While a ``portfolio_refresh`` or ``warehouse_build``
run is queued or running it skips without moving the cursor (DuckDB has a single writer), so
the change is picked up by the next evaluation after that run.

First evaluation (no cursor yet: a new instance, or the first ``make demo`` right after its
build): the files are compared with those the last load of ``raw/portfolio_transactions`` read
from the same folder, which that asset records in its materialization (``per_file``: each
file's SHA-256, ``portfolios_dir``; :func:`last_loaded_files`). Unchanged, the cursor starts from
them and nothing is requested (the build has just loaded them); otherwise the differences
request a run. Without such a load the baseline is no files: an empty folder requests nothing.

Run key: ``portfolios-<generation>-<fingerprint hash>``, the generation being the number of
changes the sensor has seen. The fingerprint alone would not do: Dagster never starts a run
key twice, so a file changed and then changed back would not be reloaded.
"""

import json
from hashlib import sha256
from pathlib import Path

from dagster import (
    AssetKey,
    DagsterInstance,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from domain.portfolios.store import file_sha256, transaction_files
from pipelines.defs.portfolios.assets import PORTFOLIO_TRANSACTIONS_KEY
from pipelines.defs.portfolios.jobs import portfolio_refresh_job
from pipelines.lib.resources import PortfolioFilesResource
from pipelines.lib.runs import active_run

BUSY_JOBS = ("portfolio_refresh", "warehouse_build", "prices_update", "alerts_evaluate")


def files_fingerprint(directory: Path) -> dict[str, str]:
    """``{file name: SHA-256 of its bytes}`` of the transaction files of ``directory``."""
    return {path.name: file_sha256(path.read_bytes()) for path in transaction_files(directory)}


def fingerprint_hash(files: dict[str, str]) -> str:
    """One hex digest for a whole fingerprint (order-independent)."""
    return sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def last_loaded_files(instance: DagsterInstance, directory: Path) -> dict[str, str] | None:
    """``{file name: SHA-256}`` of the transaction files the latest materialization of
    ``raw/portfolio_transactions`` read (its ``per_file`` metadata), when it read ``directory``;
    None when there is none, it read another folder, or it lacks that metadata."""
    event = instance.get_latest_materialization_event(AssetKey(PORTFOLIO_TRANSACTIONS_KEY))
    materialization = event.asset_materialization if event is not None else None
    if materialization is None:
        return None
    folder, per_file = materialization.metadata.get("portfolios_dir"), materialization.metadata.get("per_file")
    if folder is None or per_file is None or Path(str(folder.value)).resolve() != directory.resolve():
        return None
    return {name: entry["file_sha256"] for name, entry in per_file.value.items()}


def describe_changes(before: dict[str, str], after: dict[str, str]) -> str:
    """``added a.csv; changed b.csv; deleted c.csv`` (the parts that apply)."""
    parts = {
        "added": sorted(set(after) - set(before)),
        "changed": sorted(n for n in set(after) & set(before) if after[n] != before[n]),
        "deleted": sorted(set(before) - set(after)),
    }
    return "; ".join(f"{kind} {', '.join(names)}" for kind, names in parts.items() if names)


@sensor(
    job=portfolio_refresh_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="When a transaction file of PORTFOLIOS_DIR is added, changed or deleted: run portfolio_refresh.",
)
def portfolio_files_sensor(context: SensorEvaluationContext, portfolio_files: PortfolioFilesResource):
    directory = portfolio_files.path
    files = files_fingerprint(directory)
    cursor = json.loads(context.cursor) if context.cursor else None
    if cursor is not None:
        before, generation = cursor["files"], cursor["generation"]
        if before == files:
            return SkipReason(f"no transaction file added, changed or deleted in {directory} ({_files(len(files))})")
    else:
        loaded = last_loaded_files(context.instance, directory)
        before, generation = loaded or {}, 0
        if before == files:
            context.update_cursor(json.dumps({"generation": generation, "files": files}, sort_keys=True))
            return SkipReason(
                f"first evaluation: the {_files(len(files), 'transaction ')} of {directory} are those the last load read"
                if loaded is not None
                else f"first evaluation: no transaction file in {directory} and none loaded yet"
            )
    busy = active_run(context.instance, BUSY_JOBS)
    if busy is not None:
        return SkipReason(f"{busy.job_name} run {busy.run_id} has not finished; the change is picked up after it")
    generation += 1
    changes = describe_changes(before, files)
    if cursor is None:
        changes = f"since the last load: {changes}" if loaded is not None else f"nothing loaded yet: {changes}"
    context.update_cursor(json.dumps({"generation": generation, "files": files}, sort_keys=True))
    context.log.info(f"portfolio files in {directory}: {changes}")
    return RunRequest(
        run_key=f"portfolios-{generation}-{fingerprint_hash(files)[:16]}",
        tags={"portfolio_changes": changes[:200]},
    )


def _files(count: int, kind: str = "") -> str:
    """``count`` with its noun: ``1 file``, ``2 transaction files``."""
    return f"{count} {kind}file" if count == 1 else f"{count} {kind}files"

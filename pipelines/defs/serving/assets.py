"""``serving/warehouse_snapshot``: publish the built warehouse for readers.

Runs after every mart, after ``alerts/alert_events`` (so the ``alerts_evaluate`` job
publishes the events it wrote) and after ``backtests/strategy_runs`` (``backtests_run`` publishes
the runs it stored): copies ``WAREHOUSE_PATH`` to ``WAREHOUSE_SNAPSHOT_PATH`` atomically
(see :func:`domain.warehouse.duckdb_backend.publish_snapshot`) and stamps it with
``meta.build_info``. The Streamlit app and BI tools read the snapshot, so they keep
working, on the last completed build, while a new build writes. On PostgreSQL it records
``meta.build_info`` and, when ``BI_READER_PASSWORD`` is set, gives the ``bi_reader`` role (created
by dbt's on-run-end hook) that password, and ``APP_READER_PASSWORD`` to ``app_reader``, sending
only their SCRAM-SHA-256 verifiers; the grants of both roles on ``alerts`` and ``meta`` follow.
"""

from datetime import datetime, timezone

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from domain.warehouse.sql import APP_READER_ROLE, BI_READER_ROLE
from pipelines.defs.backtests.assets import STRATEGY_RUNS_KEY
from pipelines.defs.dbt.assets import dbt_models
from pipelines.lib.resources import WarehouseResource

MART_KEYS = sorted((key for key in dbt_models.keys if key.path[0] == "marts"), key=AssetKey.to_user_string)
ALERT_EVENTS_KEY = AssetKey(["alerts", "alert_events"])


@asset(
    key=["serving", "warehouse_snapshot"],
    deps=[*MART_KEYS, ALERT_EVENTS_KEY, STRATEGY_RUNS_KEY],
    group_name="serving",
    kinds={"duckdb", "postgres"},
    owners=["team:data-engineering"],
    description="Read-only copy of the warehouse as of the last completed build, swapped in "
    "atomically; what the Streamlit app and BI tools open.",
)
def warehouse_snapshot(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    built_at = datetime.now(timezone.utc)
    with warehouse.connect() as wh:
        metadata = wh.publish(context.run.run_id, built_at)
        for role, password in ((BI_READER_ROLE, warehouse.bi_reader_password),
                               (APP_READER_ROLE, warehouse.app_reader_password)):  # fmt: skip
            if wh.backend == "postgres" and password:
                # the verifier, never the password, reaches the server (see set_role_password)
                wh.set_role_password(role, password)
                metadata[f"{role}_password"] = "set (SCRAM-SHA-256 verifier)"
    return MaterializeResult(metadata={**metadata, "backend": wh.backend, "built_at": built_at.isoformat()})

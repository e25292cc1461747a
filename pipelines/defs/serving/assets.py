"""``serving/warehouse_snapshot``: publish the built warehouse for readers.

Runs after every mart: copies ``WAREHOUSE_PATH`` to ``WAREHOUSE_SNAPSHOT_PATH`` atomically
(see :func:`pipelines.lib.warehouse.publish_snapshot`) and stamps it with
``meta.build_info``. The Streamlit app and BI tools read the snapshot, so they keep
working, on the last completed build, while a new build writes.
"""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from pipelines.defs.dbt.assets import dbt_models
from pipelines.lib.settings import get_settings
from pipelines.lib.warehouse import publish_snapshot

MART_KEYS = sorted((key for key in dbt_models.keys if key.path[0] == "marts"), key=AssetKey.to_user_string)


@asset(
    key=["serving", "warehouse_snapshot"],
    deps=MART_KEYS,
    group_name="serving",
    kinds={"duckdb"},
    owners=["team:data-engineering"],
    description="Read-only copy of the warehouse as of the last completed build, swapped in "
    "atomically; what the Streamlit app and BI tools open.",
)
def warehouse_snapshot(context: AssetExecutionContext, warehouse: DuckDBResource) -> MaterializeResult:
    settings = get_settings()
    with warehouse.get_connection() as con:
        built_at = publish_snapshot(con, settings.warehouse_path, settings.snapshot_path, context.run_id)
    return MaterializeResult(
        metadata={
            "snapshot_path": MetadataValue.path(str(settings.snapshot_path)),
            "built_at": built_at.isoformat(),
            "size_mb": round(settings.snapshot_path.stat().st_size / 1e6, 1),
        }
    )

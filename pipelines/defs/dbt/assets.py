"""Every dbt model of ``dbt_project/`` as a Dagster asset (``dbt build``: models + tests).

dbt tests become asset checks of the models they test. The marts are full-refresh
tables: recursive indicators (EMA, MACD, RSI, ATR) need each ticker's whole history,
so an incremental model would need the previous state, not just the new session.

Row counts: on DuckDB the dbt subprocess holds the single write lock while it runs, so the
counts are read once ``dbt build`` has finished and attached to each model's output as
``dagster/row_count``.
"""

from collections.abc import Iterable, Iterator

from dagster import AssetExecutionContext, Output
from dagster_dbt import DbtCliResource, dbt_assets

from pipelines.lib.dbt_translator import LayeredDbtTranslator
from pipelines.lib.resources import dbt_project, ensure_dbt_manifest
from pipelines.lib.warehouse import WarehouseResource

PROJECT = dbt_project()
ensure_dbt_manifest(PROJECT)


def with_row_counts(events: Iterable[object], manifest: dict, warehouse: WarehouseResource) -> Iterator[object]:
    """Yield ``events``, adding ``dagster/row_count`` to each model output (counted in the warehouse)."""
    events = list(events)
    relations = {}
    for event in events:
        unique_id = getattr(event, "metadata", {}).get("unique_id")
        node = manifest["nodes"].get(unique_id.value if unique_id else None)
        if isinstance(event, Output) and node and node["resource_type"] == "model":
            relations[node["unique_id"]] = f'"{node["schema"]}"."{node["alias"]}"'
    counts = {}
    if relations:
        with warehouse.connect() as wh:
            counts = {uid: wh.row_count(rel) for uid, rel in relations.items()}
    for event in events:
        unique_id = getattr(event, "metadata", {}).get("unique_id")
        if isinstance(event, Output) and unique_id and unique_id.value in counts:
            event = event.with_metadata({**event.metadata, "dagster/row_count": counts[unique_id.value]})
        yield event


@dbt_assets(
    manifest=PROJECT.manifest_path,
    project=PROJECT,
    dagster_dbt_translator=LayeredDbtTranslator(),
    name="dbt_models",
)
def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Run ``dbt build`` for the selected models; attach row counts once it has finished."""
    invocation = dbt.cli(["build"], context=context)
    events = list(invocation.stream())  # dbt has finished: its manifest names this run's relations
    yield from with_row_counts(events, invocation.get_artifact("manifest.json"), warehouse)

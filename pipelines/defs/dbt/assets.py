"""Every dbt model of ``dbt_project/`` as a Dagster asset (``dbt build``: models + tests).

dbt tests become asset checks of the models they test. The marts are full-refresh
tables: recursive indicators (EMA, MACD, RSI, ATR) need each ticker's whole history,
so an incremental model would need the previous state, not just the new session.
"""

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from pipelines.lib.dbt_translator import LayeredDbtTranslator
from pipelines.lib.resources import dbt_project, ensure_dbt_manifest

PROJECT = dbt_project()
ensure_dbt_manifest(PROJECT)


@dbt_assets(
    manifest=PROJECT.manifest_path,
    project=PROJECT,
    dagster_dbt_translator=LayeredDbtTranslator(),
    name="dbt_models",
)
def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource):
    """Run ``dbt build`` for the selected models and stream their results and row counts."""
    yield from dbt.cli(["build"], context=context).stream().fetch_row_counts()

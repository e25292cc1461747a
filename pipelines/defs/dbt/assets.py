"""Every dbt model of ``dbt_project/`` as a Dagster asset (``dbt build``: models + tests).

dbt tests become asset checks of the models they test. The manifest the asset definitions are
built from is ``dbt_project/target/manifest.json``: under ``dagster dev`` Dagster's
``DbtProject.prepare_if_dev`` re-parses the project when the code location loads; elsewhere
``python -m pipelines.build`` parses before each build, and a missing or stale manifest (a
project file newer than it) is parsed here. Runs use the ``dbt`` resource (:class:`~pipelines.lib.resources.DbtResource`): its profile
and ``--vars`` carry the warehouse, schema prefix and portfolio settings.

Row counts: on DuckDB the dbt subprocess holds the single write lock while it runs, so the
counts are read once ``dbt build`` has finished and attached to each model's output as
``dagster/row_count``.
"""

import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from dagster import AssetExecutionContext, Output
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from domain.settings import DBT_PROJECT_DIR
from pipelines.lib.dbt_translator import LayeredDbtTranslator
from pipelines.lib.resources import DbtResource, WarehouseResource, dbt_executable

#: The project as checked in (``profiles.yml`` with its environment defaults): enough to parse.
PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
SOURCE_FOLDERS = ("models", "macros", "seeds", "tests")


def manifest_is_stale(project: DbtProject) -> bool:
    """No manifest yet, or a model, macro, seed, test or ``dbt_project.yml`` changed after it."""
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    folder = Path(project.project_dir)
    sources = [folder / "dbt_project.yml", *(f for name in SOURCE_FOLDERS for f in (folder / name).rglob("*") if f.is_file())]
    return any(path.stat().st_mtime > built for path in sources)


PROJECT.prepare_if_dev()
if manifest_is_stale(PROJECT):
    DbtCliResource(
        project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable()
    ).cli(["parse", "--quiet"], target_path=PROJECT.target_path).wait()


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
def dbt_models(context: AssetExecutionContext, dbt: DbtResource, warehouse: WarehouseResource):
    """Run ``dbt build`` for the selected models; attach row counts once it has finished; remove
    the invocation's target folder (about 20 MB of artifacts and logs) once it succeeded."""
    invocation = dbt.cli(["build"], context=context)
    events = list(invocation.stream())  # dbt has finished: its manifest names this run's relations
    yield from with_row_counts(events, invocation.get_artifact("manifest.json"), warehouse)
    prune_targets(Path(invocation.target_path))


#: Target folders of failed invocations kept for their logs (the most recent ones).
KEPT_FAILED_TARGETS = 5


def prune_targets(succeeded: Path, keep_failed: int = KEPT_FAILED_TARGETS) -> None:
    """Remove ``succeeded`` (the target folder of a successful invocation) and all but the
    ``keep_failed`` most recent other ``dbt_models-*`` folders beside it (failed invocations,
    kept a while for their ``dbt.log``)."""
    shutil.rmtree(succeeded, ignore_errors=True)
    others = sorted(succeeded.parent.glob("dbt_models-*"), key=lambda path: path.stat().st_mtime, reverse=True)
    for stale in others[keep_failed:]:
        shutil.rmtree(stale, ignore_errors=True)

"""Every dbt model of ``dbt_project/`` as a Dagster asset (``dbt build``: models + tests).

dbt tests become one asset check per model, ``dbt_tests`` (see :mod:`pipelines.lib.dbt_translator`). The manifest the asset definitions are
built from is ``manifest.json`` in this process's dbt target folder (``dbt_project/target``, or
``DBT_TARGET_PATH``: see :func:`~pipelines.lib.resources.dbt_target_path`). Loading the code
location parses only when that manifest is missing or stale (a project file newer than it),
under the folder's lock and atomically (:func:`~pipelines.lib.resources.parse_if_stale`), also
under ``dagster dev``: every run worker and code-server reload loads this module, and a parse on
each load would rewrite the manifest other processes are reading. ``python -m pipelines.build``
parses before each build when needed. Runs use the ``dbt`` resource (:class:`~pipelines.lib.resources.DbtResource`): its profile
and ``--vars`` carry the warehouse, schema prefix and portfolio settings.

Row counts: on DuckDB the dbt subprocess holds the single write lock while it runs, so the
counts are read once ``dbt build`` has finished and attached to each model's output as
``dagster/row_count``.
"""

import shutil
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    MetadataValue,
    Output,
)
from dagster_dbt import DbtCliEventMessage, DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.asset_utils import get_asset_check_key_for_test

from domain.settings import DBT_PROJECT_DIR
from pipelines.lib.dbt_translator import DBT_TESTS_CHECK, LayeredDbtTranslator
from pipelines.lib.resources import (
    DEFINITION_ARTIFACTS,
    DbtResource,
    WarehouseResource,
    dbt_executable,
    dbt_target_path,
    parse_if_stale,
)

#: The project as checked in (``profiles.yml`` with its environment defaults): enough to parse.
PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target_path=dbt_target_path())
TRANSLATOR = LayeredDbtTranslator()


def _parse_definitions_manifest(scratch: Path):
    return DbtCliResource(
        project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable()
    ).cli(["parse", "--quiet"], target_path=scratch)


# no PROJECT.prepare_if_dev(): it would run `dbt parse` into the shared folder on every load
parse_if_stale(PROJECT, _parse_definitions_manifest, DEFINITION_ARTIFACTS)


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


@dataclass(frozen=True)
class TestOutcome:
    """One dbt test's result in a run: the model (asset) it tests, its name, dbt status
    (``pass``, ``warn``, ``fail``, ``error``) and failing row count (None when it did not run)."""

    asset_key: AssetKey
    name: str
    status: str
    failures: int | None


def test_outcome(
    event: DbtCliEventMessage, manifest: Mapping[str, Any], project: DbtProject | None
) -> TestOutcome | None:
    """The :class:`TestOutcome` of a dbt ``LogTestResult`` event (None for a test attached to no
    node Dagster knows: dbt still fails the build when it fails)."""
    data = event.raw_event["data"]
    unique_id = data["node_info"]["unique_id"]
    key = get_asset_check_key_for_test(manifest, TRANSLATOR, unique_id, project=project)
    if key is None:
        return None
    status = (data["node_info"].get("node_status") or data.get("status") or "").lower()
    return TestOutcome(key.asset_key, manifest["nodes"][unique_id]["name"], status, data.get("num_failures"))


def grouped_test_results(
    outcomes: Iterable[TestOutcome], selected: AbstractSet[AssetCheckKey]
) -> Iterator[AssetCheckResult]:
    """One ``dbt_tests`` :class:`AssetCheckResult` per model from all its tests' outcomes: passed
    when every test passed; severity WARN when the only failures are dbt warnings (tests with
    ``severity: warn``), else ERROR; metadata lists each test. Only checks of ``selected``."""
    by_model: dict[AssetKey, list[TestOutcome]] = defaultdict(list)
    for outcome in outcomes:
        by_model[outcome.asset_key].append(outcome)
    for asset_key, tests in sorted(by_model.items(), key=lambda item: item[0].to_user_string()):
        if AssetCheckKey(asset_key, DBT_TESTS_CHECK) not in selected:
            continue
        failed = [t for t in tests if t.status != "pass"]
        rows = "\n".join(f"| {t.name} | {t.status} | {'' if t.failures is None else t.failures} |" for t in tests)
        yield AssetCheckResult(
            asset_key=asset_key,
            check_name=DBT_TESTS_CHECK,
            passed=not failed,
            severity=AssetCheckSeverity.WARN if all(t.status == "warn" for t in failed) else AssetCheckSeverity.ERROR,
            metadata={
                "tests_run": len(tests),
                "tests_failed": len(failed),
                "failed_tests": ", ".join(t.name for t in failed),
                "failed_row_count": sum(t.failures or 0 for t in failed),
                "tests": MetadataValue.md("| test | status | failing rows |\n|---|---|---|\n" + rows),
            },
        )


@dbt_assets(
    manifest=PROJECT.manifest_path,
    project=PROJECT,
    dagster_dbt_translator=TRANSLATOR,
    name="dbt_models",
)
def dbt_models(context: AssetExecutionContext, dbt: DbtResource, warehouse: WarehouseResource):
    """Run ``dbt build`` for the selected models; once it has finished, yield each model's output
    with its row count and one grouped ``dbt_tests`` check result per model; remove the
    invocation's target folder (about 20 MB of artifacts and logs) once it succeeded."""
    # dbt's unit tests check the SQL, not the data: the test suite runs them
    # (tests/test_dbt_unit_tests.py), every build does not (about 2.5 s of nine nodes).
    invocation = dbt.cli(["build", "--exclude-resource-type", "unit_test"], context=context)
    events, outcomes = [], []
    for event in invocation.stream_raw_events():
        node = event.raw_event["data"].get("node_info", {})
        if event.is_result_event and node.get("unique_id", "").startswith("test."):
            outcome = test_outcome(event, invocation.manifest, invocation.project)
            if outcome is not None:
                outcomes.append(outcome)
            continue
        events.extend(
            event.to_default_asset_events(
                manifest=invocation.manifest, dagster_dbt_translator=TRANSLATOR, context=context,
                target_path=invocation.target_path, project=invocation.project,
            )
        )  # fmt: skip
    # dbt has finished: its manifest names this run's relations
    yield from with_row_counts(events, invocation.get_artifact("manifest.json"), warehouse)
    yield from grouped_test_results(outcomes, context.selected_asset_check_keys)
    context.log.info(f"dbt tests: {len(outcomes)} run, {sum(o.status != 'pass' for o in outcomes)} not passed")
    context.log.info(f"slowest dbt nodes: {slowest_nodes(invocation.get_artifact('run_results.json'))}")
    prune_targets(Path(invocation.target_path))


def slowest_nodes(run_results: Mapping[str, Any], count: int = 8) -> str:
    """``<node> <seconds> s, ...``: the ``count`` longest-running nodes of a dbt invocation."""
    results = sorted(run_results.get("results", []), key=lambda r: -(r.get("execution_time") or 0))[:count]
    return ", ".join(f"{r['unique_id'].split('.')[-1]} {r['execution_time']:.1f} s" for r in results)


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

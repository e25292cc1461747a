"""How dbt nodes appear in Dagster: keys ``[layer, model]``, groups by dbt folder (layer).

``models/staging/prices/stg_prices__daily.sql`` becomes asset ``staging/stg_prices__daily`` in
group ``staging``; sources keep the key their ``meta.dagster.asset_key`` names, so
``raw/prices_daily`` (a Python asset) feeds the dbt models in one lineage graph.

dbt tests are grouped per model: one asset check ``dbt_tests`` per model (its description lists
the model's tests), evaluated once per run from all of them (see
:func:`pipelines.defs.dbt.assets.grouped_test_results`). One check per test cost three
event-log writes per test and run (planned, output, evaluation: about 1,150 writes for 382
tests, measured for issue 12).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetCheckSpec, AssetKey, AssetSpec
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings
from dagster_dbt.asset_utils import DAGSTER_DBT_UNIQUE_ID_METADATA_KEY

OWNER = "team:analytics-engineering"
#: The one asset check per dbt model that all its tests report to.
DBT_TESTS_CHECK = "dbt_tests"


class LayeredDbtTranslator(DagsterDbtTranslator):
    """Keys and groups follow the dbt folders; every model gets owner and kinds."""

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_code_references=False))

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] not in ("model", "seed", "snapshot"):
            return spec
        layer = props["fqn"][1] if len(props["fqn"]) > 2 else "default"
        return spec.replace_attributes(
            key=AssetKey([layer, props["name"]]),
            group_name=layer,
            owners=[OWNER],
            kinds={"dbt", "sql", props["config"].get("materialized", "view")},
            tags={**spec.tags, "layer": layer},
        )

    def get_asset_check_spec(
        self, asset_spec: AssetSpec, manifest: Mapping[str, Any], unique_id: str, project
    ) -> AssetCheckSpec | None:
        """The model's ``dbt_tests`` check for each of its tests (one spec per model)."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        model = (asset_spec.metadata or {}).get(DAGSTER_DBT_UNIQUE_ID_METADATA_KEY)
        names = sorted(
            manifest["nodes"][child]["name"]
            for child in manifest.get("child_map", {}).get(model, [])
            if child.startswith("test.")
        )
        listed = "; ".join(names) if names else manifest["nodes"][unique_id]["name"]
        return AssetCheckSpec(
            name=DBT_TESTS_CHECK,
            asset=spec.asset_key,
            description=f"Every dbt test of this model, run by dbt build right after it ({len(names) or 1}): {listed}",
        )

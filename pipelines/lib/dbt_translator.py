"""How dbt nodes appear in Dagster: keys ``[layer, model]``, groups by dbt folder (layer).

``models/staging/prices/stg_prices__daily.sql`` becomes asset ``staging/stg_prices__daily`` in
group ``staging``; sources keep the key their ``meta.dagster.asset_key`` names, so
``raw/prices_daily`` (a Python asset) feeds the dbt models in one lineage graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetKey, AssetSpec
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

OWNER = "team:analytics-engineering"


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

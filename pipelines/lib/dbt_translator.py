"""How dbt nodes appear in Dagster: keys ``[layer, model]``, groups by dbt folder (layer).

``models/staging/prices/stg_prices__daily.sql`` becomes asset ``staging/stg_prices__daily`` in
group ``staging``; sources keep the key their ``meta.dagster.asset_key`` names, so
``raw/prices_daily`` (a Python asset) feeds the dbt models in one lineage graph.

dbt tests are grouped per model: one asset check ``dbt_tests`` per model (its description says
what the model's tests check, in words: :func:`describe_tests`), evaluated once per run from all
of them (see
:func:`pipelines.defs.dbt.assets.grouped_test_results`). One check per test cost three
event-log writes per test and run (planned, output, evaluation: about 1,150 writes for 382
tests, measured for issue 12).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from dagster import AssetCheckSpec, AssetKey, AssetSpec
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings
from dagster_dbt.asset_utils import DAGSTER_DBT_UNIQUE_ID_METADATA_KEY, get_asset_check_key_for_test

OWNER = "team:analytics-engineering"
#: The one asset check per dbt model that all its tests report to.
DBT_TESTS_CHECK = "dbt_tests"


class LayeredDbtTranslator(DagsterDbtTranslator):
    """Keys and groups follow the dbt folders; every model gets owner and kinds."""

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_code_references=False))
        self._descriptions: dict[tuple[str, AssetKey], str] = {}

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
        """The model's ``dbt_tests`` check for each of its tests (one spec per model), described
        by :func:`describe_tests` from the tests that report to it."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        model = (asset_spec.metadata or {}).get(DAGSTER_DBT_UNIQUE_ID_METADATA_KEY) or unique_id
        cache_key = ((manifest.get("metadata") or {}).get("invocation_id") or str(id(manifest)), spec.asset_key)
        if cache_key not in self._descriptions:
            tests = [
                manifest["nodes"][child]
                for child in manifest.get("child_map", {}).get(model, [])
                if child.startswith("test.")
                and getattr(get_asset_check_key_for_test(manifest, self, child, project), "asset_key", None)
                == spec.asset_key
            ] or [manifest["nodes"][unique_id]]
            self._descriptions[cache_key] = describe_tests(spec.asset_key.path[-1], tests)
        return AssetCheckSpec(name=DBT_TESTS_CHECK, asset=spec.asset_key, description=self._descriptions[cache_key])


def _relation(reference: str | None) -> str:
    """``ref('dim_companies')`` -> ``dim_companies``; ``source('prices', 'prices_daily')`` ->
    ``prices.prices_daily``; anything else as it is."""
    names = re.findall(r"'([^']+)'", reference or "")
    return ".".join(names) if names else str(reference)


def describe_test(test: Mapping[str, Any]) -> tuple[str, str]:
    """What one dbt test node of the manifest checks, in words, with its kind: e.g.
    ``("unique", "unique (ticker, trade_date)")``, ``("expression", "close > 0")``,
    ``("relationships", "ticker in dim_companies.ticker")``; a singular test (no
    ``test_metadata``) or an unknown generic test is named by its description or name. A test of
    severity ``warn`` ends in `` (warns)``."""
    metadata = test.get("test_metadata") or {}
    kwargs = metadata.get("kwargs") or {}
    kind = metadata.get("name") or "singular"
    column = kwargs.get("column_name") or test.get("column_name")
    if kind == "unique":
        text = f"unique {column}"
    elif kind == "unique_combination_of_columns":
        text = f"unique ({', '.join(kwargs.get('combination_of_columns') or [])})"
    elif kind == "accepted_values":
        text = f"{column} in ({', '.join(str(v) for v in kwargs.get('values') or [])})"
    elif kind == "relationships":
        text = f"{column} in {_relation(kwargs.get('to'))}.{kwargs.get('field')}"
    elif kind == "equal_rowcount":
        text = f"as many rows as {_relation(kwargs.get('compare_model'))}"
    elif kind == "expression_is_true":
        expression = str(kwargs.get("expression", "")).strip()
        text = f"{column} {expression}" if column else expression
    else:
        text = (test.get("description") or "").strip() or test["name"]
    if (test.get("config") or {}).get("severity", "").lower() == "warn":
        text += " (warns)"
    return kind, text


def describe_tests(model: str, tests: Iterable[Mapping[str, Any]]) -> str:
    """The description of ``model``'s ``dbt_tests`` check from its dbt test nodes (manifest
    dicts): ``dbt tests of <model> (<n>), run by dbt build right after it: unique (…); not null:
    <columns>; <column> in (…); <expressions>; …`` (the not-null columns of every ``not_null`` and
    ``not_null_columns`` test in one list)."""
    tests = list(tests)
    not_null: list[str] = []
    phrases: dict[str, list[str]] = {}
    for test in tests:
        metadata = test.get("test_metadata") or {}
        kwargs = metadata.get("kwargs") or {}
        if metadata.get("name") == "not_null":
            not_null.append(kwargs.get("column_name") or test.get("column_name"))
            continue
        if metadata.get("name") == "not_null_columns":
            not_null += list(kwargs.get("column_names") or [])
            continue
        kind, text = describe_test(test)
        phrases.setdefault(kind, []).append(text)
    order = ["unique", "unique_combination_of_columns", "not_null", "accepted_values", "relationships",
             "equal_rowcount", "expression_is_true"]  # fmt: skip
    if not_null:
        phrases["not_null"] = ["not null: " + ", ".join(dict.fromkeys(not_null))]
    listed = [text for kind in order for text in sorted(phrases.get(kind, []))]
    listed += [text for kind in sorted(set(phrases) - set(order)) for text in sorted(phrases[kind])]
    count = len(tests)
    return f"dbt tests of {model} ({count} test{'s' if count != 1 else ''}), run by dbt build right after it: " + (
        "; ".join(listed)
    )

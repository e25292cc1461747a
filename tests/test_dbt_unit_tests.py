"""dbt's unit tests (``unit_tests:`` in the model YAML files) pass.

Builds run ``dbt build --exclude-resource-type unit_test`` (the unit tests check the models'
SQL, not the data, so every daily run need not pay for them); here they run against a copy of
the session's DuckDB build (dbt needs the upstream relations to exist for the fixtures' types).
"""

from __future__ import annotations

import pytest

from tests.conftest import copy_built_warehouse

pytestmark = pytest.mark.integration


def test_every_dbt_unit_test_passes(built_warehouse, tmp_path):
    from pipelines.lib.resources import build_resources

    settings = copy_built_warehouse(built_warehouse, tmp_path)
    dbt = build_resources(settings, environ={})["dbt"]
    invocation = dbt.cli(["test", "--select", "test_type:unit"], target_path=tmp_path / "target", raise_on_error=False)
    invocation.wait()
    results = invocation.get_artifact("run_results.json")["results"]
    statuses = {r["unique_id"].split(".")[-1]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    assert len(statuses) >= 9, statuses
    assert set(statuses.values()) == {"pass"}, statuses
    assert invocation.is_successful()

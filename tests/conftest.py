"""Shared fixtures.

``built_warehouse`` builds the whole warehouse once per test session from the bundled
real data, with the same Dagster job and range ``make build`` runs, into a temporary
directory, and returns the paths and the run result. Set ``TEST_WAREHOUSE_PATH`` (and
optionally ``TEST_SNAPSHOT_PATH``) to an already built DuckDB file to reuse it while
developing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass(frozen=True)
class BuiltWarehouse:
    warehouse_path: Path
    snapshot_path: Path
    run_success: bool | None = None


def use_warehouse(warehouse: Path, snapshot: Path | None = None, prices_csv: Path | None = None) -> None:
    """Point the process's settings (env vars read by ``pipelines.lib.settings``) at these files."""
    from pipelines.lib.settings import get_settings

    os.environ["WAREHOUSE_PATH"] = str(warehouse)
    os.environ["WAREHOUSE_SNAPSHOT_PATH"] = str(snapshot or warehouse.with_name("snapshot.duckdb"))
    if prices_csv is None:
        os.environ.pop("PRICES_CSV", None)
    else:
        os.environ["PRICES_CSV"] = str(prices_csv)
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory) -> BuiltWarehouse:
    override = os.environ.get("TEST_WAREHOUSE_PATH")
    if override:
        path = Path(override).resolve()
        snapshot = Path(os.environ.get("TEST_SNAPSHOT_PATH", path)).resolve()
        return BuiltWarehouse(path, snapshot)

    from dagster import DagsterInstance

    from pipelines.build import run_build

    directory = tmp_path_factory.mktemp("warehouse")
    warehouse = directory / "warehouse.duckdb"
    snapshot = directory / "warehouse.snapshot.duckdb"
    saved = {k: os.environ.get(k) for k in ("WAREHOUSE_PATH", "WAREHOUSE_SNAPSHOT_PATH", "PRICES_CSV")}
    use_warehouse(warehouse, snapshot)
    try:
        with DagsterInstance.ephemeral() as instance:
            success = run_build(instance=instance)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        from pipelines.lib.settings import get_settings

        get_settings.cache_clear()
    assert success, "the full build of the bundled data failed"
    return BuiltWarehouse(warehouse, snapshot, success)

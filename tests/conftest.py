"""Shared fixtures.

``built_warehouse`` builds the whole warehouse once per test session from the
bundled real data (the same Dagster job ``make build`` runs) into a temporary
directory and returns the paths. Set ``TEST_WAREHOUSE_PATH`` to an already built
DuckDB file (and optionally ``TEST_SNAPSHOT_PATH``) to reuse it while developing.
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


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory) -> BuiltWarehouse:
    override = os.environ.get("TEST_WAREHOUSE_PATH")
    if override:
        path = Path(override).resolve()
        snapshot = Path(os.environ.get("TEST_SNAPSHOT_PATH", path)).resolve()
        return BuiltWarehouse(path, snapshot)
    raise NotImplementedError("full build fixture: wired to the Dagster build job")

"""Resources, declared once: the warehouse (DuckDB or PostgreSQL) and the dbt CLI.

Both are configured from :mod:`pipelines.lib.settings`, so the warehouse path and the
dbt project are defined in exactly one place.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from dagster import EnvVar
from dagster_dbt import DbtCliResource, DbtProject

from pipelines.lib.settings import Settings, get_settings
from pipelines.lib.warehouse import WarehouseResource


def dbt_executable() -> str:
    """The ``dbt`` next to this Python interpreter (the project venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def dbt_project(settings: Settings | None = None) -> DbtProject:
    """The dbt project (``dbt_project/``) with the configured target."""
    settings = settings or get_settings()
    return DbtProject(
        project_dir=settings.dbt_project_dir,
        profiles_dir=settings.dbt_project_dir,
        target=settings.dbt_target,
    )


def build_resources(settings: Settings | None = None) -> dict[str, object]:
    """Resources keyed by the names the assets ask for: ``warehouse`` and ``dbt``.

    Exports the profile's env vars (``WAREHOUSE_PATH`` resolved to an absolute path, the
    PostgreSQL connection, the schema prefix) to this process's environment, where the dbt
    subprocess reads them; the warehouse resource reads the settings when a run opens it.
    """
    settings = settings or get_settings()
    os.environ.update(settings.dbt_env())
    return {
        "warehouse": WarehouseResource(),
        "dbt": DbtCliResource(
            project_dir=str(settings.dbt_project_dir),
            profiles_dir=str(settings.dbt_project_dir),
            target=EnvVar("WAREHOUSE_DBT_TARGET"),
            dbt_executable=dbt_executable(),
        ),
    }


def parse_dbt_project(project: DbtProject, settings: Settings | None = None) -> None:
    """Run ``dbt parse`` (writes ``target/manifest.json``) with the same ``WAREHOUSE_PATH`` the
    build will use: dbt re-parses everything when the profile's values change, so parsing
    with the build's environment lets ``dbt build`` reuse the parse (partial parsing)."""
    settings = settings or get_settings()
    os.environ.update(settings.dbt_env())
    DbtCliResource(
        project_dir=str(project.project_dir),
        profiles_dir=str(project.profiles_dir),
        target=settings.dbt_target,
        dbt_executable=dbt_executable(),
    ).cli(["parse", "--quiet"], target_path=project.target_path).wait()


def ensure_dbt_manifest(project: DbtProject) -> None:
    """Make sure ``target/manifest.json`` is usable: under ``dagster dev`` (which sets
    ``DAGSTER_IS_DEV_CLI``) re-parse on every code-location load so model edits show up,
    elsewhere parse once if missing (``python -m pipelines.build`` parses before each build)."""
    if os.environ.get("DAGSTER_IS_DEV_CLI") or not project.manifest_path.exists():
        parse_dbt_project(project)

"""The one typed place where configuration is read from environment variables.

Every other module asks :func:`get_settings` instead of reading ``os.environ``.
Paths are resolved to absolute paths against the repository root, so the
pipelines, dbt (through ``WAREHOUSE_PATH`` in its profile) and the Streamlit app
agree on the same files whatever their working directory.

Environment variables (all optional):

``WAREHOUSE_PATH``
    DuckDB file the build writes (default ``data/warehouse.duckdb``).
``WAREHOUSE_SNAPSHOT_PATH``
    Read-only copy published after each completed build, read by the app
    (default: ``WAREHOUSE_PATH`` with ``.snapshot`` before the suffix, e.g.
    ``data/warehouse.snapshot.duckdb``).
``PRICES_CSV``
    Daily OHLCV CSV (``date,open,high,low,close,volume,Name``, optionally gzip)
    used instead of the bundled ``data/sample/sp500_all_stocks_5yr.csv.gz``.
``DBT_TARGET``
    dbt target name in ``dbt_project/profiles.yml`` (default ``duckdb``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"

BUNDLED_PRICES_CSV = SAMPLE_DIR / "sp500_all_stocks_5yr.csv.gz"
BUNDLED_CONSTITUENTS_CSV = SAMPLE_DIR / "constituents_2018-04-02.csv"
BUNDLED_FINANCIALS_CSV = SAMPLE_DIR / "constituents-financials_2018-02-08.csv"


def _path_from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    path = Path(value) if value else default
    return path if path.is_absolute() else (REPO_ROOT / path).resolve()


@dataclass(frozen=True)
class Settings:
    """Resolved configuration (absolute paths)."""

    warehouse_path: Path
    snapshot_path: Path
    prices_csv: Path
    constituents_csv: Path
    financials_csv: Path
    dbt_project_dir: Path
    dbt_target: str

    def dbt_env(self) -> dict[str, str]:
        """Environment variables the dbt profile reads (``WAREHOUSE_PATH``)."""
        return {"WAREHOUSE_PATH": str(self.warehouse_path)}


def load_settings() -> Settings:
    """Read the environment now (tests call this after ``monkeypatch.setenv``)."""
    warehouse = _path_from_env("WAREHOUSE_PATH", REPO_ROOT / "data" / "warehouse.duckdb")
    snapshot_default = warehouse.with_name(f"{warehouse.stem}.snapshot{warehouse.suffix or '.duckdb'}")
    return Settings(
        warehouse_path=warehouse,
        snapshot_path=_path_from_env("WAREHOUSE_SNAPSHOT_PATH", snapshot_default),
        prices_csv=_path_from_env("PRICES_CSV", BUNDLED_PRICES_CSV),
        constituents_csv=BUNDLED_CONSTITUENTS_CSV,
        financials_csv=BUNDLED_FINANCIALS_CSV,
        dbt_project_dir=DBT_PROJECT_DIR,
        dbt_target=os.environ.get("DBT_TARGET", "duckdb"),
    )


@cache
def get_settings() -> Settings:
    """Settings read once per process."""
    return load_settings()

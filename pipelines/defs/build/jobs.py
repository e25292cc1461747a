"""``warehouse_build``: every asset (raw sources, dbt models and tests, snapshot) in one job,
partitioned like ``raw/prices_daily`` (one partition per exchange session)."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

warehouse_build_job = define_asset_job(
    name="warehouse_build",
    selection=AssetSelection.all(),
    description="Load prices (a session or a range of sessions), reload company data, "
    "rebuild all dbt models with their tests, then publish the snapshot the app reads.",
)

"""``warehouse_build``: every asset (raw sources, dbt models and tests, snapshot) in one job,
partitioned like ``raw/prices_daily`` (one partition per exchange session). The ``alerts`` group
is left out: ``alerts_evaluate`` runs after a successful build (sensor, and ``pipelines.build``)."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

warehouse_build_job = define_asset_job(
    name="warehouse_build",
    selection=AssetSelection.all() - AssetSelection.groups("alerts"),
    description="Load prices (a session or a range of sessions), reload company data, "
    "rebuild all dbt models with their tests, then publish the snapshot the app reads.",
)

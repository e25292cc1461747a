"""``warehouse_build``: every asset (raw sources, dbt models and tests, snapshot) in one job.

The run config picks the price sessions to load (:func:`warehouse_build_run_config`; none: the
source's whole history). The dbt models update from the first bar that changed (incremental
models, see ``dbt_project/README.md``), so a one-session run costs one session's work. The
``alerts`` group is left out: ``alerts_evaluate`` runs after a successful build (sensor, and
``pipelines.build``)."""

from __future__ import annotations

from typing import Any

from dagster import AssetSelection, define_asset_job

warehouse_build_job = define_asset_job(
    name="warehouse_build",
    selection=AssetSelection.all() - AssetSelection.groups("alerts"),
    description="Load prices (the sessions of the run config, default the whole source), reload company "
    "data, update the dbt models from the first changed bar with their tests, then publish the snapshot "
    "the app reads.",
)


def warehouse_build_run_config(
    first_session: str | None = None, last_session: str | None = None, allow_shrink: bool = False
) -> dict[str, Any]:
    """Run config of ``warehouse_build``: load the sessions ``first_session..last_session``
    (``YYYY-MM-DD``; None: the source's first / latest session); ``allow_shrink`` accepts a load
    that leaves far fewer rows in its window (see :class:`pipelines.defs.prices.assets.PricesConfig`)."""
    config: dict[str, Any] = {"allow_shrink": allow_shrink}
    if first_session:
        config["first_session"] = first_session
    if last_session:
        config["last_session"] = last_session
    return {"ops": {"raw__prices_daily": {"config": config}}}

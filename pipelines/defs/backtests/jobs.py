"""``backtests_run``: run strategy files (partitions of ``backtests/strategy_runs``), then
publish the snapshot so the app and BI see the new runs."""

from dagster import AssetSelection, define_asset_job

from pipelines.defs.alerts.jobs import SNAPSHOT_KEY
from pipelines.defs.backtests.assets import STRATEGY_RUNS_KEY

backtests_run_job = define_asset_job(
    name="backtests_run",
    selection=AssetSelection.assets(STRATEGY_RUNS_KEY, SNAPSHOT_KEY),
    description="Run the strategy files of the partitions (all of them in one run after a build) on the "
    "built marts, store the runs in the backtests tables, then publish the snapshot.",
)

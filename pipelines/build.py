"""Command-line build: run the ``warehouse_build`` job over every price partition in one run.

``python -m pipelines.build`` loads the whole history (all session partitions as one
single-run backfill), rebuilds the dbt models with their tests and publishes the
snapshot; after a successful build it runs ``alerts_evaluate`` (the rules of
``ALERT_RULES_FILE`` on the new marts, then the snapshot again). The runs are recorded in
the Dagster instance of ``DAGSTER_HOME``, so the UI shows them. ``--if-missing`` does
nothing when a completed build exists (``make demo``). ``--partition-range FIRST...LAST``
loads only those sessions. Exits non-zero on failure.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, time
from zoneinfo import ZoneInfo

from dagster import DagsterInstance

from pipelines.defs.prices.reader import latest_trade_date
from pipelines.lib.resources import dbt_project, parse_dbt_project
from pipelines.lib.settings import get_settings
from pipelines.lib.warehouse import WarehouseResource
from pipelines.lib.trading_calendar import EXCHANGE_TIMEZONE, trading_day_partitions

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def history_range() -> tuple[str, str]:
    """Partition keys from the first session to the source's last session with data
    (sessions after the end of a static file are not loaded as empty days; with
    ``PRICE_SOURCE=yahoo``, the last partition, i.e. today's session once it has started)."""
    partitions = trading_day_partitions()
    last = partitions.get_last_partition_key()
    if get_settings().price_source == "yahoo":
        return partitions.get_first_partition_key(), last
    latest = latest_trade_date(get_settings().prices_csv)
    if latest is not None and latest.isoformat() < last:
        last = partitions.get_partition_key_for_timestamp(
            datetime.combine(latest, time(), tzinfo=ZoneInfo(EXCHANGE_TIMEZONE)).timestamp()
        )
    return partitions.get_first_partition_key(), last


def run_build(first_key: str | None = None, last_key: str | None = None, instance: DagsterInstance | None = None) -> bool:
    """Execute the build job in process over ``first_key..last_key`` (default: all), then, if it
    succeeded, the ``alerts_evaluate`` job; return whether both succeeded.

    Parses the dbt project first, so the run uses the models as they are on disk.
    """
    parse_dbt_project(dbt_project())
    from pipelines.definitions import defs

    default_first, default_last = history_range()
    tags = {RANGE_START_TAG: first_key or default_first, RANGE_END_TAG: last_key or default_last}
    instance = instance or DagsterInstance.get()
    job = defs.resolve_job_def("warehouse_build")
    result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    if not result.success:
        return False
    alerts = defs.resolve_job_def("alerts_evaluate").execute_in_process(instance=instance, raise_on_error=False)
    return alerts.success


def already_built() -> bool:
    """A completed build has been published: the DuckDB snapshot file, or on PostgreSQL
    the ``meta.build_info`` table."""
    settings = get_settings()
    if settings.postgres is None:
        return settings.snapshot_path.exists()
    with WarehouseResource().connect() as warehouse:
        found = warehouse.fetch_frame("select to_regclass(?) is not null as built", [f"{settings.schema('meta')}.build_info"])
    return bool(found["built"][0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--if-missing", action="store_true", help="skip when a snapshot exists")
    parser.add_argument("--partition-range", help="FIRST...LAST session keys (YYYY-MM-DD...YYYY-MM-DD)")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.if_missing and already_built():
        print("warehouse already built: skipping (make build rebuilds)")
        return 0
    first, last = args.partition_range.split("...") if args.partition_range else (None, None)
    ok = run_build(first, last)
    published = f"{settings.schema('meta')}.build_info on PostgreSQL" if settings.postgres else settings.snapshot_path
    print(f"build {'succeeded' if ok else 'FAILED'}; published: {published}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Command-line build: run the ``warehouse_build`` job over every price partition in one run.

``python -m pipelines.build`` loads the whole history (all session partitions as one
single-run backfill), rebuilds the dbt models with their tests and publishes the
snapshot; after a successful build it runs ``alerts_evaluate`` (the rules of
``ALERT_RULES_FILE`` on the new marts, then the snapshot again). The runs are recorded in
the Dagster instance of ``DAGSTER_HOME``, so the UI shows them. ``--if-missing`` does
nothing when a completed build exists (``make demo``). ``--partition-range FIRST...LAST``
loads only those sessions. Exits non-zero on failure. Configuration: the environment, read
once into :class:`~domain.settings.Settings` (see the README's Configuration table).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

from dagster import DagsterInstance

from domain.calendar import EXCHANGE_TIMEZONE
from domain.settings import Settings
from pipelines.defs.prices.reader import latest_trade_date
from pipelines.lib.partitions import trading_day_partitions
from pipelines.lib.resources import build_resources
from pipelines.lib.runs import process_tags

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class BuildResult:
    """Outcome of :func:`run_build`: whether the build job and the alerts job succeeded, and
    their run ids (``alerts_run_id`` None when the build failed and alerts did not run);
    ``errors``: the failed steps' messages (``<step>: <message>``), empty on success."""

    success: bool
    build_run_id: str
    alerts_run_id: str | None = None
    errors: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.success


def history_range(settings: Settings) -> tuple[str, str]:
    """Partition keys from the first session to the source's last session with data
    (sessions after the end of a static file are not loaded as empty days; with
    ``PRICE_SOURCE=yahoo``, the last partition, i.e. today's session once it has started)."""
    partitions = trading_day_partitions()
    last = partitions.get_last_partition_key()
    if settings.price_source == "yahoo":
        return partitions.get_first_partition_key(), last
    latest = latest_trade_date(settings.prices_csv)
    if latest is not None and latest.isoformat() < last:
        last = partitions.get_partition_key_for_timestamp(
            datetime.combine(latest, time(), tzinfo=ZoneInfo(EXCHANGE_TIMEZONE)).timestamp()
        )
    return partitions.get_first_partition_key(), last


def run_build(
    settings: Settings,
    first_key: str | None = None,
    last_key: str | None = None,
    instance: DagsterInstance | None = None,
    allow_shrink: bool = False,
) -> BuildResult:
    """Execute the build job in process over ``first_key..last_key`` (default: all), then, if it
    succeeded, the ``alerts_evaluate`` job, both with the resources of ``settings``.

    Parses the dbt project first (same profile and vars as the build), so the run uses the models
    as they are on disk and ``dbt build`` parses partially. ``allow_shrink`` lets the price load
    replace the stored rows of its window by far fewer (see
    :class:`pipelines.defs.prices.assets.PricesConfig`); without it an empty or truncated file
    fails the build and nothing is published.
    """
    build_resources(settings, environ={})["dbt"].parse()
    from pipelines.definitions import build_definitions

    defs = build_definitions(settings)
    default_first, default_last = history_range(settings)
    tags = {RANGE_START_TAG: first_key or default_first, RANGE_END_TAG: last_key or default_last, **process_tags()}
    instance = instance or DagsterInstance.get()
    run_config = {"ops": {"raw__prices_daily": {"config": {"allow_shrink": allow_shrink}}}}
    result = defs.resolve_job_def("warehouse_build").execute_in_process(
        instance=instance, tags=tags, run_config=run_config, raise_on_error=False
    )
    if not result.success:
        return BuildResult(False, result.run_id, errors=_step_errors(result))
    alerts = defs.resolve_job_def("alerts_evaluate").execute_in_process(
        instance=instance, tags=process_tags(), raise_on_error=False
    )
    return BuildResult(alerts.success, result.run_id, alerts.run_id, _step_errors(alerts))


def _step_errors(result) -> tuple[str, ...]:
    """``<step>: <message>`` of every failed step of an in-process run (the user's error, not
    Dagster's wrapper; at most 12 lines each)."""
    errors = []
    for event in result.get_step_failure_events():
        error = event.event_specific_data.error
        message = (error.cause or error).message.strip() if error else "failed"
        errors.append(f"{event.step_key}: " + "\n".join(message.splitlines()[:12]))
    return tuple(errors)


def published_build(settings: Settings) -> str:
    """What analysts read now: the published snapshot file and when it was written, or on
    PostgreSQL the build recorded in ``meta.build_info``; says so when nothing is published."""
    if settings.postgres is None:
        if not settings.snapshot_path.exists():
            return "no build has been published yet"
        written = datetime.fromtimestamp(settings.snapshot_path.stat().st_mtime, tz=timezone.utc)
        return f"the previous snapshot {settings.snapshot_path} (published {written:%Y-%m-%d %H:%M:%S} UTC)"
    if not already_built(settings):
        return "no build has been published yet"
    with build_resources(settings, environ={})["warehouse"].connect() as warehouse:
        info = warehouse.fetch_frame(f"select built_at, run_id from {settings.schema('meta')}.build_info")
    return f"the previous build (run {info['run_id'][0]}, built {info['built_at'][0]} UTC) in the PostgreSQL marts"


def already_built(settings: Settings) -> bool:
    """A completed build has been published: the DuckDB snapshot file, or on PostgreSQL
    the ``meta.build_info`` table."""
    if settings.postgres is None:
        return settings.snapshot_path.exists()
    with build_resources(settings, environ={})["warehouse"].connect() as warehouse:
        found = warehouse.fetch_frame(
            "select to_regclass(?) is not null as built", [f"{settings.schema('meta')}.build_info"]
        )
    return bool(found["built"][0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--if-missing", action="store_true", help="skip when a snapshot exists")
    parser.add_argument("--partition-range", help="FIRST...LAST session keys (YYYY-MM-DD...YYYY-MM-DD)")
    parser.add_argument(
        "--allow-shrink",
        action="store_true",
        help="accept a price file that leaves far fewer rows than are stored (an intended deletion)",
    )
    args = parser.parse_args(argv)
    settings = Settings()
    if args.if_missing and already_built(settings):
        print("warehouse already built: skipping (make build rebuilds)")
        return 0
    first, last = args.partition_range.split("...") if args.partition_range else (None, None)
    result = run_build(settings, first, last, allow_shrink=args.allow_shrink)
    if result.alerts_run_id is None and not result.success:
        print(f"build FAILED (run {result.build_run_id}); nothing new was published")
        for error in result.errors:
            print(f"  {error}")
        print(f"analysts and BI keep {published_build(settings)}")
        return 1
    if not result.success:
        print(f"build succeeded (run {result.build_run_id}) but alerts_evaluate FAILED (run {result.alerts_run_id})")
        for error in result.errors:
            print(f"  {error}")
        return 1
    published = f"{settings.schema('meta')}.build_info on PostgreSQL" if settings.postgres else settings.snapshot_path
    print(f"build succeeded; published: {published}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Command-line build: run the ``warehouse_build`` job (or ``prices_update``), then ``alerts_evaluate`` and ``backtests_run``.

``python -m pipelines.build`` loads the whole history of the price source and every other source
in one run, updates the dbt models with their tests and publishes the snapshot; after a
successful build it runs ``alerts_evaluate`` (the rules of ``ALERT_RULES_FILE`` on the new
marts, then the snapshot again), then ``backtests_run`` (every strategy file of ``STRATEGIES_DIR``
in one run, then the snapshot again; with strategy files the alerts run leaves its snapshot to
this one, see :func:`run_after_build`). ``--partition-range FIRST...LAST`` loads only those sessions:
into a built warehouse it runs ``prices_update`` (the daily path, as the weekday schedule does:
the price sources and the models downstream of them, which recompute from ``FIRST`` on only,
see ``dbt_project/README.md``); into an empty one ``warehouse_build`` with that window.
``--price-feed us|krx`` (repeatable) loads only those price feeds (default PRICE_FEEDS: both);
the other markets' rows stay as they are. The runs are
recorded in the Dagster instance of ``DAGSTER_HOME``, so the UI shows them. ``--if-missing``
does nothing when a completed build exists (``make demo``). Exits non-zero on failure.
Output: one line per step as it starts and ends, with the time since the build started and the
rows it wrote, and the dbt step's progress (models and tests done of total; on a terminal as one
live line), see :mod:`pipelines.lib.progress`; ``--verbose`` adds Dagster's event lines (DEBUG)
and dbt's own output.
Configuration: the environment, read once into :class:`~domain.settings.Settings` (see the
README's Configuration table).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from dagster import AssetKey, DagsterInstance

from domain.settings import Settings
from pipelines.defs.alerts.build_failures import build_failure_event, send_build_failure
from pipelines.defs.backtests.sensors import range_tags
from pipelines.lib.progress import BuildProgress, LineSink
from pipelines.lib.resources import build_resources
from pipelines.lib.runs import process_tags

#: Run tags naming the sessions a build loads (shown in the Dagster UI's run list).
FIRST_SESSION_TAG = "prices/first_session"
LAST_SESSION_TAG = "prices/last_session"


@dataclass(frozen=True)
class BuildResult:
    """Outcome of :func:`run_build`: whether the build job, the alerts job and the backtests job
    succeeded, and their run ids (``alerts_run_id`` None when the build failed and alerts did not
    run; ``backtests_run_id`` None when there was no strategy file or an earlier job failed);
    ``errors``: the failed steps' messages (``<step>: <message>``), empty on success;
    ``job_name``: the build job run (``warehouse_build`` or ``prices_update``)."""

    success: bool
    build_run_id: str
    alerts_run_id: str | None = None
    errors: tuple[str, ...] = ()
    job_name: str = "warehouse_build"
    backtests_run_id: str | None = None

    def __bool__(self) -> bool:
        return self.success


def run_build(
    settings: Settings,
    first_session: str | None = None,
    last_session: str | None = None,
    instance: DagsterInstance | None = None,
    allow_shrink: bool = False,
    progress: BuildProgress | None = None,
    price_feeds: list[str] | None = None,
) -> BuildResult:
    """Execute the build job in process, loading the price sessions ``first_session..last_session``
    (``YYYY-MM-DD``; default: the source's whole history) of the ``price_feeds`` (``us``, ``krx``;
    default PRICE_FEEDS), then, if it succeeded, the
    ``alerts_evaluate`` job, both with the resources of ``settings``. The build job is
    ``prices_update`` when a session is given and a build was published (:func:`already_built`),
    else ``warehouse_build``.

    Parses the dbt project first when a model changed or the manifest was parsed with another
    profile or vars (:meth:`~pipelines.lib.resources.DbtResource.parse_if_needed`), so the run
    uses the models as they are on disk and ``dbt build`` parses partially. ``allow_shrink`` lets
    the price load replace the stored rows of its window by far fewer (see
    :class:`pipelines.defs.prices.assets.PricesConfig`); without it an empty or truncated file
    fails the build and nothing is published.

    ``progress``: print the build's progress there (:class:`~pipelines.lib.progress.BuildProgress`:
    step lines, dbt's models and tests done; Dagster's own event lines only when it is verbose);
    None: Dagster's default console output.
    """
    note = progress.note if progress else (lambda text: None)
    note("dbt project: checking whether a model changed since the last parse")
    started = time.monotonic()
    dbt = build_resources(settings, environ={})["dbt"]
    # a parse runs dbt in a child process for ~10-15 s: meanwhile this one loads what the steps use
    warm_up = None
    if not dbt.parse_is_current():
        feeds = price_feeds or list(settings.price_feeds)
        warm_up = threading.Thread(target=warm_up_steps, args=(feeds,), name="build-warm-up", daemon=True)
        warm_up.start()
    try:
        with _output_to(progress):
            parsed = dbt.parse_if_needed()
    finally:
        if warm_up is not None:
            warm_up.join()
    note(f"dbt project parsed ({time.monotonic() - started:.1f} s)" if parsed else "dbt project: manifest is current")
    from pipelines.definitions import build_definitions
    from pipelines.defs.build.jobs import warehouse_build_run_config

    note("loading the Dagster definitions")
    defs = build_definitions(settings)
    tags = {**process_tags()}
    if first_session:
        tags[FIRST_SESSION_TAG] = first_session
    if last_session:
        tags[LAST_SESSION_TAG] = last_session
    instance = instance or DagsterInstance.get()
    run_config = warehouse_build_run_config(first_session, last_session, allow_shrink, price_feeds)
    job_name = "prices_update" if (first_session or last_session) and already_built(settings) else "warehouse_build"
    result = _execute(defs.resolve_job_def(job_name), instance, tags, run_config, progress)
    if not result.success:
        return BuildResult(False, result.run_id, errors=_step_errors(result), job_name=job_name)
    alerts, backtests = run_after_build(defs, instance, settings, progress)
    if not alerts.success:
        return BuildResult(False, result.run_id, alerts.run_id, _step_errors(alerts), job_name)
    if backtests is None:
        return BuildResult(True, result.run_id, alerts.run_id, (), job_name)
    return BuildResult(backtests.success, result.run_id, alerts.run_id, _step_errors(backtests), job_name,
                       backtests.run_id)  # fmt: skip


def run_after_build(defs, instance: DagsterInstance, settings: Settings, progress: BuildProgress | None = None):
    """What follows a successful build job: ``alerts_evaluate``, then, when ``STRATEGIES_DIR`` has
    strategy files, ``backtests_run`` over all of them (:func:`sync_strategy_partitions`).
    Returns the two in-process results (the second None without strategies; not run when the
    alerts failed).

    One publish: with strategies to run, the alerts run evaluates the rules without its snapshot
    step and the backtests run's snapshot publishes the alert events with the runs (~2 s less per
    build and daily increment than two publishes). Should the backtests run fail before its
    snapshot, the alerts job's snapshot step runs alone, so the new alert events are published
    all the same."""
    from pipelines.defs.alerts.assets import ALERT_EVENTS_KEY
    from pipelines.defs.alerts.jobs import SNAPSHOT_KEY

    keys = sync_strategy_partitions(instance, settings)
    alerts_job = defs.resolve_job_def("alerts_evaluate")
    alerts = _execute(alerts_job, instance, process_tags(), {}, progress,
                      asset_selection=[ALERT_EVENTS_KEY] if keys else None)  # fmt: skip
    if not alerts.success or not keys:
        return alerts, None
    if progress:
        progress.note(f"backtests: running {len(keys)} strategies of {settings.strategies_dir}")
    backtests = _execute(defs.resolve_job_def("backtests_run"), instance, {**process_tags(), **range_tags(keys)}, {},
                         progress)  # fmt: skip
    if not _published(backtests):
        _execute(alerts_job, instance, process_tags(), {}, progress, asset_selection=[SNAPSHOT_KEY])
    return alerts, backtests


def _published(result) -> bool:
    """Whether the in-process run ``result`` published the snapshot (its snapshot step succeeded)."""
    from pipelines.defs.alerts.jobs import SNAPSHOT_KEY

    step = SNAPSHOT_KEY.to_python_identifier()
    return any(event.step_key == step for event in result.get_step_success_events())


#: Modules the build's steps import, loaded by :func:`warm_up_steps` (none of them loads the dbt
#: manifest: ``pipelines.definitions`` is imported after the parse).
WARM_UP_MODULES = (
    "dagster", "dagster_dbt", "polars", "pandas", "duckdb", "great_expectations",
    "pipelines.lib.resources", "pipelines.defs.prices.validation",
)  # fmt: skip


def warm_up_steps(price_feeds: Sequence[str]) -> None:
    """Import :data:`WARM_UP_MODULES`, create Great Expectations' data context and the exchange
    calendars of the run's ``price_feeds`` (``us``, ``krx``; XKRX takes ~3 s: its lunar holidays
    since 1995), all cached for the process. :func:`run_build` calls it in a thread while ``dbt
    parse`` runs in its child process (only then: with a current parse there is nothing to
    overlap), so a cold build does this work on the second core (4-9 s earlier to the first price
    step on 2 cores) instead of in its first steps. Best effort: an error here is left to the step
    that needs the module, where it is raised and reported as usual."""
    import importlib

    try:
        for name in WARM_UP_MODULES:
            importlib.import_module(name)
        from domain.calendar import exchange_calendar
        from pipelines.defs.prices.feeds import price_feed
        from pipelines.lib.expectations import context

        context()
        for feed in price_feeds:
            exchange_calendar(price_feed(feed.lower()).exchange)
    except Exception:  # noqa: BLE001 - the step importing it raises the same error, with its context
        return


def sync_strategy_partitions(instance: DagsterInstance, settings: Settings) -> list[str]:
    """Make the dynamic partitions ``strategies`` the stems of ``STRATEGIES_DIR/*.yml`` (add the
    new, delete the gone); returns them sorted."""
    from pipelines.defs.backtests.assets import STRATEGY_PARTITIONS

    keys = sorted(build_resources(settings, environ={})["strategies"].strategy_files())
    known = set(instance.get_dynamic_partitions(STRATEGY_PARTITIONS.name))
    if missing := [key for key in keys if key not in known]:
        instance.add_dynamic_partitions(STRATEGY_PARTITIONS.name, missing)
    for gone in sorted(known - set(keys)):
        instance.delete_dynamic_partition(STRATEGY_PARTITIONS.name, gone)
    return keys


#: Run config of Dagster's console logger when progress lines replace its output.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def _execute(job, instance: DagsterInstance, tags: dict[str, str], run_config: dict, progress: BuildProgress | None,
             asset_selection: list[AssetKey] | None = None):  # fmt: skip
    """``job.execute_in_process`` (errors returned, not raised), of the job's ``asset_selection``
    (default: all its assets). With ``progress``: its events go
    to ``progress`` as they are stored, the console logger is silenced unless it is verbose, and
    what the steps print (dbt's output) goes to ``progress`` line by line."""
    if progress is None:
        return job.execute_in_process(instance=instance, tags=tags, run_config=run_config or None, raise_on_error=False,
                                      asset_selection=asset_selection)  # fmt: skip
    run_id = str(uuid.uuid4())
    instance.add_event_listener(run_id, progress.on_event)
    if not progress.verbose:
        run_config = {**run_config, **QUIET_CONSOLE}
    with _output_to(progress):
        return job.execute_in_process(
            instance=instance, tags=tags, run_config=run_config, raise_on_error=False, run_id=run_id,
            asset_selection=asset_selection,
        )  # fmt: skip


@contextlib.contextmanager
def _output_to(progress: BuildProgress | None):
    """Within the block, lines printed to ``sys.stdout`` go to ``progress`` (no-op without it)."""
    if progress is None:
        yield
        return
    sink = LineSink(progress.on_output_line)
    try:
        with contextlib.redirect_stdout(sink):
            yield
    finally:
        sink.close_pending()


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
        written = datetime.fromtimestamp(settings.snapshot_path.stat().st_mtime, tz=UTC)
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
        "--price-feed",
        action="append",
        choices=["us", "krx"],
        help="load only this price feed (repeatable; default PRICE_FEEDS): us (market US) or krx (KOSPI, KOSDAQ); "
        "with --partition-range the sessions are on its calendar (XNYS, XKRX)",
    )
    parser.add_argument(
        "--allow-shrink",
        action="store_true",
        help="accept a price file that leaves far fewer rows than are stored (an intended deletion)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="also print Dagster's event lines (DEBUG) and dbt's own output"
    )
    args = parser.parse_args(argv)
    settings = Settings()
    if args.if_missing and already_built(settings):
        print("warehouse already built: skipping (make build rebuilds)")
        return 0
    first, last = (None, None)
    if args.partition_range:
        parts = args.partition_range.split("...")
        if len(parts) != 2 or not all(parts):
            parser.error(f"--partition-range {args.partition_range!r}: expected FIRST...LAST (YYYY-MM-DD...YYYY-MM-DD)")
        first, last = parts
    progress = BuildProgress(sys.stdout, live=sys.stdout.isatty(), verbose=args.verbose)
    result = run_build(settings, first, last, allow_shrink=args.allow_shrink, progress=progress,
                       price_feeds=args.price_feed)  # fmt: skip
    if result.alerts_run_id is None and not result.success:
        print(f"build FAILED ({result.job_name} run {result.build_run_id}); nothing new was published")
        for error in result.errors:
            print(f"  {error}")
        kept = published_build(settings)
        print(f"analysts and BI keep {kept}")
        event = build_failure_event(result.build_run_id, result.errors, kept, job_name=result.job_name)
        outcome = send_build_failure(build_resources(settings, environ={})["alerts"], event, run_log=print)
        print(f"build_failed alert: {', '.join(f'{name} {state}' for name, state in outcome.items())}")
        return 1
    if not result.success and result.backtests_run_id is not None:
        print(f"build succeeded ({result.job_name} run {result.build_run_id}) but backtests_run FAILED "
              f"(run {result.backtests_run_id})")  # fmt: skip
        for error in result.errors:
            print(f"  {error}")
        return 1
    if not result.success:
        print(f"build succeeded ({result.job_name} run {result.build_run_id}) but alerts_evaluate FAILED (run {result.alerts_run_id})")
        for error in result.errors:
            print(f"  {error}")
        return 1
    published = f"{settings.schema('meta')}.build_info on PostgreSQL" if settings.postgres else settings.snapshot_path
    print(f"build succeeded ({result.job_name}); published: {published}")
    return 0


def exit_now(code: int) -> None:
    """End the process with ``code`` once the exit handlers ran (the logs flushed, the Dagster
    instance closed), skipping the interpreter's teardown of every loaded module: with Dagster,
    dbt and Great Expectations loaded that takes about 1.7 s, 8 % of a one-session build, and
    frees nothing the operating system would not. Everything the build writes is committed or
    closed by then (the warehouse connections are closed when each step ends)."""
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())

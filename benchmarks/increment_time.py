"""One new session into a built warehouse: wall time of the daily path, whole product.

Builds every session of the bundled file but the last (a first build of 1,258 sessions, in a
child process and a temporary folder, as ``benchmarks/build_time.py`` does), keeps a copy of
that warehouse, then times ``python -m pipelines.build --partition-range LAST...LAST`` (the
``prices_update`` job) with the same ``PRICES_CSV``: the price load of that session, the
incremental dbt models (one bar per ticker, see ``dbt_project/README.md``), every other model
downstream of the prices and their tests, the snapshot, the alert rules and the second
snapshot, i.e. the product up to date. Each repetition starts again
from the copy, so each adds the same real new session. Prints each time, the median, the share
of wall time outside asset compute and the goal (< 10 s DuckDB, < 20 s PostgreSQL).

``--postgres URL`` measures the same on a PostgreSQL server (a scratch database created and
dropped; the first build there is copied with ``CREATE DATABASE ... TEMPLATE``).

``--feed krx`` measures one new Korean session instead: the first build loads the US file, then the
KRX file up to 2022-05-13, then
``--price-feed krx --partition-range 2022-05-16...2022-05-16`` (the ``krx_after_close_schedule``'s
run: 2,474 KOSPI/KOSDAQ tickers).

Usage: ``python benchmarks/increment_time.py [--repeat N] [--postgres URL] [--feed us|krx]`` (default 3, us).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import uuid
from pathlib import Path

from build_time import BuildTiming, build_environment, timed_build

FIRST_SESSION = "2013-02-08"
#: Per price feed: the last session of the first build and the new session timed.
SESSIONS = {"us": ("2018-02-06", "2018-02-07"), "krx": ("2022-05-13", "2022-05-16")}


def first_build(directory: str, env: dict[str, str], feed: str) -> BuildTiming:
    """The first build of every session before the timed one: for ``us`` one run over both feeds;
    for ``krx`` the US file whole, then the KRX file up to 2022-05-13 (one run over both feeds to
    2022-05-13 would fail the US feed's completeness gate: its file ends 2018-02-07)."""
    if feed == "us":
        return timed_build(directory, env, ["--partition-range", f"{FIRST_SESSION}...{SESSIONS[feed][0]}"])
    timed_build(directory, env, ["--price-feed", "us"])
    return timed_build(directory, env, ["--price-feed", feed, "--partition-range", f"{FIRST_SESSION}...{SESSIONS[feed][0]}"])


def new_session_args(feed: str) -> list[str]:
    """``pipelines.build`` arguments of the timed run: one session of ``feed``."""
    last = SESSIONS[feed][1]
    return ["--price-feed", feed, "--partition-range", f"{last}...{last}"]


def _restore(directory: str, env: dict[str, str], copies: Path) -> None:
    for name in ("WAREHOUSE_PATH", "WAREHOUSE_SNAPSHOT_PATH"):
        shutil.copyfile(copies / Path(env[name]).name, env[name])


def duckdb_increments(repeat: int, feed: str = "us") -> tuple[BuildTiming, list[BuildTiming]]:
    """The first build of all but the last session, then ``repeat`` timed one-session runs."""
    with tempfile.TemporaryDirectory() as directory:
        env = build_environment(directory)
        first = first_build(directory, env, feed)
        copies = Path(directory, "copies")
        copies.mkdir()
        for name in ("WAREHOUSE_PATH", "WAREHOUSE_SNAPSHOT_PATH"):
            shutil.copyfile(env[name], copies / Path(env[name]).name)
        runs = []
        for _ in range(repeat):
            _restore(directory, env, copies)
            runs.append(timed_build(directory, env, new_session_args(feed)))
        return first, runs


def postgres_increments(admin_url: str, repeat: int, feed: str = "us") -> tuple[BuildTiming, list[BuildTiming]]:
    """As :func:`duckdb_increments` on PostgreSQL: each repetition runs on a fresh copy
    (``CREATE DATABASE ... TEMPLATE``) of the first build, under the first build's database name:
    the daily run of a deployment uses the database of its first build, and another name would
    change the dbt profile and make every run parse the project again (~7 s)."""
    import psycopg

    from domain.warehouse.postgres_backend import PostgresConnection, conninfo

    admin = PostgresConnection.from_url(admin_url)
    work = f"sw_bench_inc_{uuid.uuid4().hex[:8]}"
    base = f"{work}_first"
    created = [base, work]

    def url(dbname: str) -> str:
        return PostgresConnection(admin.host, admin.port, admin.user, admin.password, dbname).url()

    with psycopg.connect(conninfo(admin), autocommit=True) as con:
        con.execute(f'create database "{work}"')
        try:
            with tempfile.TemporaryDirectory() as directory:
                env = build_environment(directory, {"WAREHOUSE_URL": url(work)})
                first = first_build(directory, env, feed)
                con.execute(f'create database "{base}" template "{work}"')
                runs = []
                for _ in range(repeat):
                    con.execute(f'drop database "{work}" with (force)')
                    con.execute(f'create database "{work}" template "{base}"')
                    runs.append(timed_build(directory, env, new_session_args(feed)))
                return first, runs
        finally:
            for dbname in reversed(created):
                con.execute(f'drop database if exists "{dbname}" with (force)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="one-session runs timed (default 3)")
    parser.add_argument("--postgres", metavar="URL", help="measure on this PostgreSQL server instead of DuckDB")
    parser.add_argument("--feed", choices=sorted(SESSIONS), default="us", help="the price feed of the new session")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    backend, goal = ("PostgreSQL", 20) if args.postgres else ("DuckDB", 10)
    before_last, last = SESSIONS[args.feed]
    first, runs = (postgres_increments(args.postgres, args.repeat, args.feed) if args.postgres
                   else duckdb_increments(args.repeat, args.feed))  # fmt: skip
    print(f"first build of {before_last} and before ({backend}, price feeds us and krx): {first.wall:.1f} s")
    for i, run in enumerate(runs, 1):
        print(
            f"one new {args.feed} session {last}, run {i}: {run.wall:.1f} s ({run.outside_share:.0%} outside asset compute)"
        )
        steps = sorted(run.steps.items(), key=lambda item: -item[1])[:5]
        print("  slowest steps: " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in steps))
        print(f"  slowest dbt nodes: {run.slowest_dbt_nodes}")
    times = [run.wall for run in runs]
    print(f"one new session, whole product up to date ({backend}): median {statistics.median(times):.1f} s "
          f"(min {min(times):.1f}, max {max(times):.1f}); goal < {goal} s")  # fmt: skip


if __name__ == "__main__":
    main()

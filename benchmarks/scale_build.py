"""The build at about 25 M rows: a SYNTHETIC file of 5,050 tickers x 20 years, DuckDB or PostgreSQL.

Uses ``benchmarks/scale_prices.py`` (generated into ``--prices`` when that file does not
exist; see its docstring for how the real bundled file is scaled: synthetic, for scale
benchmarks only). Then, in a child process and a temporary folder (as
``benchmarks/build_time.py``), with ``PRICES_CSV`` = that file and ``HISTORY_START`` = its first
session: a first build of every session but the last, timed, then the last session alone
(``--partition-range LAST...LAST``, the daily path), timed. Prints wall time, share of wall
time outside asset compute, peak RSS (the build process and the dbt process it waits for) and
the file sizes, against the goals (DuckDB: < 10 min and < 8 GB, increment < 30 s).

Usage: ``python benchmarks/scale_build.py [--prices /tmp/prices_25m.csv] [--postgres URL]``.
"""

from __future__ import annotations

import argparse
import tempfile
import uuid
from datetime import date
from pathlib import Path

import polars as pl
from build_time import BuildTiming, build_environment, timed_build
from scale_prices import SOURCE, generate

from domain.calendar import previous_session_before


def _report(label: str, timing: BuildTiming) -> None:
    steps = ", ".join(
        f"{step} {seconds:.0f} s" for step, seconds in sorted(timing.steps.items(), key=lambda i: -i[1])[:6]
    )
    print(
        f"{label}: {timing.wall:.0f} s, {timing.outside_share:.0%} outside asset compute, peak RSS "
        f"{timing.peak_rss_bytes / 1e9:.1f} GB, warehouse.duckdb {timing.warehouse_bytes / 1e9:.2f} GB, "
        f"snapshot {timing.snapshot_bytes / 1e9:.2f} GB; slowest steps: {steps}",
        flush=True,
    )
    if timing.slowest_dbt_nodes:
        print(f"  slowest dbt nodes: {timing.slowest_dbt_nodes}", flush=True)


def scale_build(prices: Path, postgres_url: str | None) -> tuple[BuildTiming, BuildTiming]:
    """First build of all but the last session, then the last session: both timed."""
    dates = pl.scan_csv(prices).select(pl.col("date").min().alias("first"), pl.col("date").max().alias("last"))
    first, last = dates.collect().row(0)
    before_last = previous_session_before(date.fromisoformat(last)).isoformat()
    extra = {"PRICES_CSV": str(prices), "HISTORY_START": first}
    with tempfile.TemporaryDirectory() as directory:
        if postgres_url:
            import psycopg

            from domain.warehouse.postgres_backend import PostgresConnection, conninfo

            admin = PostgresConnection.from_url(postgres_url)
            dbname = f"sw_bench_scale_{uuid.uuid4().hex[:8]}"
            target = PostgresConnection(admin.host, admin.port, admin.user, admin.password, dbname)
            with psycopg.connect(conninfo(admin), autocommit=True) as con:
                con.execute(f'create database "{dbname}"')
                try:
                    env = build_environment(directory, {**extra, "WAREHOUSE_URL": target.url()})
                    cold = timed_build(directory, env, ["--partition-range", f"{first}...{before_last}"])
                    _report("first build", cold)
                    increment = timed_build(directory, env, ["--partition-range", f"{last}...{last}"])
                finally:
                    con.execute(f'drop database if exists "{dbname}" with (force)')
        else:
            env = build_environment(directory, extra)
            cold = timed_build(directory, env, ["--partition-range", f"{first}...{before_last}"])
            _report("first build", cold)
            increment = timed_build(directory, env, ["--partition-range", f"{last}...{last}"])
        return cold, increment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prices", type=Path, default=Path(tempfile.gettempdir()) / "prices_25m.csv")
    parser.add_argument("--postgres", metavar="URL", help="build on this PostgreSQL server instead of DuckDB")
    args = parser.parse_args()
    if not args.prices.exists():
        figures = generate(SOURCE, args.prices, copies=10, years=20, seed=42, end=date(2026, 11, 30))
        print(f"generated SYNTHETIC {args.prices}: {figures['rows']:,} rows, {figures['tickers']:,} tickers")
    rows = pl.scan_csv(args.prices).select(pl.len()).collect().item()
    backend = "PostgreSQL" if args.postgres else "DuckDB"
    print(f"{backend}, {rows:,} rows (synthetic, {args.prices})", flush=True)
    _, increment = scale_build(args.prices, args.postgres)
    _report("one new session", increment)
    print(f"goals ({backend}): first build < 10 min and peak RSS < 8 GB; one new session < 30 s")


if __name__ == "__main__":
    main()

"""PostgreSQL vs DuckDB: full build time (ratio) and COPY load throughput.

* Full build: ``python -m pipelines.build`` of the bundled data, in a fresh process each
  time, once into a new DuckDB file and once into a new PostgreSQL database (created and
  dropped here), repeated; prints medians and the ratio. The child process is configured
  through its environment, as a user configures the command: the temporary directory's
  ``WAREHOUSE_PATH``, ``WAREHOUSE_SNAPSHOT_PATH``, ``RAW_RESPONSES_DIR``, ``DAGSTER_HOME``
  and ``TMPDIR``, plus ``WAREHOUSE_URL`` for the PostgreSQL build, and none of the product's
  other variables (the fields of :class:`domain.settings.Settings` set in this shell are
  left out).
* COPY throughput: the 619,029 complete bundled price rows sent with the pipelines' own
  ``copy_frame`` (``COPY ... FROM STDIN``, CSV) into an empty table, repeated; rows/s.

Needs a PostgreSQL server where it may create databases: ``--admin-url`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``). Prints figures only.

Usage: ``python benchmarks/postgres_vs_duckdb.py [--repeat 3] [--admin-url URL]`` (``--repeat 1``
is the smallest run: one COPY, one build on each backend)
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg

from domain.settings import BUNDLED_PRICES_CSV, PostgresConnection
from domain.warehouse.postgres_backend import conninfo, copy_frame
from pipelines.defs.prices.reader import read_prices_csv

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_time import cold_build_seconds


def _database(admin: PostgresConnection, create: bool, name: str) -> None:
    with psycopg.connect(conninfo(admin), autocommit=True) as con:
        con.execute(f'create database "{name}"' if create else f'drop database if exists "{name}" with (force)')


def build_seconds(env_extra: dict[str, str]) -> float:
    """One cold build in a child process (see :func:`build_time.cold_build_seconds`)."""
    return cold_build_seconds(env_extra)


def postgres_build_seconds(admin: PostgresConnection) -> float:
    name = f"sw_bench_{uuid.uuid4().hex[:8]}"
    _database(admin, True, name)
    try:
        return build_seconds({"WAREHOUSE_URL": dataclasses.replace(admin, dbname=name).url()})
    finally:
        _database(admin, False, name)


def copy_rows_per_second(admin: PostgresConnection, repeat: int) -> tuple[int, list[float]]:
    frame = read_prices_csv(BUNDLED_PRICES_CSV).drop_nulls().drop("source_line")
    name = f"sw_bench_{uuid.uuid4().hex[:8]}"
    _database(admin, True, name)
    target = dataclasses.replace(admin, dbname=name)
    times = []
    try:
        with psycopg.connect(conninfo(target)) as con:
            con.execute(
                "create table prices (ticker text, trade_date date, open double precision, high double precision,"
                " low double precision, close double precision, volume bigint)"
            )
            con.commit()
            for _ in range(repeat):
                with con.transaction(), con.cursor() as cursor:
                    cursor.execute("truncate prices")
                    start = time.perf_counter()
                    copy_frame(cursor, "prices", frame)
                    times.append(time.perf_counter() - start)
    finally:
        _database(admin, False, name)
    return frame.height, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="COPY loads and builds per backend (default 3)")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="server where the benchmark may create and drop databases")  # fmt: skip
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    admin = PostgresConnection.from_url(args.admin_url)

    rows, copy_times = copy_rows_per_second(admin, args.repeat)
    copy_median = statistics.median(copy_times)
    print(f"COPY {rows:,} price rows: median {copy_median:.2f} s = {rows / copy_median:,.0f} rows/s "
          f"(runs: {', '.join(f'{t:.2f}' for t in copy_times)})", flush=True)  # fmt: skip

    duck, pg = [], []
    for i in range(args.repeat):
        duck.append(build_seconds({}))
        pg.append(postgres_build_seconds(admin))
        print(f"run {i + 1}: DuckDB {duck[-1]:.1f} s, PostgreSQL {pg[-1]:.1f} s", flush=True)
    d, p = statistics.median(duck), statistics.median(pg)
    print(f"full build median: DuckDB {d:.1f} s, PostgreSQL {p:.1f} s, ratio PostgreSQL/DuckDB {p / d:.2f}x")


if __name__ == "__main__":
    main()

"""PostgreSQL vs DuckDB: full build time (ratio) and COPY load throughput.

* Full build: ``python -m pipelines.build`` of the bundled data, in a fresh process each
  time, once into a new DuckDB file and once into a new PostgreSQL database (created and
  dropped here), repeated; prints medians and the ratio.
* COPY throughput: the 619,029 complete bundled price rows sent with the pipelines' own
  ``copy_frame`` (``COPY ... FROM STDIN``, CSV) into an empty table, repeated; rows/s.

Needs a PostgreSQL server where it may create databases: ``--admin-url`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``). Prints figures only.

Usage: ``python benchmarks/postgres_vs_duckdb.py [--repeat 3] [--admin-url URL]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from domain.settings import BUNDLED_PRICES_CSV, PostgresConnection
from domain.warehouse.postgres_backend import copy_frame
from pipelines.defs.prices.reader import read_prices_csv

REPO_ROOT = Path(__file__).resolve().parents[1]


def _database(admin: PostgresConnection, create: bool, name: str) -> None:
    with psycopg.connect(admin.conninfo(), autocommit=True) as con:
        con.execute(f'create database "{name}"' if create else f'drop database if exists "{name}" with (force)')


def build_seconds(env_extra: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory() as directory:
        Path(directory, "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        env = {
            **os.environ,
            "WAREHOUSE_PATH": f"{directory}/warehouse.duckdb",
            "WAREHOUSE_SNAPSHOT_PATH": f"{directory}/warehouse.snapshot.duckdb",
            "DAGSTER_HOME": directory,
            **env_extra,
        }
        env.pop("PRICES_CSV", None)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipelines.build"], cwd=REPO_ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start


def postgres_build_seconds(admin: PostgresConnection) -> float:
    name = f"sw_bench_{uuid.uuid4().hex[:8]}"
    _database(admin, True, name)
    try:
        url = f"postgresql://{admin.user}{':' + admin.password if admin.password else ''}@{admin.host}:{admin.port}/{name}"
        return build_seconds({"WAREHOUSE_URL": url})
    finally:
        _database(admin, False, name)


def copy_rows_per_second(admin: PostgresConnection, repeat: int) -> tuple[int, list[float]]:
    frame = read_prices_csv(BUNDLED_PRICES_CSV).drop_nulls().drop("source_line")
    name = f"sw_bench_{uuid.uuid4().hex[:8]}"
    _database(admin, True, name)
    target = PostgresConnection(admin.host, admin.port, admin.user, admin.password, name)
    times = []
    try:
        with psycopg.connect(target.conninfo()) as con:
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
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    admin = PostgresConnection.from_url(args.admin_url)

    rows, copy_times = copy_rows_per_second(admin, args.repeat)
    copy_median = statistics.median(copy_times)
    print(f"COPY {rows:,} price rows: median {copy_median:.2f} s = {rows / copy_median:,.0f} rows/s "
          f"(runs: {', '.join(f'{t:.2f}' for t in copy_times)})", flush=True)

    duck, pg = [], []
    for i in range(args.repeat):
        duck.append(build_seconds({}))
        pg.append(postgres_build_seconds(admin))
        print(f"run {i + 1}: DuckDB {duck[-1]:.1f} s, PostgreSQL {pg[-1]:.1f} s", flush=True)
    d, p = statistics.median(duck), statistics.median(pg)
    print(f"full build median: DuckDB {d:.1f} s, PostgreSQL {p:.1f} s, ratio PostgreSQL/DuckDB {p / d:.2f}x")


if __name__ == "__main__":
    main()

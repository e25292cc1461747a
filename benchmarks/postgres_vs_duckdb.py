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
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from pydantic import AliasChoices

from domain.settings import BUNDLED_PRICES_CSV, PostgresConnection, Settings
from domain.warehouse.postgres_backend import conninfo, copy_frame
from pipelines.defs.prices.reader import read_prices_csv

REPO_ROOT = Path(__file__).resolve().parents[1]


def product_variables() -> frozenset[str]:
    """Names of the environment variables :class:`Settings` reads (upper case)."""
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(name.upper())
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices)
        elif isinstance(alias, str):
            names.add(alias.upper())
    return frozenset(names)


def _database(admin: PostgresConnection, create: bool, name: str) -> None:
    with psycopg.connect(conninfo(admin), autocommit=True) as con:
        con.execute(f'create database "{name}"' if create else f'drop database if exists "{name}" with (force)')


def build_seconds(env_extra: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory() as directory:
        Path(directory, "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        product = product_variables()
        env = {
            **{name: value for name, value in os.environ.items() if name.upper() not in product},
            "WAREHOUSE_PATH": f"{directory}/warehouse.duckdb",
            "WAREHOUSE_SNAPSHOT_PATH": f"{directory}/warehouse.snapshot.duckdb",
            "RAW_RESPONSES_DIR": f"{directory}/raw",
            "DAGSTER_HOME": directory,
            # the child's temporary files (the dbt profile it renders) go away with the directory
            "TMPDIR": directory,
            **env_extra,
        }
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipelines.build"], cwd=REPO_ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        return time.perf_counter() - start


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

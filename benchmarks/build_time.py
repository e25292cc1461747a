"""Full cold build of the bundled data: wall time of ``python -m pipelines.build``.

Each repetition builds into a fresh temporary directory (new DuckDB file, new snapshot,
new Dagster instance), exactly what ``make build`` does on a fresh clone, including
process start and imports. Prints each time, the median and the goal (< 60 s on 2 cores).

Usage: ``python benchmarks/build_time.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def cold_build_seconds() -> float:
    with tempfile.TemporaryDirectory() as directory:
        env = {
            **os.environ,
            "WAREHOUSE_PATH": f"{directory}/warehouse.duckdb",
            "WAREHOUSE_SNAPSHOT_PATH": f"{directory}/warehouse.snapshot.duckdb",
            "DAGSTER_HOME": directory,
        }
        env.pop("PRICES_CSV", None)
        Path(directory, "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pipelines.build"], cwd=REPO_ROOT, env=env, check=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    times = []
    for i in range(args.repeat):
        times.append(cold_build_seconds())
        print(f"run {i + 1}: {times[-1]:.1f} s", flush=True)
    print(f"full cold build (619,040 rows, {os.cpu_count()} cores): median {statistics.median(times):.1f} s "
          f"(min {min(times):.1f}, max {max(times):.1f}); goal < 60 s")


if __name__ == "__main__":
    main()

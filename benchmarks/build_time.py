"""Full cold build of the bundled data: wall time of ``python -m pipelines.build``.

Each repetition builds into a fresh temporary directory (new DuckDB file, new snapshot,
new Dagster instance), exactly what ``make build`` does on a fresh clone, including
process start and imports. The build runs in a child process configured the way a user
configures the command, through its environment: the temporary directory's
``WAREHOUSE_PATH``, ``WAREHOUSE_SNAPSHOT_PATH``, ``RAW_RESPONSES_DIR``, ``DAGSTER_HOME`` and
``TMPDIR``, and none of the product's other variables (the fields of
:class:`domain.settings.Settings` set in this shell, such as ``WAREHOUSE_URL`` or
``PRICES_CSV``, are left out), so it is the default DuckDB build of the bundled files
whatever the caller's environment. Prints each time, the median and the goal (< 60 s on
2 cores).

Usage: ``python benchmarks/build_time.py [--repeat N]`` (default 3; ``--repeat 1`` is the
smallest run)
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

from domain.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]


def cold_build_seconds(env_extra: dict[str, str] | None = None) -> float:
    """Seconds of one ``python -m pipelines.build`` in a child process on a fresh DuckDB file and
    Dagster instance in a temporary folder; ``env_extra`` adds settings (e.g. ``WAREHOUSE_URL``).
    The child sees none of this shell's product settings."""
    with tempfile.TemporaryDirectory() as directory:
        product = frozenset(Settings.environment_variables())
        env = {
            **{name: value for name, value in os.environ.items() if name.upper() not in product},
            "WAREHOUSE_PATH": f"{directory}/warehouse.duckdb",
            "WAREHOUSE_SNAPSHOT_PATH": f"{directory}/warehouse.snapshot.duckdb",
            "RAW_RESPONSES_DIR": f"{directory}/raw",
            "DAGSTER_HOME": directory,
            # the child's temporary files (the dbt profile it renders) go away with the directory
            "TMPDIR": directory,
            **(env_extra or {}),
        }
        Path(directory, "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pipelines.build"], cwd=REPO_ROOT, env=env, check=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="cold builds timed (default 3)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    times = []
    for i in range(args.repeat):
        times.append(cold_build_seconds())
        print(f"run {i + 1}: {times[-1]:.1f} s", flush=True)
    print(f"full cold build (619,040 rows, {os.cpu_count()} cores): median {statistics.median(times):.1f} s "
          f"(min {min(times):.1f}, max {max(times):.1f}); goal < 60 s")  # fmt: skip


if __name__ == "__main__":
    main()

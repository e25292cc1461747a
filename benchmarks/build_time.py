"""Full cold build of the bundled data: wall time of ``python -m pipelines.build``.

Each repetition builds into a fresh temporary directory (new DuckDB file, new snapshot,
new Dagster instance), exactly what ``make build`` does on a fresh clone, including
process start and imports. The build runs in a child process configured the way a user
configures the command, through its environment: the temporary directory's
``WAREHOUSE_PATH``, ``WAREHOUSE_SNAPSHOT_PATH``, ``RAW_RESPONSES_DIR``, ``DAGSTER_HOME`` and
``TMPDIR``, and none of the product's other variables (the fields of
:class:`domain.settings.Settings` set in this shell, such as ``WAREHOUSE_URL`` or
``PRICES_CSV``, are left out), so it is the default DuckDB build of the bundled files
whatever the caller's environment. Prints each time, the median and the goal (< 90 s for both markets, < 60 s for the US file alone, on
2 cores), the share of wall time outside asset compute (wall time minus the Dagster step
durations, see ``benchmarks/dagster_runs.py``; goal < 15 %) and the sizes of the warehouse
file and of the published snapshot.

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
from dataclasses import dataclass, field
from pathlib import Path

from dagster_runs import run_ids, step_seconds

from domain.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class BuildTiming:
    """One timed ``python -m pipelines.build``: wall seconds of the process, seconds inside the
    Dagster steps, and the sizes (bytes) of the DuckDB files it left."""

    wall: float
    in_steps: float
    warehouse_bytes: int = 0
    snapshot_bytes: int = 0
    peak_rss_bytes: int = 0
    steps: dict[str, float] = field(default_factory=dict)
    slowest_dbt_nodes: str = ""

    @property
    def outside_share(self) -> float:
        """Fraction of the wall time outside the steps (process start, definitions, run events)."""
        return max(0.0, self.wall - self.in_steps) / self.wall


def build_environment(directory: str, env_extra: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: this shell's minus the product's settings, the warehouse, snapshot,
    raw responses, Dagster instance and temporary files in ``directory``, plus ``env_extra``."""
    product = frozenset(Settings.environment_variables())
    Path(directory, "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return {
        **{name: value for name, value in os.environ.items() if name.upper() not in product},
        "WAREHOUSE_PATH": f"{directory}/warehouse.duckdb",
        "WAREHOUSE_SNAPSHOT_PATH": f"{directory}/warehouse.snapshot.duckdb",
        "RAW_RESPONSES_DIR": f"{directory}/raw",
        "DAGSTER_HOME": directory,
        # the child's temporary files (the dbt profile it renders) go away with the directory
        "TMPDIR": directory,
        **(env_extra or {}),
    }


def timed_build(directory: str, env: dict[str, str], args: list[str] | None = None) -> BuildTiming:
    """Run ``python -m pipelines.build [args]`` with ``env`` and time it (raises on failure). The
    peak RSS is the largest of the process and the children it waited for (dbt, which runs
    DuckDB in process), from ``wait4``'s resource usage."""
    before = run_ids(Path(directory))
    start = time.perf_counter()
    log = Path(directory, "build.log")
    with log.open("wb") as output:
        child = subprocess.Popen(
            [sys.executable, "-m", "pipelines.build", *(args or [])], cwd=REPO_ROOT, env=env,
            stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if child.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise RuntimeError(f"{' '.join(child.args)} exited {child.returncode} after {wall:.0f} s:\n{tail}")
    steps = step_seconds(Path(directory), skip_runs=before)
    in_steps = sum(steps.values())
    sizes = [Path(env[name]).stat().st_size if Path(env[name]).exists() else 0
             for name in ("WAREHOUSE_PATH", "WAREHOUSE_SNAPSHOT_PATH")]  # fmt: skip
    nodes = [line.split("slowest dbt nodes: ", 1)[1] for line in log.read_text(errors="replace").splitlines()
             if "slowest dbt nodes: " in line]  # fmt: skip
    return BuildTiming(
        wall, in_steps, *sizes, peak_rss_bytes=usage.ru_maxrss * 1024, steps=steps,
        slowest_dbt_nodes=nodes[0] if nodes else "",
    )  # fmt: skip


def cold_build(env_extra: dict[str, str] | None = None) -> BuildTiming:
    """One ``python -m pipelines.build`` in a child process on a fresh DuckDB file and Dagster
    instance in a temporary folder; ``env_extra`` adds settings (e.g. ``WAREHOUSE_URL``). The
    child sees none of this shell's product settings."""
    with tempfile.TemporaryDirectory() as directory:
        return timed_build(directory, build_environment(directory, env_extra))


def cold_build_seconds(env_extra: dict[str, str] | None = None) -> float:
    """Wall seconds of :func:`cold_build`."""
    return cold_build(env_extra).wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="cold builds timed (default 3)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    runs = []
    for i in range(args.repeat):
        runs.append(cold_build())
        print(f"run {i + 1}: {runs[-1].wall:.1f} s, {runs[-1].outside_share:.0%} outside asset compute", flush=True)
    times = [run.wall for run in runs]
    print(f"full cold build (bundled data of PRICE_FEEDS, default US 619,040 + KRX 2,408,614 rows, {os.cpu_count()} "
          f"cores): median {statistics.median(times):.1f} s (min {min(times):.1f}, max {max(times):.1f}); "
          "goal < 90 s for both markets (< 60 s for the US file alone)")  # fmt: skip
    print(f"outside asset compute: median {statistics.median(r.outside_share for r in runs):.0%} of wall; goal < 15 %")
    print(
        f"files: warehouse.duckdb {runs[-1].warehouse_bytes / 1e6:.0f} MB, "
        f"snapshot {runs[-1].snapshot_bytes / 1e6:.0f} MB"
    )


if __name__ == "__main__":
    main()

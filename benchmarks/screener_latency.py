"""Latency of the Screener's queries against the warehouse the app reads.

Runs every named preset plus a set of random filter combinations ``N`` times
each through the app's own code path (:func:`dashboards.lib.warehouse.run_screen`:
SQL build, query on the read-only DuckDB snapshot or PostgreSQL database, pandas
result) and prints the p50 / p95 latency per screen and over all runs.
Goal: overall p95 < 20 ms on DuckDB, < 50 ms on PostgreSQL (one query over the
network per screen). Prints only; it asserts nothing.

    python benchmarks/screener_latency.py                   # backend and location from settings
    python benchmarks/screener_latency.py --snapshot data/dev/app_dev.duckdb -n 200 --random 30
    python benchmarks/screener_latency.py --backend postgres     # WAREHOUSE_URL from the environment
    python benchmarks/screener_latency.py --url postgresql://postgres@127.0.0.1:5432/sw --schema-prefix t_
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]

from dashboards.lib import screens, warehouse
from domain.screens import Range, ScreenSpec, Trend
from domain.settings import get_settings

#: Goal of the overall p95 per backend (ms).
GOAL_P95_MS = {"duckdb": 20.0, "postgres": 50.0}

#: Range filters a random screen may use, with the quantiles its bounds are drawn from.
_RANDOM_RANGES = (
    "market_cap", "pe_ratio", "pb_ratio", "dividend_yield", "rsi_14",
    "return_1d", "return_5d", "return_21d", "return_63d", "return_126d", "return_252d",
)  # fmt: skip


def random_screens(count: int, seed: int) -> dict[str, ScreenSpec]:
    """``count`` reproducible random screens built from the snapshot's value distribution."""
    rng = random.Random(seed)
    mart = warehouse.query(f"SELECT {', '.join(_RANDOM_RANGES)} FROM {warehouse.table('marts', 'mart_screener_latest')}")
    quantiles = {c: mart[c].dropna().quantile([i / 10 for i in range(11)]).tolist() for c in _RANDOM_RANGES}
    sectors = warehouse.sectors()
    out: dict[str, ScreenSpec] = {}
    for i in range(count):
        kwargs: dict = {}
        for column in rng.sample(_RANDOM_RANGES, rng.randint(1, 4)):
            q = quantiles[column]
            lo_i = rng.randint(0, 7)
            hi_i = rng.randint(lo_i + 2, 10)
            lo, hi = q[lo_i], q[hi_i]
            if lo >= hi:
                continue
            kind = rng.choice(("min", "max", "both"))
            kwargs[column] = Range(
                min=lo if kind in ("min", "both") else None, max=hi if kind in ("max", "both") else None
            )
        if sectors and rng.random() < 0.5:
            kwargs["sectors"] = tuple(rng.sample(sectors, rng.randint(1, min(4, len(sectors)))))
        if rng.random() < 0.3:
            kwargs["vs_sma_50"] = rng.choice(list(Trend))
        if rng.random() < 0.3:
            kwargs["vs_sma_200"] = rng.choice(list(Trend))
        if rng.random() < 0.2:
            kwargs["max_below_high_52w"] = rng.choice((0.02, 0.05, 0.1, 0.25))
        if rng.random() < 0.2:
            kwargs["min_relative_volume"] = rng.choice((0.8, 1.0, 1.5, 2.0))
        if rng.random() < 0.15:
            kwargs["text"] = rng.choice(("a", "corp", "inc", "bank", "tech"))
        kwargs["sort_by"] = rng.choice(list(screens.SORT_COLUMNS))
        kwargs["descending"] = rng.random() < 0.5
        out[f"random #{i + 1:02d}"] = ScreenSpec(**kwargs)
    return out


def time_screen(spec: ScreenSpec, runs: int, warmup: int) -> tuple[np.ndarray, int]:
    """Latencies in ms of ``runs`` executions (after ``warmup``), and the row count."""
    rows = 0
    for _ in range(warmup):
        rows = len(warehouse.run_screen(spec))
    samples = np.empty(runs)
    for i in range(runs):
        started = time.perf_counter()
        warehouse.run_screen(spec)
        samples[i] = (time.perf_counter() - started) * 1000
    return samples, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backend",
        choices=("duckdb", "postgres"),
        help="warehouse to time (default: from settings; postgres needs WAREHOUSE_URL or --url)",
    )
    parser.add_argument("--snapshot", type=Path, help="DuckDB snapshot file (default: settings' snapshot_path)")
    parser.add_argument("--url", help="postgresql://user:password@host:port/dbname (sets WAREHOUSE_URL; implies postgres)")
    parser.add_argument("--schema-prefix", help="schema prefix (sets WAREHOUSE_SCHEMA_PREFIX, e.g. t_)")
    parser.add_argument("-n", "--runs", type=int, default=100, help="timed runs per screen (default 100)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs per screen first (default 3)")
    parser.add_argument("--random", type=int, default=20, help="number of random screens (default 20)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the random screens (default 42)")
    args = parser.parse_args(argv)

    if args.url and args.backend == "duckdb":
        parser.error("--url selects PostgreSQL; drop --backend duckdb")
    if args.snapshot is not None:
        os.environ["WAREHOUSE_SNAPSHOT_PATH"] = str(args.snapshot.resolve())
    if args.url:
        os.environ["WAREHOUSE_URL"] = args.url
    elif args.backend == "duckdb":
        os.environ.pop("WAREHOUSE_URL", None)
    if args.schema_prefix is not None:
        os.environ["WAREHOUSE_SCHEMA_PREFIX"] = args.schema_prefix
    get_settings.cache_clear()
    backend = get_settings().backend
    if args.backend == "postgres" and backend != "postgres":
        parser.error("--backend postgres needs WAREHOUSE_URL in the environment or --url")
    goal = GOAL_P95_MS[backend]
    where = warehouse.describe()
    if not warehouse.is_built():
        print(f"nothing built in {where}: run `make build` first")
        return 1
    info = warehouse.build_info()
    universe = warehouse.universe_size()
    print(f"backend: {backend}, {where}")
    if info is not None:
        print(f"built_at: {info.built_at:%Y-%m-%d %H:%M:%S} UTC  run_id: {info.run_id}")
    print(f"universe: {universe} tickers; {args.runs} timed runs per screen after {args.warmup} warm-up runs\n")

    suite = {f"preset: {name}": spec for name, spec in screens.PRESETS.items()}
    suite.update(random_screens(args.random, args.seed))

    width = max(len(name) for name in suite)
    print(f"{'screen':<{width}}  {'rows':>5}  {'p50 ms':>8}  {'p95 ms':>8}  {'max ms':>8}")
    print("-" * (width + 37))
    all_samples = []
    for name, spec in suite.items():
        samples, rows = time_screen(spec, args.runs, args.warmup)
        all_samples.append(samples)
        p50, p95 = np.percentile(samples, [50, 95])
        print(f"{name:<{width}}  {rows:>5}  {p50:>8.2f}  {p95:>8.2f}  {samples.max():>8.2f}")
    merged = np.concatenate(all_samples)
    p50, p95, p99 = np.percentile(merged, [50, 95, 99])
    print("-" * (width + 37))
    print(
        f"overall: {len(suite)} screens, {merged.size} runs  p50 {p50:.2f} ms  p95 {p95:.2f} ms  "
        f"p99 {p99:.2f} ms  (goal p95 < {goal:g} ms: {'met' if p95 < goal else 'NOT met'})"
    )
    warehouse.close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())

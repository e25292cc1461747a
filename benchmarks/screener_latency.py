"""Latency of the Screener's queries against the warehouse the app reads.

Runs every named preset (:func:`domain.screens.presets`) plus a set of random filter
combinations ``N`` times each through the app's own code path
(:func:`dashboards.queries.screener.run_screen` on the reader of
:func:`domain.warehouse.readers.open_reader`: SQL build, query on the read-only DuckDB snapshot
or PostgreSQL database, pandas result) and prints the p50 / p95 latency per screen and over all
runs. Goal: overall p95 < 20 ms on DuckDB, < 50 ms on PostgreSQL (one query over the network per
screen). Prints only; it asserts nothing.

Configuration: like the app, :class:`~domain.settings.Settings` read from the environment once
(``WAREHOUSE_SNAPSHOT_PATH``, ``WAREHOUSE_URL``, ``WAREHOUSE_SCHEMA_PREFIX``...), with the
options below replacing single values. The random screens are drawn from the snapshot's value
distribution and the registry's sort columns (:func:`domain.screens.registry`), reproducibly
for one ``--seed`` and registry.

    python benchmarks/screener_latency.py                   # backend and location from settings
    python benchmarks/screener_latency.py --snapshot data/dev/app_dev.duckdb -n 200 --random 30
    python benchmarks/screener_latency.py --backend postgres     # WAREHOUSE_URL from the environment
    python benchmarks/screener_latency.py --url postgresql://postgres@127.0.0.1:5432/sw --schema-prefix t_
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from dashboards.queries import build, screener
from domain.screens import Range, ScreenSpec, Trend, presets, registry
from domain.settings import Settings
from domain.warehouse.readers import Reader, close_all, open_reader

#: Goal of the overall p95 per backend (ms).
GOAL_P95_MS = {"duckdb": 20.0, "postgres": 50.0}

#: Range filters a random screen may use, with the quantiles its bounds are drawn from.
_RANDOM_RANGES = (
    "market_cap", "pe_ratio", "pb_ratio", "dividend_yield", "rsi_14",
    "return_1d", "return_5d", "return_21d", "return_63d", "return_126d", "return_252d",
)  # fmt: skip


def random_screens(reader: Reader, count: int, seed: int) -> dict[str, ScreenSpec]:
    """``count`` reproducible random screens built from the snapshot's value distribution."""
    rng = random.Random(seed)
    mart = reader.query(f"SELECT {', '.join(_RANDOM_RANGES)} FROM {reader.table('marts', 'mart_screener_latest')}")
    quantiles = {c: mart[c].dropna().quantile([i / 10 for i in range(11)]).tolist() for c in _RANDOM_RANGES}
    sectors = screener.sectors(reader)
    sort_columns = list(registry().sort_columns)
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
        kwargs["sort_by"] = rng.choice(sort_columns)
        kwargs["descending"] = rng.random() < 0.5
        out[f"random #{i + 1:02d}"] = ScreenSpec(**kwargs)
    return out


def time_screen(reader: Reader, spec: ScreenSpec, runs: int, warmup: int) -> tuple[np.ndarray, int]:
    """Latencies in ms of ``runs`` executions (after ``warmup``), and the row count."""
    for _ in range(warmup):
        screener.run_screen(reader, spec)
    samples = np.empty(runs)
    rows = 0
    for i in range(runs):
        started = time.perf_counter()
        result = screener.run_screen(reader, spec)
        samples[i] = (time.perf_counter() - started) * 1000
        rows = len(result)
    return samples, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backend",
        choices=("duckdb", "postgres"),
        help="warehouse to time (default: from settings; postgres needs WAREHOUSE_URL or --url)",
    )
    parser.add_argument("--snapshot", type=Path, help="DuckDB snapshot file (default: settings' snapshot_path)")
    parser.add_argument(
        "--url", help="postgresql://user:password@host:port/dbname (replaces WAREHOUSE_URL; implies postgres)"
    )
    parser.add_argument("--schema-prefix", help="schema prefix (replaces WAREHOUSE_SCHEMA_PREFIX, e.g. t_)")
    parser.add_argument("-n", "--runs", type=int, default=100, help="timed runs per screen (default 100)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs per screen first (default 3)")
    parser.add_argument("--random", type=int, default=20, help="number of random screens (default 20)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the random screens (default 42)")
    args = parser.parse_args(argv)

    if args.url and args.backend == "duckdb":
        parser.error("--url selects PostgreSQL; drop --backend duckdb")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    overrides: dict[str, Any] = {}
    if args.snapshot is not None:
        overrides["snapshot_path"] = args.snapshot.resolve()
    if args.url:
        overrides["warehouse_url"] = args.url
    elif args.backend == "duckdb":
        overrides["warehouse_url"] = None
    if args.schema_prefix is not None:
        overrides["schema_prefix"] = args.schema_prefix
    settings = Settings()  # the environment, read once, as the app does
    if overrides:
        settings = settings.with_values(**overrides)
    backend = settings.backend
    if args.backend == "postgres" and backend != "postgres":
        parser.error("--backend postgres needs WAREHOUSE_URL in the environment or --url")
    goal = GOAL_P95_MS[backend]
    reader = open_reader(settings)
    where = reader.describe()
    if not reader.is_built():
        print(f"nothing built in {where}: run `make build` first")
        return 1
    info = build.build_info(reader)
    universe = screener.universe_size(reader)
    print(f"backend: {backend}, {where}")
    if info is not None:
        print(f"built_at: {info.built_at:%Y-%m-%d %H:%M:%S} UTC  run_id: {info.run_id}")
    print(f"universe: {universe} tickers; {args.runs} timed runs per screen after {args.warmup} warm-up runs\n")

    suite = {f"preset: {name}": spec for name, spec in presets().items()}
    suite.update(random_screens(reader, args.random, args.seed))

    width = max(len(name) for name in suite)
    print(f"{'screen':<{width}}  {'rows':>5}  {'p50 ms':>8}  {'p95 ms':>8}  {'max ms':>8}")
    print("-" * (width + 37))
    all_samples = []
    for name, spec in suite.items():
        samples, rows = time_screen(reader, spec, args.runs, args.warmup)
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
    close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())

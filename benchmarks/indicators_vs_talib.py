"""Time the dbt indicator models against TA-Lib computing the same indicators in process.

Usage::

    .venv/bin/python benchmarks/indicators_vs_talib.py [--warehouse PATH] [--repeats 5]

The warehouse file (default: the configured ``WAREHOUSE_PATH``, read once into
:class:`~domain.settings.Settings`, i.e. ``data/warehouse.duckdb`` unless set; it needs the
``raw`` tables) is copied to a temporary directory first, so the original is neither locked
nor modified, and dbt writes its artifacts to a temporary target path
(``dbt_project/target`` is left alone). dbt gets the copy through the profile and ``--vars``
of the product's ``dbt`` resource (:class:`pipelines.lib.resources.DbtResource` of
``Settings.from_values(warehouse_path=<copy>)``), not through the environment.

Measured, each repeated ``--repeats`` times (medians reported; ``--repeats 1`` is the
smallest run):

* dbt: ``dbt run --select +fct_daily_indicators`` in a subprocess (wall time,
  including dbt start-up and partial parsing), plus the SQL execution time of each
  indicator model from ``run_results.json`` (``execution_time``) and the run's
  ``elapsed_time`` (2 threads: the window and recursive models run side by side).
  The dbt executable is started directly with the resource's rendered profile, not through
  ``DbtResource.cli``, whose dagster-dbt wrapper adds its own work (``dbt --version``, an
  in-process adapter, JSON logs) to every invocation's wall time.
* TA-Lib "compute only": SMA 20/50/200, EMA 12/26, MACD, RSI, BBANDS, ATR,
  MAX/MIN 252, SMA(volume) and relative volume, returns, per ticker on numpy
  arrays already in memory.
* TA-Lib "end to end": read ``raw.prices_daily`` from DuckDB, compute, and
  write the results into a DuckDB table.

Prints figures only; it never asserts timings.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import talib

from domain.settings import Settings
from pipelines.lib.resources import DbtResource, build_resources, dbt_executable

INDICATOR_MODELS = [
    "int_price_rebuild_starts",
    "int_prices_daily_numbered",
    "int_daily_recursive_indicators",
    # the window indicators are ephemeral: computed inside fct_daily_indicators
    "fct_daily_indicators",
]
RETURN_HORIZONS = (1, 5, 21, 63, 126, 252)


def dbt_resource(warehouse: Path) -> DbtResource:
    """The product's ``dbt`` resource for the DuckDB file ``warehouse`` (nothing from the environment)."""
    return build_resources(Settings.from_values(warehouse_path=warehouse), environ={})["dbt"]


def run_dbt(dbt: DbtResource, target_path: Path) -> dict:
    """One ``dbt run`` of the indicator models and their parents; returns the timings."""
    project_dir = Path(dbt.project_dir)
    command = [
        dbt_executable(),
        "--no-send-anonymous-usage-stats",
        "run",
        "--select",
        "+fct_daily_indicators",
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(dbt.profiles_dir()),
        "--target",
        dbt.target,
        "--vars",
        json.dumps(dbt.dbt_vars(), sort_keys=True),
        "--target-path",
        str(target_path),
        "--log-path",
        str(target_path / "logs"),
        "--quiet",
    ]
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=project_dir, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"dbt run failed:\n{completed.stdout}\n{completed.stderr}")
    results = json.loads((target_path / "run_results.json").read_text())
    per_model = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results["results"]}
    return {
        "wall": wall,
        "elapsed": results["elapsed_time"],
        "indicator_sql": sum(per_model[m] for m in INDICATOR_MODELS),
        # one after the other: fct_daily_indicators (with the ephemeral window model) joins the recursive one
        "critical_path": sum(per_model[m] for m in INDICATOR_MODELS),
        **{m: per_model[m] for m in INDICATOR_MODELS},
    }


def load_prices(con: duckdb.DuckDBPyConnection) -> dict[str, np.ndarray]:
    return con.sql(
        """
        select ticker, trade_date, high, low, close, cast(volume as double) as volume
        from raw.prices_daily
        order by ticker, trade_date
        """
    ).fetchnumpy()


def compute_talib(prices: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """All indicators of all tickers, as columns aligned with ``prices``."""
    tickers = np.asarray(prices["ticker"])
    high, low, close, volume = (
        np.ascontiguousarray(prices[c], dtype=np.float64) for c in ("high", "low", "close", "volume")
    )
    n = len(close)
    names = [
        "sma_20",
        "sma_50",
        "sma_200",
        "ema_12",
        "ema_26",
        "macd",
        "macd_signal",
        "macd_hist",
        "rsi_14",
        "bb_upper",
        "bb_middle",
        "bb_lower",
        "atr_14",
        "high_52w",
        "low_52w",
        "avg_volume_20",
        "relative_volume",
        *(f"return_{h}d" for h in RETURN_HORIZONS),
    ]
    out = {name: np.full(n, np.nan) for name in names}
    starts = np.flatnonzero(np.r_[True, tickers[1:] != tickers[:-1]])
    ends = np.r_[starts[1:], n]
    for start, end in zip(starts, ends):
        s = slice(start, end)
        h, l, c, v = high[s], low[s], close[s], volume[s]
        out["sma_20"][s] = talib.SMA(c, 20)
        out["sma_50"][s] = talib.SMA(c, 50)
        out["sma_200"][s] = talib.SMA(c, 200)
        out["ema_12"][s] = talib.EMA(c, 12)
        out["ema_26"][s] = talib.EMA(c, 26)
        out["macd"][s], out["macd_signal"][s], out["macd_hist"][s] = talib.MACD(c, 12, 26, 9)
        out["rsi_14"][s] = talib.RSI(c, 14)
        out["bb_upper"][s], out["bb_middle"][s], out["bb_lower"][s] = talib.BBANDS(c, 20, 2, 2, 0)
        out["atr_14"][s] = talib.ATR(h, l, c, 14)
        out["high_52w"][s] = talib.MAX(h, 252)
        out["low_52w"][s] = talib.MIN(l, 252)
        avg_volume = talib.SMA(v, 20)
        out["avg_volume_20"][s] = avg_volume
        with np.errstate(divide="ignore", invalid="ignore"):
            out["relative_volume"][s] = np.where(avg_volume == 0, np.nan, v / avg_volume)
        for horizon in RETURN_HORIZONS:
            if end - start > horizon:
                out[f"return_{horizon}d"][start + horizon : end] = c[horizon:] / c[:-horizon] - 1
    return out


def talib_end_to_end(warehouse: Path) -> float:
    started = time.perf_counter()
    con = duckdb.connect(str(warehouse))
    try:
        prices = load_prices(con)
        indicators = compute_talib(prices)
        frame = pd.DataFrame({"ticker": prices["ticker"], "trade_date": prices["trade_date"], **indicators})
        con.register("talib_indicators_frame", frame)
        con.execute("create schema if not exists benchmark")
        con.execute("create or replace table benchmark.talib_indicators as select * from talib_indicators_frame")
        con.unregister("talib_indicators_frame")
    finally:
        con.close()
    return time.perf_counter() - started


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", help="DuckDB file with the raw tables (copied first; default: WAREHOUSE_PATH)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each variant (default 5)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.warehouse is None:
        args.warehouse = Settings().warehouse_path  # the environment, read once, as the product does

    source = Path(args.warehouse).resolve()
    if not source.exists():
        sys.exit(f"warehouse not found: {source}")

    with tempfile.TemporaryDirectory(prefix="indicators_bench_") as tmp:
        tmp_dir = Path(tmp)
        warehouse = tmp_dir / "warehouse_copy.duckdb"
        shutil.copyfile(source, warehouse)

        with duckdb.connect(str(warehouse), read_only=True) as con:
            n_rows, n_tickers = con.sql("select count(*), count(distinct ticker) from raw.prices_daily").fetchall()[0]
            prices = load_prices(con)
        print(f"data: {n_rows:,} bars, {n_tickers} tickers ({source})")
        print(f"repeats: {args.repeats} (+1 warm-up each), medians; threads: dbt profile (2), TA-Lib single-threaded")

        # one target path for all runs: the warm-up run parses the project fully,
        # the timed runs reuse dbt's partial parse like day-to-day runs do
        target = tmp_dir / "target"
        dbt = dbt_resource(warehouse)
        try:
            run_dbt(dbt, target)
            dbt_runs = [run_dbt(dbt, target) for _ in range(args.repeats)]
        finally:
            # the resource renders its profile into a folder per configuration; this one (it
            # names the temporary copy) is of no further use
            shutil.rmtree(dbt.profiles_dir(), ignore_errors=True)

        compute_talib(prices)
        compute_only = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            compute_talib(prices)
            compute_only.append(time.perf_counter() - started)

        talib_end_to_end(warehouse)
        end_to_end = [talib_end_to_end(warehouse) for _ in range(args.repeats)]

    dbt_wall = median([r["wall"] for r in dbt_runs])
    dbt_elapsed = median([r["elapsed"] for r in dbt_runs])
    dbt_sql = median([r["indicator_sql"] for r in dbt_runs])
    talib_compute = median(compute_only)
    talib_e2e = median(end_to_end)

    print()
    print("dbt (SQL in DuckDB)")
    print(f"  dbt run +fct_daily_indicators, wall incl. start-up : {dbt_wall:8.3f} s")
    print(f"  run elapsed_time (run_results.json)               : {dbt_elapsed:8.3f} s")
    print(f"  indicator models, sum of execution_time           : {dbt_sql:8.3f} s")
    print(
        f"  indicator models, critical path (2 threads)       : {median([r['critical_path'] for r in dbt_runs]):8.3f} s"
    )
    for model in INDICATOR_MODELS:
        print(f"    {model:<46}: {median([r[model] for r in dbt_runs]):8.3f} s")
    print("TA-Lib (in process)")
    print(f"  compute only (numpy in memory)                    : {talib_compute:8.3f} s")
    print(f"  read DuckDB + compute + write DuckDB table        : {talib_e2e:8.3f} s")
    print("ratios (dbt / TA-Lib)")
    print(f"  indicator SQL vs TA-Lib end to end                : {dbt_sql / talib_e2e:8.1f} x")
    print(f"  indicator SQL vs TA-Lib compute only              : {dbt_sql / talib_compute:8.1f} x")
    print(f"  dbt wall vs TA-Lib end to end                     : {dbt_wall / talib_e2e:8.1f} x")


if __name__ == "__main__":
    main()

"""Wall time of backtests on the published warehouse (what the app reads), the engine's own path.

Runs the goals of issue 15 ``-n`` times each and prints the median and the spread:

- monthly top 20, 5 years (2013-02-08..2018-02-07 as far as the data goes), 505 US tickers: goal < 2 s
- the same on the ~2,500 Korean tickers (market KRX, 2018-01-02..2022-05-16): goal < 8 s
- a sweep of 50 US variants (top_n 10..50 x rank_by 5 columns x monthly/quarterly) through
  :func:`~domain.backtests.sweep.run_sweep`: goal < 60 s (once, not ``-n`` times)

Reads through :class:`~domain.backtests.data.ReaderSource` on
:func:`~domain.warehouse.readers.open_reader` (the DuckDB snapshot, or PostgreSQL with
``WAREHOUSE_URL``). Prints only; it asserts nothing.

    python benchmarks/backtest_time.py            # settings from the environment
    python benchmarks/backtest_time.py -n 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from domain.backtests.data import ReaderSource
from domain.backtests.run import run_backtest
from domain.backtests.spec import strategy_from_mapping
from domain.backtests.sweep import run_sweep, variants
from domain.settings import Settings
from domain.warehouse.readers import close_all, open_reader

CASES = {
    "US monthly top 20, 5 years (goal < 2 s)": {
        "market": "US", "start": "2013-02-08", "end": "2018-02-07", "benchmark": "EQUAL_WEIGHT",
    },
    "KRX monthly top 20, 2018-2022 (goal < 8 s)": {
        "market": "KRX", "start": "2018-01-02", "end": "2022-05-16", "benchmark": "KS11",
    },
}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=3, help="runs per case (default 3)")
    args = parser.parse_args(argv)
    reader = open_reader(Settings())
    print(f"warehouse: {reader.describe()}")
    source = ReaderSource(reader)
    try:
        for label, case in CASES.items():
            spec = strategy_from_mapping(
                {"name": "benchmark", "rank_by": "return_126d", "top_n": 20, "rebalance": "monthly", **case}
            )
            seconds = [run_backtest(spec, source).seconds for _ in range(args.n)]
            print(f"{label}: median {statistics.median(seconds):.2f} s "
                  f"(min {min(seconds):.2f}, max {max(seconds):.2f}, {args.n} runs)")  # fmt: skip
        base = strategy_from_mapping({"name": "sweep", "rank_by": "return_126d", "top_n": 20, **CASES[next(iter(CASES))]})
        specs = variants(base, top_n=(10, 20, 30, 40, 50),
                         rank_by=("return_21d", "return_63d", "return_126d", "return_252d", "rsi_14"),
                         rebalance=("monthly", "quarterly"))  # fmt: skip
        started = time.perf_counter()
        results = run_sweep(specs, source)
        total = time.perf_counter() - started
        print(f"sweep of {len(specs)} US variants (goal < 60 s): {total:.1f} s "
              f"({total / len(results):.2f} s per variant)")  # fmt: skip
    finally:
        close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Portfolio page reads and alert evaluation, measured on a built warehouse. Prints only.

1. The Portfolio page's six reads (risk row, daily series, holdings, sector allocation,
   transactions, rejected rows) through the app's own code (:mod:`dashboards.queries.portfolio`),
   ``N`` times: p50 / p95 of one page load's queries. Goal: p95 < 100 ms on DuckDB.
2. Alert evaluation at universe scale on a **copy** of the warehouse file: one rule per type
   over every ticker of the universe and the whole price history (``since`` = the first
   session), evaluated from scratch ``R`` times (state tables dropped in between): median
   seconds and events. Goal: < 10 s for the ~3.1 million bar conditions.

    python benchmarks/portfolio_alerts.py                       # data/warehouse*.duckdb
    python benchmarks/portfolio_alerts.py --warehouse /tmp/wh/wh.duckdb --snapshot /tmp/wh/wh.snapshot.duckdb
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]


def page_reads(runs: int) -> None:
    from dashboards.lib import portfolio, warehouse

    names = portfolio.portfolio_names()
    if not names:
        print("no portfolio in the warehouse: build first (make build)")
        return
    name = names[0]
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        portfolio.risk(name)
        portfolio.daily(name)
        portfolio.holdings(name)
        portfolio.sector_allocation(name)
        portfolio.transactions(name)
        portfolio.rejected_rows()
        timings.append((time.perf_counter() - start) * 1000)
    warehouse.close_all()
    p50, p95 = np.percentile(timings, [50, 95])
    print(f"portfolio page reads ({name}, {runs} loads, {warehouse.backend_name()}): "
          f"p50 {p50:.1f} ms, p95 {p95:.1f} ms (goal p95 < 100 ms)")  # fmt: skip


def alert_evaluation(repeats: int) -> None:
    from pipelines.defs.alerts.evaluate import evaluate_rules
    from domain.alerts.rules import parse_rule
    from pipelines.defs.alerts.tables import ensure_alert_tables
    from domain.settings import get_settings
    from domain.warehouse import table_name
from pipelines.lib.resources import WarehouseResource

    with WarehouseResource().connect() as wh:
        tickers = wh.fetch_frame(f"select ticker from {wh.table('marts', 'dim_companies')} order by ticker")["ticker"]
        first = wh.fetch_frame(f"select min(trade_date) as d from {wh.table('marts', 'fct_daily_indicators')}")["d"][0]
        bars = wh.row_count(wh.table("marts", "fct_daily_indicators"))
    tickers = tickers.to_list()
    specs = [
        {"type": "price_cross_above_sma", "window": 50},
        {"type": "price_cross_below_sma", "window": 200},
        {"type": "rsi_above", "level": 70},
        {"type": "rsi_below", "level": 30},
        {"type": "volume_spike", "level": 3},
    ]
    rules = [parse_rule({"id": f"bench-{i}", "tickers": tickers, "since": first, **spec}) for i, spec in enumerate(specs)]
    seconds, events = [], 0
    for _ in range(repeats):
        with WarehouseResource().connect() as wh:
            for table in ("alert_events", "alert_deliveries", "alert_rule_state", "alert_screen_members"):
                wh.execute(f"drop table if exists {wh.table('marts', table)}")
            ensure_alert_tables(wh)
            start = time.perf_counter()
            result = evaluate_rules(wh, rules, datetime.now(timezone.utc))
            seconds.append(time.perf_counter() - start)
            events = wh.row_count(wh.table("alerts", "alert_events"))
    print(f"alert evaluation ({len(rules)} rules x {len(tickers)} tickers from {first}, {bars:,} bars each, "
          f"{repeats} runs, {get_settings().backend}): median {statistics.median(seconds):.2f} s "
          f"(min {min(seconds):.2f}, max {max(seconds):.2f}), {events:,} events (goal < 10 s)")  # fmt: skip
    del result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=REPO_ROOT / "data" / "warehouse.duckdb")
    parser.add_argument("--snapshot", type=Path, default=REPO_ROOT / "data" / "warehouse.snapshot.duckdb")
    parser.add_argument("-n", "--runs", type=int, default=50)
    parser.add_argument("-r", "--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if not args.snapshot.exists() or not args.warehouse.exists():
        print(f"no warehouse at {args.warehouse} / {args.snapshot}: run make build first")
        return 1
    os.environ["WAREHOUSE_SNAPSHOT_PATH"] = str(args.snapshot.resolve())
    page_reads(args.runs)
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "warehouse.duckdb"
        shutil.copy(args.warehouse, copy)
        os.environ["WAREHOUSE_PATH"] = str(copy)
        os.environ["WAREHOUSE_SNAPSHOT_PATH"] = str(Path(scratch) / "unused.snapshot.duckdb")
        from domain.settings import get_settings

        get_settings.cache_clear()
        alert_evaluation(args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())

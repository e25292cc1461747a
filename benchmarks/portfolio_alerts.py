"""Portfolio page reads and alert evaluation, measured on a built DuckDB warehouse. Prints only.

1. The Portfolio page's six reads (risk row, daily series, holdings, sector allocation,
   transactions, rejected rows) through the app's own code (:mod:`dashboards.queries.portfolio`
   on a snapshot reader, :func:`domain.warehouse.readers.open_reader`), ``N`` times: p50 / p95
   of one page load's queries. Goal: p95 < 100 ms on DuckDB.
2. Alert evaluation at universe scale on a **copy** of the warehouse file: one rule per type
   over every ticker of the universe and the whole price history (``since`` = the first
   session), evaluated from scratch ``R`` times (the ``alerts`` schema's tables dropped in
   between) with :func:`pipelines.defs.alerts.evaluate.evaluate_rules`: median seconds and
   events. Goal: < 10 s for the ~3.1 million bar conditions.

The files are given by the options (no environment variable is read): ``--snapshot`` is read
for (1), ``--warehouse`` is copied for (2); ``-n/--runs`` page loads, ``-r/--repeats``
evaluations.

    python benchmarks/portfolio_alerts.py                       # data/warehouse*.duckdb
    python benchmarks/portfolio_alerts.py --warehouse /tmp/wh/wh.duckdb --snapshot /tmp/wh/wh.snapshot.duckdb -n 1 -r 1
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from domain.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]

#: The alert tables (``<prefix>alerts`` schema) dropped before each evaluation.
ALERT_TABLES = ("alert_events", "alert_deliveries", "alert_rule_state", "alert_screen_members")


def page_reads(settings: Settings, runs: int) -> None:
    from dashboards.queries import portfolio
    from domain.warehouse.readers import close_all, open_reader

    reader = open_reader(settings)
    names = portfolio.portfolio_names(reader)
    if not names:
        print("no portfolio in the warehouse: build first (make build)")
        return
    name = names[0]
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        portfolio.risk(reader, name)
        portfolio.daily(reader, name)
        portfolio.holdings(reader, name)
        portfolio.sector_allocation(reader, name)
        portfolio.transactions(reader, name)
        portfolio.rejected_rows(reader)
        timings.append((time.perf_counter() - start) * 1000)
    close_all()
    p50, p95 = np.percentile(timings, [50, 95])
    print(f"portfolio page reads ({name}, {runs} loads, {reader.backend}): "
          f"p50 {p50:.1f} ms, p95 {p95:.1f} ms (goal p95 < 100 ms)")  # fmt: skip


def alert_evaluation(settings: Settings, repeats: int) -> None:
    from domain.alerts.rules import parse_rule
    from pipelines.defs.alerts.evaluate import evaluate_rules
    from pipelines.defs.alerts.tables import ensure_alert_tables
    from pipelines.lib.resources import build_resources

    warehouse = build_resources(settings, environ={})["warehouse"]
    with warehouse.connect() as wh:
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
    rules = [
        parse_rule({"id": f"bench-{i}", "tickers": tickers, "since": first, **spec}) for i, spec in enumerate(specs)
    ]
    seconds, events = [], 0
    for _ in range(repeats):
        with warehouse.connect() as wh:
            for table in ALERT_TABLES:
                wh.execute(f"drop table if exists {wh.table('alerts', table)}")
            ensure_alert_tables(wh)
            fired_at = datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as the alerts job passes it
            start = time.perf_counter()
            evaluate_rules(wh, rules, fired_at)
            seconds.append(time.perf_counter() - start)
            events = wh.row_count(wh.table("alerts", "alert_events"))
    print(f"alert evaluation ({len(rules)} rules x {len(tickers)} tickers from {first}, {bars:,} bars each, "
          f"{repeats} runs, {settings.backend}): median {statistics.median(seconds):.2f} s "
          f"(min {min(seconds):.2f}, max {max(seconds):.2f}), {events:,} events (goal < 10 s)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=REPO_ROOT / "data" / "warehouse.duckdb",
                        help="DuckDB warehouse file, copied for the alert evaluation")  # fmt: skip
    parser.add_argument("--snapshot", type=Path, default=REPO_ROOT / "data" / "warehouse.snapshot.duckdb",
                        help="published snapshot file the page reads query")  # fmt: skip
    parser.add_argument("-n", "--runs", type=int, default=50, help="page loads timed (default 50)")
    parser.add_argument("-r", "--repeats", type=int, default=3, help="alert evaluations timed (default 3)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.repeats < 1:
        parser.error("--runs and --repeats must be at least 1")
    if not args.snapshot.exists() or not args.warehouse.exists():
        print(f"no warehouse at {args.warehouse} / {args.snapshot}: run make build first")
        return 1
    page_reads(Settings.from_values(snapshot_path=args.snapshot.resolve()), args.runs)
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "warehouse.duckdb"
        shutil.copy(args.warehouse, copy)
        settings = Settings.from_values(warehouse_path=copy, snapshot_path=Path(scratch) / "unused.snapshot.duckdb")
        alert_evaluation(settings, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Load time of the Stock page, through the app's own code (``streamlit.testing.v1.AppTest``).

For each ticker, a new app session opens ``views/stock.py?ticker=XYZ`` (the frame of ``app.py``
included): the first run is timed as ``first`` (nothing of this ticker cached yet; it also holds
AppTest's own start-up, about 0.5-1 s), then the page is run ``-n`` more times in that session
(``warm``: the server has served this ticker before; every run executes the whole script: the
frame, every read, every figure and its serialisation). Prints the median per ticker and over all
warm runs; goal: warm median < 1.5 s. Prints only; it asserts nothing. The time is the server's
script run, not the browser's drawing.

Configuration: like the app, :class:`~domain.settings.Settings` read from the environment once
(``WAREHOUSE_SNAPSHOT_PATH``, ``WAREHOUSE_URL``, ``WAREHOUSE_SCHEMA_PREFIX``...), with the options
below replacing single values. Build the warehouse first (``make build``).

    python benchmarks/stock_page_latency.py                          # snapshot from settings
    python benchmarks/stock_page_latency.py --snapshot data/dev/app_dev.duckdb -n 10 AAPL MSFT
    python benchmarks/stock_page_latency.py --url postgresql://postgres@127.0.0.1:5432/sw --schema-prefix t_
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from dashboards.lib.context import SETTINGS_KEY
from domain.settings import Settings
from domain.warehouse.readers import close_all, open_reader

APP = Path(__file__).resolve().parents[1] / "dashboards" / "app.py"
STOCK_PAGE = "views/stock.py"
#: Goal of the warm median load time (seconds).
GOAL_WARM_S = 1.5
DEFAULT_TICKERS = ("AAPL", "MSFT", "A", "JPM", "XOM")


def page_runs(settings: Settings, ticker: str, runs: int, timeout: float, app: Path = APP) -> list[float]:
    """Seconds of ``1 + runs`` runs of the Stock page for ``ticker`` in one new app session: the
    first load, then ``runs`` warm runs.

    Raises:
        RuntimeError: the page raised an exception or did not open (its messages in the text).
    """
    at = AppTest.from_file(str(app), default_timeout=timeout)
    at.session_state[SETTINGS_KEY] = settings
    at.query_params["ticker"] = ticker
    at.switch_page(STOCK_PAGE)
    seconds = []
    for _ in range(1 + runs):
        started = time.perf_counter()
        at.run()
        seconds.append(time.perf_counter() - started)
        if at.exception:
            raise RuntimeError(f"the Stock page for {ticker} failed: {[e.value for e in at.exception]}")
        if not at.title or at.title[0].value != "Stock" or not at.get("plotly_chart"):
            raise RuntimeError(f"the Stock page for {ticker} showed no chart (title: {[t.value for t in at.title]})")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tickers", nargs="*", default=list(DEFAULT_TICKERS), help=f"default: {' '.join(DEFAULT_TICKERS)}")
    parser.add_argument("--snapshot", type=Path, help="DuckDB snapshot file (default: settings' snapshot_path)")
    parser.add_argument("--url", help="postgresql://user:password@host:port/dbname (replaces WAREHOUSE_URL)")
    parser.add_argument("--schema-prefix", help="schema prefix (replaces WAREHOUSE_SCHEMA_PREFIX, e.g. t_)")
    parser.add_argument("-n", "--runs", type=int, default=5, help="warm runs per ticker (default 5)")
    parser.add_argument("--app", type=Path, default=APP, help="app entry point (default: this checkout's)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds one load may take (default 120)")
    args = parser.parse_args(argv)
    # AppTest runs outside a server: silence Streamlit's "missing ScriptRunContext" warnings
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    overrides: dict[str, Any] = {}
    if args.snapshot is not None:
        overrides["snapshot_path"] = args.snapshot.resolve()
        overrides["warehouse_url"] = None
    if args.url:
        overrides["warehouse_url"] = args.url
    if args.schema_prefix is not None:
        overrides["schema_prefix"] = args.schema_prefix
    settings = Settings()  # the environment, read once, as the app does
    if overrides:
        settings = settings.with_values(**overrides)
    reader = open_reader(settings)
    if not reader.is_built():
        print(f"nothing built in {reader.describe()}: run `make build` first")
        return 1
    info = reader.build_info()
    print(f"backend: {settings.backend}, {reader.describe()}")
    if info is not None:
        print(f"built_at: {info.built_at:%Y-%m-%d %H:%M:%S} UTC  run_id: {info.run_id}")
    print(f"app: {args.app}")
    print(f"{len(args.tickers)} tickers; per ticker a new session: the first run, then {args.runs} warm runs\n")

    width = max(6, *(len(t) for t in args.tickers))
    print(f"{'ticker':<{width}}  {'first s':>7}  {'warm median s':>13}  {'warm max s':>10}")
    print("-" * (width + 38))
    warm_all: list[float] = []
    for ticker in args.tickers:
        first, *warm = page_runs(settings, ticker, args.runs, args.timeout, args.app)
        warm_all.extend(warm)
        print(f"{ticker:<{width}}  {first:>7.3f}  {statistics.median(warm):>13.3f}  {max(warm):>10.3f}")
    median = statistics.median(warm_all)
    print("-" * (width + 38))
    print(
        f"overall warm median {median:.3f} s over {len(warm_all)} runs "
        f"(goal < {GOAL_WARM_S:g} s: {'met' if median < GOAL_WARM_S else 'NOT met'})"
    )
    close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())

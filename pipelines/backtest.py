"""Run backtest strategies on the warehouse and store their runs: ``python -m pipelines.backtest --spec FILE``.

Each ``--spec`` (a strategy YAML file, see :mod:`domain.backtests.spec`; repeatable) is validated,
run on the marts of the configured warehouse (DuckDB writer file, or PostgreSQL), written as a new
run into the ``backtests`` tables (:mod:`domain.backtests.store`) and its metrics printed. The same
spec on the same build gives identical rows (only the run id and the timestamps differ).

Exit status: 0 when every strategy ran; 1 when one failed (its error names the file, the field or
what the warehouse lacks; the others still run); 2 on bad arguments.

On DuckDB the run writes the warehouse file, so it cannot run while a build holds it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from domain.backtests.data import BacktestDataError, data_build
from domain.backtests.run import BacktestResult, run_backtest
from domain.backtests.spec import StrategyError, load_strategy
from domain.backtests.store import write_run
from domain.settings import Settings
from pipelines.lib.resources import build_resources


def format_metrics(result: BacktestResult) -> str:
    """The run's metrics as aligned ``name  value`` lines (fractions as percent)."""
    percent = {"cagr", "annual_volatility", "max_drawdown", "alpha", "best_month", "worst_month", "hit_rate",
               "turnover_per_year"}  # fmt: skip
    lines = []
    for name, value in result.metrics.items():
        if value is None:
            text = "n/a"
        elif name in percent:
            text = f"{value * 100:.2f} %"
        elif isinstance(value, float):
            text = f"{value:.4f}"
        else:
            text = str(value)
        lines.append(f"  {name:<24}{text}")
    return "\n".join(lines)


def run_spec_file(path: Path, settings: Settings) -> str:
    """Run the strategy in ``path`` and store it; returns the new run id.

    Raises:
        StrategyError: the file is invalid.
        BacktestDataError: the warehouse lacks what the strategy needs.
    """
    spec = load_strategy(path)
    resource = build_resources(settings, environ={})["warehouse"]
    with resource.connect() as warehouse:
        started = datetime.now(UTC)
        result = run_backtest(spec, warehouse)
        finished = datetime.now(UTC)
        build = data_build(warehouse)
        run_id = write_run(warehouse, result, build, started, finished)
    daily = result.daily
    print(f"{spec.name} ({path}): run {run_id}, {daily['session'][0]}..{daily['session'][-1]}, "
          f"{result.metrics['rebalances']} rebalances, {result.seconds:.2f} s, data build {build}")  # fmt: skip
    print(format_metrics(result))
    return run_id


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    """The command line (``settings``: default from the environment)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", action="append", required=True, type=Path, help="a strategy YAML file (repeatable)")
    args = parser.parse_args(argv)
    settings = settings or Settings()
    failed = 0
    for path in args.spec:
        try:
            run_spec_file(path, settings)
        except (StrategyError, BacktestDataError) as error:
            print(f"FAILED {error}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

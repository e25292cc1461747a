"""``backtests/strategy_runs``: every strategy file of ``STRATEGIES_DIR`` run on the built marts.

One dynamic partition per strategy file (partitions definition ``strategies``, key = the file's
stem: ``us_momentum_top20`` for ``us_momentum_top20.yml``), kept in step with the folder by
``strategy_files_sensor`` and by ``python -m pipelines.build``. A run may materialise many
partitions at once (single-run backfill policy: the build runs them all in one run). Each
partition's strategy is validated, run point in time (:func:`domain.backtests.run.run_backtest`
on the writer warehouse) and stored as a new run of the ``backtests`` tables
(:mod:`domain.backtests.store`), with the build of the marts it read as its data build
(:func:`domain.backtests.data.data_build`).

A strategy that cannot run (an invalid file, a file that is gone, a benchmark the warehouse lacks)
does not stop the others: the check ``strategies_ran`` (warning) names it with its error, and
the materialisation's metadata lists every run.
"""

from datetime import UTC, datetime
from pathlib import Path

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    DynamicPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from domain.backtests.data import BacktestDataError, data_build
from domain.backtests.run import run_backtest
from domain.backtests.spec import StrategyError, load_strategy
from domain.backtests.store import write_run
from pipelines.lib.resources import StrategiesResource, WarehouseResource

STRATEGY_PARTITIONS = DynamicPartitionsDefinition(name="strategies")
STRATEGY_RUNS_KEY = AssetKey(["backtests", "strategy_runs"])
#: The marts a backtest reads.
READS = [AssetKey(["marts", name]) for name in ("mart_screener_history", "fct_daily_indicators", "fct_index_daily")]


@asset(
    key=STRATEGY_RUNS_KEY,
    deps=READS,
    partitions_def=STRATEGY_PARTITIONS,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="backtests",
    kinds={"python", "duckdb", "postgres"},
    owners=["team:analytics"],
    check_specs=[
        AssetCheckSpec(
            "strategies_ran",
            asset=STRATEGY_RUNS_KEY,
            description="Every strategy of the run's partitions ran (warning: names the failures).",
        )
    ],
    description="Backtest runs of the strategy files of STRATEGIES_DIR (one partition per file), "
    "point in time on the marts, stored in the backtests tables.",
)
def strategy_runs(context: AssetExecutionContext, warehouse: WarehouseResource, strategies: StrategiesResource):
    folder = Path(strategies.folder)
    runs: dict[str, str] = {}
    failures: dict[str, str] = {}
    with warehouse.connect() as wh:
        build = data_build(wh)
        for key in context.partition_keys:
            path = folder / f"{key}.yml"
            try:
                spec = load_strategy(path)
                started = datetime.now(UTC)
                result = run_backtest(spec, wh)
                run_id = write_run(wh, result, build, started, datetime.now(UTC))
            except (StrategyError, BacktestDataError) as error:
                failures[key] = str(error)
                context.log.warning(f"strategy {key} did not run: {error}")
                continue
            runs[key] = run_id
            metrics = result.metrics
            context.log.info(
                f"strategy {key}: run {run_id}, CAGR {metrics['cagr']:.4f}, Sharpe {metrics['sharpe'] or 0:.3f}, "
                f"{result.seconds:.2f} s"
            )
    yield MaterializeResult(
        metadata={
            "runs": MetadataValue.json(runs),
            "failed": MetadataValue.json(failures),
            "data_build": build,
            "strategies_dir": str(folder),
        }
    )
    yield AssetCheckResult(
        check_name="strategies_ran",
        passed=not failures,
        severity=AssetCheckSeverity.WARN,
        metadata={"failed": MetadataValue.json(failures), "ran": len(runs)},
    )

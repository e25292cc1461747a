"""The warehouse tables of backtest runs (schema ``<prefix>backtests``), one run per run id.

==================  ==============================================================================
backtest_runs       one row per run: ``run_id``, ``strategy_name``, ``spec_hash`` (SHA-256 of the
                    spec's canonical JSON), ``spec_json``, ``data_build`` (the build of the marts
                    read: :func:`~domain.backtests.data.data_build`), ``market``,
                    ``benchmark``, ``first_session``, ``last_session``, ``sessions``,
                    ``started_at``, ``finished_at`` (UTC), ``seconds``
backtest_daily      one row per run and session: equity (1.0 = start), daily_return,
                    benchmark_equity, benchmark_return, drawdown, cash_weight, turnover (fractions),
                    cost (equity units)
backtest_holdings   one row per run, rebalance session and pick: signal_session, ticker, rank,
                    rank_value, market_cap, volatility, target_weight, bought, entry_price,
                    exit_session, exit_price, exit_reason
backtest_trades     one row per run and trade: session, ticker, side, price, notional, cost, reason
backtest_metrics    one row per run and metric: ``metric``, ``value`` (number) or ``value_date``
==================  ==============================================================================

Writing a run replaces nothing else: rows of other runs stay. All five tables are written in one
transaction (:meth:`~domain.warehouse.Warehouse.replace_rows`).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import polars as pl

from domain.backtests.run import BacktestResult
from domain.backtests.spec import canonical_json
from domain.warehouse.base import Replacement, Warehouse

LAYER = "backtests"

#: Column definitions of each table (types valid on DuckDB and PostgreSQL).
TABLES: dict[str, list[tuple[str, str]]] = {
    "backtest_runs": [
        ("run_id", "text"), ("strategy_name", "text"), ("spec_hash", "text"), ("spec_json", "text"),
        ("data_build", "text"), ("market", "text"), ("benchmark", "text"), ("first_session", "date"),
        ("last_session", "date"), ("sessions", "bigint"), ("started_at", "timestamp with time zone"),
        ("finished_at", "timestamp with time zone"), ("seconds", "double precision"),
    ],
    "backtest_daily": [
        ("run_id", "text"), ("session", "date"), ("equity", "double precision"),
        ("daily_return", "double precision"), ("benchmark_equity", "double precision"),
        ("benchmark_return", "double precision"), ("drawdown", "double precision"),
        ("cash_weight", "double precision"), ("turnover", "double precision"), ("cost", "double precision"),
    ],
    "backtest_holdings": [
        ("run_id", "text"), ("rebalance_session", "date"), ("signal_session", "date"), ("ticker", "text"),
        ("rank", "bigint"), ("rank_value", "double precision"), ("market_cap", "double precision"),
        ("volatility", "double precision"), ("target_weight", "double precision"), ("bought", "boolean"),
        ("entry_price", "double precision"), ("exit_session", "date"), ("exit_price", "double precision"),
        ("exit_reason", "text"),
    ],
    "backtest_trades": [
        ("run_id", "text"), ("session", "date"), ("ticker", "text"), ("side", "text"),
        ("price", "double precision"), ("notional", "double precision"), ("cost", "double precision"),
        ("reason", "text"),
    ],
    "backtest_metrics": [
        ("run_id", "text"), ("metric", "text"), ("value", "double precision"), ("value_date", "date"),
    ],
}  # fmt: skip


def ensure_tables(warehouse: Warehouse) -> None:
    """Create the schema and the five tables when missing (an existing table is left as is)."""
    warehouse.ensure_schema(LAYER)
    for name, columns in TABLES.items():
        body = ", ".join(f"{column} {kind}" for column, kind in columns)
        warehouse.execute(f"create table if not exists {warehouse.table(LAYER, name)} ({body})")


def metric_rows(metrics: dict) -> pl.DataFrame:
    """``metrics`` in the long form of ``backtest_metrics`` (``metric``, ``value``, ``value_date``)."""
    rows = []
    for name, value in metrics.items():
        if isinstance(value, date):
            rows.append((name, None, value))
        else:
            rows.append((name, None if value is None else float(value), None))
    return pl.DataFrame(rows, schema={"metric": pl.String, "value": pl.Float64, "value_date": pl.Date}, orient="row")


def write_run(
    warehouse: Warehouse, result: BacktestResult, data_build: str, started_at: datetime, finished_at: datetime
) -> str:
    """Store ``result`` as a new run; returns its run id (a random UUID, hex).

    Raises:
        the warehouse's error when a write fails (nothing of the run is written then).
    """
    ensure_tables(warehouse)
    run_id = uuid.uuid4().hex
    spec = result.spec
    run = pl.DataFrame(
        {
            "run_id": [run_id], "strategy_name": [spec.name], "spec_hash": [spec.spec_hash],
            "spec_json": [canonical_json(spec)], "data_build": [data_build], "market": [spec.market],
            "benchmark": [spec.benchmark], "first_session": [result.daily["session"].min()],
            "last_session": [result.daily["session"].max()], "sessions": [result.daily.height],
            "started_at": [started_at], "finished_at": [finished_at], "seconds": [round(result.seconds, 3)],
        }
    )  # fmt: skip
    frames = {
        "backtest_runs": run,
        "backtest_daily": result.daily,
        "backtest_holdings": result.holdings,
        "backtest_trades": result.trades,
        "backtest_metrics": metric_rows(result.metrics),
    }
    warehouse.replace_rows(
        [
            Replacement(
                table=warehouse.table(LAYER, name),
                frame=frame.with_columns(run_id=pl.lit(run_id)).select([c for c, _ in TABLES[name]]),
                delete_where="run_id = ?",
                params=[run_id],
            )
            for name, frame in frames.items()
        ]
    )
    return run_id

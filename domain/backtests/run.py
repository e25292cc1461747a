"""Run one strategy on a warehouse: read (:mod:`.data`), weight the picks, simulate
(:mod:`.engine`), measure (:mod:`.metrics`).

Weights of the ``k`` picks of a rebalance (``k <= top_n``; the rest is cash):

- ``equal``: ``1 / top_n`` each;
- ``market_cap``: ``k / top_n`` split in proportion to the picks' market caps on the signal
  session (filings-based, ``mart_screener_history.market_cap``);
- ``inverse_volatility``: ``k / top_n`` split in proportion to 1 / the sample standard deviation
  of the pick's last 63 daily returns at the signal session.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from domain.backtests.data import (
    Axis,
    BacktestDataError,
    Source,
    benchmark_returns,
    build_axis,
    data_range,
    load_picks,
    load_prices,
)
from domain.backtests.engine import simulate
from domain.backtests.metrics import compute_metrics, drawdown
from domain.backtests.spec import StrategySpec


@dataclass(frozen=True)
class BacktestResult:
    """One run of a strategy.

    Attributes:
        spec: the strategy.
        daily: one row per session from the first rebalance: ``session``, ``equity`` (1.0 = the
            start), ``daily_return``, ``benchmark_equity`` (1.0 at the close before the first
            session), ``benchmark_return``, ``drawdown`` (fraction <= 0), ``cash_weight``,
            ``turnover``, ``cost`` (equity units).
        holdings: one row per rebalance and pick: ``rebalance_session``, ``signal_session``,
            ``ticker``, ``rank``, ``rank_value`` (the ``rank_by`` column at the signal close),
            ``market_cap``, ``volatility``, ``target_weight``, ``bought`` (false: no bar at the
            rebalance open), ``entry_price``, ``exit_session``, ``exit_price``, ``exit_reason``.
        trades: :attr:`Simulation.trades <domain.backtests.engine.Simulation>`.
        metrics: :func:`~domain.backtests.metrics.compute_metrics`.
        seconds: wall time of the run.
    """

    spec: StrategySpec
    daily: pl.DataFrame
    holdings: pl.DataFrame
    trades: pl.DataFrame
    metrics: dict
    seconds: float = field(default=0.0, compare=False)


def target_weights(spec: StrategySpec, picks: pl.DataFrame) -> pl.DataFrame:
    """``picks`` with ``target_weight`` (fraction of equity) per the strategy's weighting (see
    the module docstring)."""
    k = pl.len().over("signal_session")
    share = k / spec.top_n
    if spec.weighting == "equal":
        weight = pl.lit(1.0 / spec.top_n)
    elif spec.weighting == "market_cap":
        weight = share * pl.col("market_cap") / pl.col("market_cap").sum().over("signal_session")
    else:
        inverse = 1.0 / pl.col("volatility")
        weight = share * inverse / inverse.sum().over("signal_session")
    return picks.with_columns(target_weight=weight.cast(pl.Float64))


def run_backtest(spec: StrategySpec, source: Source) -> BacktestResult:
    """Run ``spec`` on the warehouse behind ``source``.

    Raises:
        BacktestDataError: the warehouse has no bars for the strategy's markets, no rebalance
            session in its range, or no such benchmark.
    """
    started = time.perf_counter()
    span = data_range(source, spec.markets)
    if span is None:
        raise BacktestDataError(f"strategy {spec.name}: the warehouse has no bars of {', '.join(spec.markets)}")
    axis = build_axis(spec, *span)
    prices = load_prices(source, spec, axis)
    picks = target_weights(spec, load_picks(source, spec, axis, prices.tickers))
    rebalance_of = dict(zip(axis.signal_sessions, axis.rebalance_sessions, strict=True))
    picks = picks.with_columns(
        rebalance_session=pl.col("signal_session").replace_strict(rebalance_of, return_dtype=pl.Date)
    )
    targets: dict = {}
    for session, ticker, weight in picks.select("rebalance_session", "ticker", "target_weight").iter_rows():
        targets.setdefault(session, {})[ticker] = weight
    simulation = simulate(axis, prices, targets, spec.cost_bps)
    bench = benchmark_returns(source, spec, axis, prices)[axis.rebalance_index[0] - 1 :]
    daily = _daily(simulation.daily, bench)
    holdings = (
        picks.join(simulation.holdings.drop("weight", "shares"), on=["rebalance_session", "ticker"], how="left")
        .with_columns(bought=pl.col("entry_price").is_not_null())
        .select(
            "rebalance_session",
            "signal_session",
            "ticker",
            "rank",
            "rank_value",
            "market_cap",
            "volatility",
            "target_weight",
            "bought",
            "entry_price",
            "exit_session",
            "exit_price",
            "exit_reason",
        )
        .sort("rebalance_session", "rank")
    )
    metrics = compute_metrics(daily, bench, simulation.holdings, len(axis.rebalance_index))
    return BacktestResult(spec, daily, holdings, simulation.trades, metrics, time.perf_counter() - started)


def _daily(daily: pl.DataFrame, bench: np.ndarray) -> pl.DataFrame:
    equity = daily["equity"].to_numpy()
    return daily.with_columns(
        benchmark_return=pl.Series(bench),
        benchmark_equity=pl.Series(np.cumprod(1 + bench)),
        drawdown=pl.Series(drawdown(equity)),
    ).select("session", "equity", "daily_return", "benchmark_equity", "benchmark_return", "drawdown",
             "cash_weight", "turnover", "cost")  # fmt: skip


__all__ = ["Axis", "BacktestResult", "run_backtest", "target_weights"]

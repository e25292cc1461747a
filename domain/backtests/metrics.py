"""Performance metrics of a backtest's daily returns against its benchmark's.

Definitions (daily returns ``r`` and benchmark returns ``b``, fractions, one per session;
``A`` = :data:`ANNUALISATION` sessions a year; the risk-free rate is 0). They are those of
empyrical (Quantopian's, maintained as ``empyrical-reloaded``), and the tests check each one
against it on the same series:

==========================  ===================================================================
cagr                        ``E_T ** (A / n) - 1`` (``E_T``: final equity, ``n`` sessions)
annual_volatility           ``std(r, ddof=1) * sqrt(A)``
sharpe                      ``mean(r) / std(r, ddof=1) * sqrt(A)``
sortino                     ``mean(r) * A / (sqrt(mean(min(r, 0)^2)) * sqrt(A))``
max_drawdown                ``min(E_t / max(1, E_0..E_t) - 1)`` (fraction <= 0), with the peak,
                            trough and recovery sessions (recovery: first close back at the
                            peak's equity, NULL if never)
calmar                      ``cagr / |max_drawdown|``
beta                        ``cov(r, b) / var(b)`` (both population)
alpha                       ``(1 + mean(r - beta * b)) ** A - 1`` (annualised)
information_ratio           ``mean(r - b) / std(r - b, ddof=1) * sqrt(A)``
best_month / worst_month    the highest / lowest compounded calendar-month return
turnover_per_year           sum of daily turnover / (n / A)
hit_rate                    share of the holdings (a ticker from one rebalance to its exit)
                            whose exit price exceeded its entry price
rebalances                  number of rebalance sessions
==========================  ===================================================================

A metric whose denominator is zero (a constant series, no drawdown) is None: a series whose
values are all equal has a standard deviation of exactly 0 here (not the 1e-18 rounding gives).
The drawdown's peak is the first session at the running maximum before the trough, None when
that maximum is the starting equity (1.0, before the first close).
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import polars as pl

#: Sessions a year used to annualise (empyrical's daily factor).
ANNUALISATION = 252


def _ratio(numerator: float, denominator: float) -> float | None:
    if denominator == 0 or not math.isfinite(denominator) or not math.isfinite(numerator):
        return None
    return numerator / denominator


def drawdown(equity: np.ndarray) -> np.ndarray:
    """Drawdown of each close (fraction <= 0) from the running peak, the start (1.0) included."""
    peak = np.maximum.accumulate(np.maximum(equity, 1.0))
    return equity / peak - 1


def monthly_returns(daily: pl.DataFrame) -> pl.DataFrame:
    """Compounded calendar-month returns of ``daily`` (``session``, ``daily_return``): columns
    ``year``, ``month``, ``monthly_return`` (fraction), ascending."""
    return (
        daily.group_by(year=pl.col("session").dt.year(), month=pl.col("session").dt.month())
        .agg(monthly_return=(pl.col("daily_return") + 1).product() - 1)
        .sort("year", "month")
    )


def compute_metrics(daily: pl.DataFrame, benchmark: np.ndarray, holdings: pl.DataFrame, rebalances: int) -> dict:
    """Every metric of the module docstring.

    Args:
        daily: :attr:`Simulation.daily <domain.backtests.engine.Simulation>` (``session``,
            ``equity``, ``daily_return``, ``turnover``).
        benchmark: the benchmark's daily returns on the same sessions (fractions).
        holdings: :attr:`Simulation.holdings <domain.backtests.engine.Simulation>`.
        rebalances: number of rebalance sessions.

    Returns:
        metric name -> value (floats are fractions or plain ratios; dates for the drawdown's
        ``max_drawdown_peak``, ``max_drawdown_trough``, ``max_drawdown_recovery``; None when
        undefined).

    Raises:
        ValueError: ``benchmark`` is not as long as ``daily``.
    """
    r = daily["daily_return"].to_numpy()
    if len(benchmark) != len(r):
        raise ValueError(f"benchmark has {len(benchmark)} returns, the backtest {len(r)}")
    equity = daily["equity"].to_numpy()
    sessions: list[date] = daily["session"].to_list()
    n = len(r)
    years = n / ANNUALISATION
    cagr = float(equity[-1] ** (1 / years) - 1) if n and equity[-1] > 0 else None
    std = float(np.std(r, ddof=1)) if n > 1 and np.ptp(r) > 0 else 0.0  # a constant series: exactly 0
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2))) * math.sqrt(ANNUALISATION) if n else 0.0
    dd = drawdown(equity)
    trough = int(np.argmin(dd)) if n else 0
    max_dd = float(dd[trough]) if n else 0.0
    peak_index = int(np.argmax(np.maximum(equity[: trough + 1], 1.0))) if n else 0
    peak_equity = max(float(equity[peak_index]), 1.0)
    starts_flat = equity[peak_index] < 1.0  # the peak is the starting equity, before the first close
    recovered = np.nonzero(equity[trough:] >= peak_equity)[0]
    b = np.asarray(benchmark, dtype=float)
    var_b = float(np.mean((b - b.mean()) ** 2)) if n and np.ptp(b) > 0 else 0.0
    beta = _ratio(float(np.mean((r - r.mean()) * (b - b.mean()))), var_b) if n else None
    active = r - b
    active_std = float(np.std(active, ddof=1)) if n > 1 and np.ptp(active) > 0 else 0.0
    months = monthly_returns(daily)["monthly_return"]
    finished = holdings.filter(pl.col("exit_price").is_not_null())
    return {
        "cagr": cagr,
        "annual_volatility": std * math.sqrt(ANNUALISATION),
        "sharpe": _ratio(float(np.mean(r)) * math.sqrt(ANNUALISATION), std),
        "sortino": _ratio(float(np.mean(r)) * ANNUALISATION, downside),
        "max_drawdown": max_dd,
        "max_drawdown_peak": None if max_dd == 0 else (None if starts_flat else sessions[peak_index]),
        "max_drawdown_trough": None if max_dd == 0 else sessions[trough],
        "max_drawdown_recovery": sessions[trough + int(recovered[0])] if max_dd < 0 and len(recovered) else None,
        "calmar": _ratio(cagr, abs(max_dd)) if cagr is not None else None,
        "beta": beta,
        "alpha": float((1 + np.mean(r - beta * b)) ** ANNUALISATION - 1) if beta is not None else None,
        "information_ratio": _ratio(float(np.mean(active)) * math.sqrt(ANNUALISATION), active_std),
        "best_month": float(months.max()) if len(months) else None,
        "worst_month": float(months.min()) if len(months) else None,
        "turnover_per_year": float(daily["turnover"].sum()) / years if n else None,
        "hit_rate": float((finished["exit_price"] > finished["entry_price"]).mean()) if finished.height else None,
        "rebalances": rebalances,
        "sessions": n,
    }

"""The backtest metrics (:mod:`domain.backtests.metrics`) against empyrical (``empyrical-reloaded``)
on the same series: a hand-made series whose values are stated here (unit layer, no
warehouse), and the daily returns of real backtests on the session's built warehouse.

empyrical equivalents: cagr = ``annual_return``, ``annual_volatility``, sharpe =
``sharpe_ratio``, sortino = ``sortino_ratio``, ``max_drawdown``, calmar = ``calmar_ratio``,
``beta``, ``alpha``, information_ratio = ``excess_sharpe * sqrt(252)``, best/worst month = the
max/min of ``aggregate_returns(..., 'monthly')``. empyrical has no drawdown dates: they are
checked by hand on the small series and recomputed with pandas on the real ones.
"""

from __future__ import annotations

import math
from datetime import date

import duckdb
import empyrical as ep
import numpy as np
import pandas as pd
import polars as pl
import pytest

from domain.backtests.metrics import ANNUALISATION, compute_metrics
from domain.backtests.run import run_backtest
from domain.backtests.spec import strategy_from_mapping
from domain.warehouse.duckdb_backend import DuckDBWarehouse
from domain.warehouse.sql import TableNames
from tests.test_backtest_engine import STRATEGIES

RTOL = 1e-9


def _daily(sessions: list[date], returns: list[float], turnover: list[float] | None = None) -> pl.DataFrame:
    r = np.asarray(returns, dtype=float)
    return pl.DataFrame(
        {
            "session": sessions,
            "equity": np.cumprod(1 + r),
            "daily_return": r,
            "turnover": np.asarray(turnover if turnover is not None else [0.0] * len(r), dtype=float),
        },
        schema={"session": pl.Date, "equity": pl.Float64, "daily_return": pl.Float64, "turnover": pl.Float64},
    )


def _holdings(pairs: list[tuple[float, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(pairs, schema={"entry_price": pl.Float64, "exit_price": pl.Float64}, orient="row")


def _series(daily: pl.DataFrame, values) -> pd.Series:
    return pd.Series(
        np.asarray(values, dtype=float), index=pd.DatetimeIndex(pd.to_datetime(daily["session"].to_list()))
    )


def _empyrical(daily: pl.DataFrame, benchmark: np.ndarray) -> dict[str, float]:
    """The metrics as empyrical computes them on the same daily and benchmark returns."""
    r = _series(daily, daily["daily_return"])
    b = _series(daily, benchmark)
    months = ep.aggregate_returns(r, "monthly")
    return {
        "cagr": ep.annual_return(r),
        "annual_volatility": ep.annual_volatility(r),
        "sharpe": ep.sharpe_ratio(r),
        "sortino": ep.sortino_ratio(r),
        "max_drawdown": ep.max_drawdown(r),
        "calmar": ep.calmar_ratio(r),
        "beta": ep.beta(r, b),
        "alpha": ep.alpha(r, b),
        "information_ratio": ep.excess_sharpe(r, b) * math.sqrt(ANNUALISATION),
        "best_month": months.max(),
        "worst_month": months.min(),
    }


def _assert_like_empyrical(metrics: dict, daily: pl.DataFrame, benchmark: np.ndarray) -> None:
    expected = _empyrical(daily, benchmark)
    for name, value in expected.items():
        assert metrics[name] == pytest.approx(float(value), rel=RTOL, abs=1e-15), name


# --------------------------------------------------------------------------- unit layer

#: Five sessions across a month end: equity 1.1, 0.88, 0.924, 1.155, 1.0395.
HAND_SESSIONS = [date(2020, 1, 30), date(2020, 1, 31), date(2020, 2, 3), date(2020, 2, 4), date(2020, 2, 5)]
HAND_RETURNS = [0.10, -0.20, 0.05, 0.25, -0.10]
HAND_BENCHMARK = np.array([0.01, -0.02, 0.03, 0.0, 0.01])


def test_hand_made_series():
    daily = _daily(HAND_SESSIONS, HAND_RETURNS, turnover=[1.0, 0.0, 0.0, 0.5, 0.0])
    holdings = _holdings([(10.0, 12.0), (10.0, 9.0), (10.0, 10.0), (5.0, 6.0), (5.0, None)])
    m = compute_metrics(daily, HAND_BENCHMARK, holdings, rebalances=2)

    # by hand: mean r = 0.02; sample variance = (0.08² + 0.22² + 0.03² + 0.23² + 0.12²) / 4 = 0.03075;
    # downside: sqrt(mean(0, 0.04, 0, 0, 0.01)) = 0.1
    assert m["cagr"] == pytest.approx(1.0395 ** (252 / 5) - 1, rel=1e-12)
    assert m["annual_volatility"] == pytest.approx(math.sqrt(0.03075 * 252), rel=1e-12)
    assert m["sharpe"] == pytest.approx(0.02 / math.sqrt(0.03075) * math.sqrt(252), rel=1e-12)
    assert m["sortino"] == pytest.approx(0.02 * 252 / (0.1 * math.sqrt(252)), rel=1e-12)
    assert m["max_drawdown"] == pytest.approx(0.88 / 1.1 - 1, rel=1e-12)
    assert (m["max_drawdown_peak"], m["max_drawdown_trough"], m["max_drawdown_recovery"]) == (
        date(2020, 1, 30), date(2020, 1, 31), date(2020, 2, 4)
    )  # fmt: skip
    assert m["calmar"] == pytest.approx(m["cagr"] / 0.2, rel=1e-12)
    # beta: population cov / var of b (mean b = 0.006)
    b = HAND_BENCHMARK
    r = np.array(HAND_RETURNS)
    beta = sum((r - 0.02) * (b - 0.006)) / sum((b - 0.006) ** 2)
    assert m["beta"] == pytest.approx(beta, rel=1e-12)
    assert m["alpha"] == pytest.approx((1 + (r - beta * b).mean()) ** 252 - 1, rel=1e-12)
    active = r - b
    assert m["information_ratio"] == pytest.approx(active.mean() / active.std(ddof=1) * math.sqrt(252), rel=1e-12)
    assert m["best_month"] == pytest.approx(1.05 * 1.25 * 0.90 - 1, rel=1e-12)  # February: 0.18125
    assert m["worst_month"] == pytest.approx(1.10 * 0.80 - 1, rel=1e-12)  # January: -0.12
    assert m["turnover_per_year"] == pytest.approx(1.5 / (5 / 252), rel=1e-12)
    assert m["hit_rate"] == pytest.approx(2 / 4)  # 12 > 10 and 6 > 5; flat and losing ones miss; open one left out
    assert (m["rebalances"], m["sessions"]) == (2, 5)

    _assert_like_empyrical(m, daily, HAND_BENCHMARK)


def test_drawdown_from_the_start_that_never_recovers():
    """A loss on the first session: the peak is the starting equity (no session: None), the
    trough is the lowest close, no recovery (None)."""
    sessions = [date(2021, 3, 1), date(2021, 3, 2), date(2021, 3, 3), date(2021, 3, 4)]
    daily = _daily(sessions, [-0.10, 0.05, -0.05, 0.02])
    m = compute_metrics(daily, np.zeros(4), _holdings([]), rebalances=1)
    assert m["max_drawdown"] == pytest.approx(0.9 * 1.05 * 0.95 - 1, rel=1e-12)  # -0.10225
    assert (m["max_drawdown_peak"], m["max_drawdown_trough"], m["max_drawdown_recovery"]) == (
        None, date(2021, 3, 3), None
    )  # fmt: skip
    assert m["hit_rate"] is None
    assert m["beta"] is None and m["alpha"] is None  # the benchmark does not move
    expected = _empyrical(daily, np.zeros(4))
    for name in ("cagr", "annual_volatility", "sharpe", "sortino", "max_drawdown", "calmar", "information_ratio"):
        assert m[name] == pytest.approx(float(expected[name]), rel=RTOL), name
    assert math.isnan(expected["beta"])


def test_constant_series_gives_none():
    """Returns that never move: every ratio with a zero denominator is None, no drawdown."""
    sessions = [date(2022, 6, d) for d in (1, 2, 3, 6, 7, 8)]
    daily = _daily(sessions, [0.0] * 6)
    m = compute_metrics(daily, np.zeros(6), _holdings([]), rebalances=1)
    assert m["cagr"] == 0.0 and m["annual_volatility"] == 0.0 and m["max_drawdown"] == 0.0
    for name in ("sharpe", "sortino", "calmar", "beta", "alpha", "information_ratio",
                 "max_drawdown_peak", "max_drawdown_trough", "max_drawdown_recovery"):  # fmt: skip
        assert m[name] is None, name
    expected = _empyrical(daily, np.zeros(6))
    assert expected["cagr"] == 0.0 and expected["max_drawdown"] == 0.0
    assert all(math.isnan(expected[k]) for k in ("sharpe", "sortino", "calmar", "beta", "alpha", "information_ratio"))


def test_constant_nonzero_series_gives_none():
    sessions = [date(2022, 6, 1 + i) for i in range(21)]
    daily = _daily(sessions, [0.001] * 21)
    m = compute_metrics(daily, np.full(21, 0.001), _holdings([]), rebalances=1)
    assert m["max_drawdown"] == 0.0 and m["sortino"] is None and m["calmar"] is None
    assert m["sharpe"] is None, f"sharpe {m['sharpe']}"
    assert m["beta"] is None, f"beta {m['beta']}"
    assert m["information_ratio"] is None


def test_benchmark_of_another_length_is_refused():
    daily = _daily(HAND_SESSIONS, HAND_RETURNS)
    with pytest.raises(ValueError, match="benchmark has 4 returns, the backtest 5"):
        compute_metrics(daily, HAND_BENCHMARK[:4], _holdings([]), rebalances=1)


# --------------------------------------------------------------------------- real backtests

# the engine tests' US strategy, and their KRX one against the KS11 index (a flat start: all cash
# until the first picks; halts)
REAL = {
    "us": STRATEGIES["us_monthly_equal"],
    "krx": {**STRATEGIES["krx_monthly_equal"], "benchmark": "KS11"},
}


@pytest.fixture(scope="module")
def real_runs(built_warehouse):
    con = duckdb.connect(str(built_warehouse.warehouse_path), read_only=True)
    try:
        con.execute("SET enable_progress_bar = false")
        source = DuckDBWarehouse(con, TableNames())
        return {key: run_backtest(strategy_from_mapping(m, key), source) for key, m in REAL.items()}
    finally:
        con.close()


def _drawdown_dates(daily: pl.DataFrame) -> tuple[date | None, date | None, date | None]:
    """Peak, trough and recovery of the deepest drawdown, recomputed with pandas from empyrical's
    cumulative returns: the trough is the lowest close under the running peak (the start, 1.0,
    included); the peak the first close at that running peak (None: the start); the recovery the
    first close after the trough back at the peak's level (None: never)."""
    equity = ep.cum_returns(_series(daily, daily["daily_return"]), starting_value=1.0)
    running = equity.cummax().clip(lower=1.0)
    underwater = equity / running - 1
    if underwater.min() == 0:
        return None, None, None
    trough = underwater.idxmin()
    level = running[trough]
    before = equity[:trough]
    peak = before.idxmax() if before.max() >= level else None
    after = equity[trough:]
    back = after[after >= level * (1 - 1e-12)]
    recovery = back.index[0] if len(back) else None
    return tuple(None if stamp is None else stamp.date() for stamp in (peak, trough, recovery))


@pytest.mark.parametrize("key", list(REAL))
def test_metrics_equal_empyrical_on_a_real_backtest(real_runs, key):
    result = real_runs[key]
    daily = result.daily
    bench = daily["benchmark_return"].to_numpy()
    assert daily.height > 500 and np.std(bench) > 0
    # the equity the metrics read is the compounded daily returns
    assert np.allclose(np.cumprod(1 + daily["daily_return"].to_numpy()), daily["equity"].to_numpy(), rtol=1e-12)
    _assert_like_empyrical(result.metrics, daily, bench)
    m = result.metrics
    assert (m["max_drawdown_peak"], m["max_drawdown_trough"], m["max_drawdown_recovery"]) == _drawdown_dates(daily)
    assert m["max_drawdown_trough"] is not None
    if key == "us":  # pinned: the 2015-16 sell-off
        assert (m["max_drawdown_peak"], m["max_drawdown_trough"], m["max_drawdown_recovery"]) == (
            date(2015, 6, 22), date(2016, 2, 8), date(2016, 5, 27)
        )  # fmt: skip
        assert m["max_drawdown"] == pytest.approx(-0.150115, abs=5e-7)
    turnover = daily["turnover"].sum() / (daily.height / ANNUALISATION)
    assert m["turnover_per_year"] == pytest.approx(turnover, rel=1e-12)
    exited = result.holdings.filter(pl.col("exit_price").is_not_null())
    assert m["hit_rate"] == pytest.approx((exited["exit_price"] > exited["entry_price"]).mean(), rel=1e-12)

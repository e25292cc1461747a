"""Proof of the backtest engine on the session's built warehouse (US 2013-02-08..2018-02-07, the
KRX cut 2018-01-02..2022-05-16 with halts).

- Every strategy below runs through the product (:func:`domain.backtests.run.run_backtest`) and
  through the independent plain-Python oracle (:mod:`tests.backtest_oracle`, its own SQL, dicts
  and loops): the same sessions, equity to 1e-9 relative on every session, the same picks,
  weights and bought flags at every rebalance, the same trades.
- The EQUAL_WEIGHT benchmark equals ``portfolios.fct_benchmark_daily`` (the dbt model the
  portfolio pages use) on the strategy's sessions.
- No look-ahead: on a copy of the warehouse whose bars after a session ``t`` are rewritten, the
  holdings chosen on signal sessions up to ``t`` and the equity through ``t`` are unchanged;
  the same check fails when the bars of ``t`` itself are rewritten.
- Pinned values (computed by the oracle) catch a silent change of the data or the semantics.
"""

from __future__ import annotations

import math
from datetime import date

import duckdb
import polars as pl
import pytest

from domain.backtests.run import BacktestResult, run_backtest
from domain.backtests.spec import StrategySpec, strategy_from_mapping
from domain.warehouse.duckdb_backend import DuckDBWarehouse
from domain.warehouse.sql import TableNames
from tests.backtest_oracle import OracleRun, run_oracle
from tests.conftest import copy_built_warehouse

STRATEGIES = {
    "us_monthly_equal": {
        "name": "us_monthly_equal", "market": "US", "screen": {"filters": {"rsi_14": {"max": 80}}},
        "rank_by": "return_126d", "top_n": 20, "rebalance": "monthly", "weighting": "equal", "cost_bps": 10,
        "start": "2014-01-01", "end": "2018-02-07",
    },
    "us_weekly_inverse_volatility": {
        "name": "us_weekly_inverse_volatility", "market": "US", "screen": {"filters": {"vs_sma_200": "above"}},
        "rank_by": "return_63d", "top_n": 10, "rebalance": "weekly", "weighting": "inverse_volatility",
        "cost_bps": 10, "start": "2016-01-01", "end": "2018-02-07",
    },
    "krx_monthly_equal": {
        "name": "krx_monthly_equal", "market": "KRX", "screen": {"filters": {"rsi_14": {"max": 80}}},
        "rank_by": "return_63d", "top_n": 10, "rebalance": "monthly", "weighting": "equal", "cost_bps": 10,
        "start": "2018-03-01", "end": "2022-05-16",
    },
    # market caps exist for the DART companies of the KRX cut (19 of them), for 4 US companies only
    "krx_quarterly_market_cap": {
        "name": "krx_quarterly_market_cap", "market": "KRX", "rank_by": "return_63d", "top_n": 5,
        "rebalance": "quarterly", "weighting": "market_cap", "cost_bps": 20, "start": "2018-03-01",
        "end": "2022-05-16",
    },
}  # fmt: skip

EQUITY_RTOL = 1e-9


def _source(con: duckdb.DuckDBPyConnection) -> DuckDBWarehouse:
    return DuckDBWarehouse(con, TableNames())


@pytest.fixture(scope="module")
def warehouse(built_warehouse):
    con = duckdb.connect(str(built_warehouse.warehouse_path), read_only=True)
    con.execute("SET enable_progress_bar = false")
    yield con
    con.close()


@pytest.fixture(scope="module")
def runs(warehouse) -> dict[str, tuple[StrategySpec, BacktestResult, OracleRun]]:
    """Each strategy run by the engine and by the oracle (once per module)."""
    found = {}
    for key, mapping in STRATEGIES.items():
        spec = strategy_from_mapping(mapping, key)
        found[key] = (spec, run_backtest(spec, _source(warehouse)), run_oracle(spec, warehouse))
    return found


def _relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


@pytest.mark.parametrize("key", list(STRATEGIES))
def test_engine_equals_the_oracle(runs, key):
    _, result, oracle = runs[key]
    daily = result.daily
    assert daily["session"].to_list() == oracle.sessions
    worst = max(
        _relative(e, oracle.equity[d])
        for d, e in zip(daily["session"].to_list(), daily["equity"].to_list(), strict=True)
    )
    assert worst <= EQUITY_RTOL, f"{key}: equity differs from the oracle's by {worst:.3g} relative"
    assert not math.isclose(oracle.equity[oracle.sessions[-1]], 1.0, abs_tol=1e-3)  # the strategy did trade

    # picks, target weights and bought flags at every rebalance, in rank order
    holdings = result.holdings.sort("rebalance_session", "rank")
    engine_picks: dict[date, list] = {}
    for row in holdings.iter_rows(named=True):
        engine_picks.setdefault(row["rebalance_session"], []).append(row)
    assert set(engine_picks) <= set(oracle.picks)
    for rebalance, picks in oracle.picks.items():
        rows = engine_picks.get(rebalance, [])
        assert [r["ticker"] for r in rows] == [t for t, _ in picks], f"{key}: picks of {rebalance}"
        assert all(r["signal_session"] == oracle.signal_of[rebalance] for r in rows)
        for row, (ticker, weight) in zip(rows, picks, strict=True):
            assert row["target_weight"] == pytest.approx(weight, rel=1e-12), f"{key}: weight of {ticker} on {rebalance}"
        assert [r["ticker"] for r in rows if r["bought"]] == oracle.bought[rebalance]
    assert len(oracle.picks) == result.metrics["rebalances"]

    # trades: the same count, and the same sides, reasons and notionals
    assert result.trades.height == len(oracle.trades)
    engine_trades = sorted(
        result.trades.select("session", "ticker", "side", "reason", "notional").iter_rows(), key=lambda r: r[:4]
    )
    oracle_trades = sorted(((d, t, s, reason, n) for d, t, s, n, reason in oracle.trades), key=lambda r: r[:4])
    assert [r[:4] for r in engine_trades] == [r[:4] for r in oracle_trades]
    for ours, theirs in zip(engine_trades, oracle_trades, strict=True):
        assert ours[4] == pytest.approx(theirs[4], rel=1e-9, abs=1e-12), f"{key}: notional of {ours[:4]}"

    # the EQUAL_WEIGHT benchmark the run reports
    bench = dict(zip(daily["session"].to_list(), daily["benchmark_return"].to_list(), strict=True))
    assert max(abs(bench[d] - oracle.benchmark[d]) for d in oracle.sessions) <= 1e-12


def test_the_krx_run_exercises_halts(runs):
    """The KRX cut's halts reach every stop rule: a holding stopped between rebalances, one
    without a bar at a rebalance open (sold at its last close first), a pick not bought."""
    _, result, oracle = runs["krx_monthly_equal"]
    stopped = result.trades.filter(pl.col("reason") == "stopped")
    assert stopped.height >= 1
    rebalances = set(oracle.picks)
    assert stopped.filter(~pl.col("session").is_in(list(rebalances))).height >= 1
    assert stopped.filter(pl.col("session").is_in(list(rebalances))).height >= 1
    assert result.holdings.filter(~pl.col("bought")).height >= 1
    # the first rebalances have no pick (return_63d needs 63 bars; the feed starts 2018-01-02):
    # all cash, equity 1.0 until the first rebalance with picks
    first_picks = min(d for d, picks in oracle.picks.items() if picks)
    assert [d for d, picks in oracle.picks.items() if not picks] == [date(2018, 3, 2), date(2018, 4, 2)]
    waiting = result.daily.filter(pl.col("session") < first_picks)
    assert waiting.height > 20 and (waiting["equity"] == 1.0).all() and (waiting["cash_weight"] == 1.0).all()
    stopped_holdings = result.holdings.filter(pl.col("exit_reason") == "stopped")
    assert stopped_holdings.height == stopped.height


def test_market_cap_weights_follow_market_caps(runs):
    """Some rebalance of the market-cap strategy has several picks, weighted unequally."""
    _, result, _ = runs["krx_quarterly_market_cap"]
    spread = result.holdings.group_by("rebalance_session").agg(
        n=pl.len(), low=pl.col("target_weight").min(), high=pl.col("target_weight").max(),
        total=pl.col("target_weight").sum(),
    )  # fmt: skip
    assert spread.filter((pl.col("n") > 1) & (pl.col("high") > 2 * pl.col("low"))).height >= 1
    assert (spread["total"] <= 1 + 1e-12).all()


def test_equal_weight_benchmark_equals_fct_benchmark_daily(runs, warehouse):
    """The run's EQUAL_WEIGHT benchmark is the dbt model's (``portfolios.fct_benchmark_daily``,
    benchmark_id EQUAL_WEIGHT, currency USD) on every session of the strategy."""
    _, result, _ = runs["us_monthly_equal"]
    rows = warehouse.execute(
        "SELECT trade_date, daily_return FROM portfolios.fct_benchmark_daily "
        "WHERE benchmark_id = 'EQUAL_WEIGHT' AND currency = 'USD' AND trade_date BETWEEN ? AND ?",
        [result.daily["session"].min(), result.daily["session"].max()],
    ).fetchall()
    dbt = dict(rows)
    sessions = result.daily["session"].to_list()
    assert sorted(dbt) == sessions
    worst = max(abs(r - dbt[d]) for d, r in zip(sessions, result.daily["benchmark_return"].to_list(), strict=True))
    assert worst <= 1e-12


def test_pinned_values(runs):
    """Values of the bundled data under the documented semantics (computed by the oracle)."""
    _, result, oracle = runs["us_monthly_equal"]
    first = min(oracle.picks)
    assert (first, oracle.signal_of[first]) == (date(2014, 1, 2), date(2013, 12, 31))
    assert [t for t, _ in oracle.picks[first][:3]] == ["FB", "INCY", "NFLX"]
    engine_first = result.holdings.filter(pl.col("rebalance_session") == first)["ticker"].head(3).to_list()
    assert engine_first == ["FB", "INCY", "NFLX"]
    assert oracle.equity[oracle.sessions[-1]] == pytest.approx(2.13770, abs=5e-6)  # 2.137697609...
    assert result.daily["equity"][-1] == pytest.approx(2.13770, abs=5e-6)
    _, krx, krx_oracle = runs["krx_monthly_equal"]
    assert krx_oracle.equity[krx_oracle.sessions[-1]] == pytest.approx(1.16616, abs=5e-6)
    assert krx.daily["equity"][-1] == pytest.approx(1.16616, abs=5e-6)


# --------------------------------------------------------------------------- no look-ahead

#: The session after which the copy's bars are rewritten: the signal session of the US monthly
#: strategy's June 2016 rebalance.
CUT = date(2016, 5, 31)


def _rewrite_bars(con: duckdb.DuckDBPyConnection, where: str, params: list) -> int:
    """Rewrite every number of ``marts.fct_daily_indicators`` on the rows matching ``where``:
    prices and averages times a factor of 1.2..1.8 varying by row, returns to 0.3 - return,
    oscillators to 100 - value, volumes doubled. Returns the rows changed."""
    columns = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'marts' AND table_name = 'fct_daily_indicators'"
    ).fetchall()
    factor = "(1.2 + (hash(ticker, trade_date) % 61) / 100.0)"
    sets = []
    for name, kind in columns:
        if kind == "DOUBLE":
            if name.startswith("return_"):
                sets.append(f"{name} = 0.3 - {name}")
            elif name in ("rsi_14", "stoch_k", "stoch_d"):
                sets.append(f"{name} = 100 - {name}")
            else:
                sets.append(f"{name} = {name} * {factor}")
        elif kind == "BIGINT" and "volume" in name:
            sets.append(f"{name} = {name} * 2")
    assert any(s.startswith("adjusted_open") for s in sets) and any(s.startswith("return_126d") for s in sets)
    changed = con.execute(f"UPDATE marts.fct_daily_indicators SET {', '.join(sets)} WHERE {where}", params).fetchall()
    return changed[0][0]


def _chosen_through(result: BacktestResult, cut: date) -> pl.DataFrame:
    return result.holdings.filter(pl.col("signal_session") <= cut).select(
        "rebalance_session", "signal_session", "ticker", "rank", "rank_value", "target_weight", "volatility"
    )


def _look_ahead_differences(base: BacktestResult, other: BacktestResult, cut: date) -> list[str]:
    """What of ``other`` differs from ``base`` in what was known at the close of ``cut``."""
    found = []
    ours, theirs = _chosen_through(base, cut), _chosen_through(other, cut)
    if ours.select(pl.exclude("target_weight")).to_dicts() != theirs.select(pl.exclude("target_weight")).to_dicts():
        found.append("picks")
    elif any(_relative(a, b) > 1e-12 for a, b in zip(ours["target_weight"], theirs["target_weight"], strict=True)):
        found.append("weights")
    before = base.daily.filter(pl.col("session") <= cut)
    after = other.daily.filter(pl.col("session") <= cut)
    if before["session"].to_list() != after["session"].to_list() or any(
        _relative(a, b) > 1e-12 for a, b in zip(before["equity"], after["equity"], strict=True)
    ):
        found.append("equity")
    return found


def test_no_look_ahead(built_warehouse, runs, tmp_path):
    """Rewriting every bar after ``CUT`` leaves the holdings chosen on signal sessions up to
    ``CUT`` and the equity through ``CUT`` unchanged (and changes what follows); rewriting the
    bars of ``CUT`` itself is caught by the same check."""
    settings = copy_built_warehouse(built_warehouse, tmp_path / "rewritten")
    keys = ["us_monthly_equal", "us_weekly_inverse_volatility"]
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        con.execute("SET enable_progress_bar = false")
        assert _rewrite_bars(con, "trade_date > ?", [CUT]) > 100_000
        for key in keys:
            spec, base, _ = runs[key]
            assert CUT in base.daily["session"].to_list()
            rewritten = run_backtest(spec, _source(con))
            assert _look_ahead_differences(base, rewritten, CUT) == [], key
            assert _chosen_through(base, CUT).height > 0
            # the rewrite does reach the run after CUT
            assert rewritten.daily["equity"][-1] != pytest.approx(base.daily["equity"][-1], rel=1e-3)
        spec, base, _ = runs["us_monthly_equal"]
        assert CUT in set(base.holdings["signal_session"].to_list())  # a rebalance decides on CUT

        assert _rewrite_bars(con, "trade_date = ?", [CUT]) > 400
        leaked = run_backtest(spec, _source(con))
    finally:
        con.close()
    assert "picks" in _look_ahead_differences(base, leaked, CUT)
    decided_on_cut = [
        result.holdings.filter(pl.col("signal_session") == CUT)["ticker"].to_list() for result in (base, leaked)
    ]
    assert decided_on_cut[0] != decided_on_cut[1]

"""The backtest simulation: target weights at each rebalance, traded at the open, valued at
each close (the semantics of the README's "Backtests" section, stated here exactly).

- Rebalance sessions are the first session of each period (:class:`~domain.backtests.data.Axis`);
  the picks and their target weights come from the close of the session before
  (:func:`~domain.backtests.data.load_picks`).
- At a rebalance session's open, first every holding without a bar that session (halted,
  delisted, or its market closed) is sold at its last close; then the portfolio trades to the
  target weights at the adjusted open. A pick without a bar that session is not bought (its
  weight stays in cash until the next rebalance). Weights are of the equity after costs, no
  share rounding; the rest is cash at 0 %.
- Costs: ``cost_bps`` / 10,000 of the traded notional of each side. Because the weights apply to
  the equity after the costs, the cost ``X`` of a rebalance solves
  ``X = c * sum_i |w_i * (V - X) - v_i|`` (``V``: value at the open before trading, ``v_i``: the
  holding's value at the open); the right side shrinks any error by at least ``c`` < 1, so the
  iteration from ``X = 0`` converges to the unique solution (to 1e-15 of ``V``).
- Between rebalances shares are fixed; positions are valued at each close (a holding whose
  market is closed that session keeps its last close). A holding without a bar on a session its
  market is open stops trading: it is sold at its last close, with costs, and its value stays in
  cash until the next rebalance.
- Equity starts at 1.0 before the first rebalance; its daily return on session ``t`` is
  ``E_t / E_{t-1} - 1``. Turnover on a session is (buys + sells) / 2 / the equity before
  trading (100 % replaces the whole portfolio).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from domain.backtests.data import Axis, Prices

_COST_TOLERANCE = 1e-15
_COST_ITERATIONS = 100


def solve_cost(weights: np.ndarray, current: np.ndarray, value: float, rate: float) -> float:
    """The cost ``X`` of trading holdings worth ``current`` to ``weights`` of ``value - X``, at
    ``rate`` (fraction) per side of traded notional: the fixed point of
    ``X = rate * sum |weights * (value - X) - current|`` (see the module docstring).

    Raises:
        ValueError: ``rate`` not in [0, 1) or weights summing above 1.
    """
    if not 0 <= rate < 1:
        raise ValueError(f"cost rate must be in [0, 1), got {rate}")
    if weights.sum() > 1 + 1e-12:
        raise ValueError(f"weights sum to {weights.sum()} > 1")
    cost = 0.0
    for _ in range(_COST_ITERATIONS):
        following = rate * float(np.abs(weights * (value - cost) - current).sum())
        if abs(following - cost) <= _COST_TOLERANCE * max(value, 1.0):
            return following
        cost = following
    return cost


@dataclass(frozen=True)
class Simulation:
    """The outcome of :func:`simulate`.

    Attributes:
        daily: one row per session from the first rebalance: ``session`` (date), ``equity``
            (1.0 = the start), ``daily_return`` (fraction), ``cash_weight`` (fraction of equity
            at the close), ``turnover`` (fraction, see the module docstring), ``cost`` (equity
            units paid that session).
        holdings: one row per rebalance and ticker bought: ``rebalance_session``, ``ticker``,
            ``weight`` (target fraction of equity after costs), ``shares`` (equity units per
            price unit), ``entry_price`` (adjusted open), ``exit_session``, ``exit_price`` and
            ``exit_reason`` (``rebalance``: valued at the next rebalance's open, or
            ``stopped``: sold at its last close, or ``end``: the last close of the backtest).
        trades: one row per trade: ``session``, ``ticker``, ``side`` (buy/sell), ``price``,
            ``notional`` (equity units), ``cost`` (equity units), ``reason`` (rebalance/stopped).
    """

    daily: pl.DataFrame
    holdings: pl.DataFrame
    trades: pl.DataFrame


def simulate(axis: Axis, prices: Prices, targets: dict[date, dict[str, float]], cost_bps: float) -> Simulation:
    """Run the strategy: ``targets`` maps each rebalance session to ``{ticker: weight}`` (weights
    of equity, summing to at most 1; tickers of ``prices``). See the module docstring.

    Raises:
        KeyError: a target ticker that ``prices`` does not have.
    """
    rate = cost_bps / 10_000
    sessions = axis.sessions
    n = len(sessions)
    first = axis.rebalance_index[0]
    rebalances = set(axis.rebalance_index)
    equity = np.zeros(n)
    cash_weight = np.zeros(n)
    turnover = np.zeros(n)
    costs = np.zeros(n)
    trades: list[tuple] = []
    holdings: list[dict] = []

    cash = 1.0
    shares: dict[int, float] = {}  # column -> shares held
    entries: dict[int, dict] = {}  # column -> its holdings row
    last_close: dict[int, float] = {}
    previous_equity = 1.0
    close, open_, market_open = prices.close, prices.open, prices.market_open

    for t in range(first, n):
        traded = 0.0
        paid = 0.0
        if t in rebalances:
            # holdings without a bar this session leave at their last close
            for column in [c for c in shares if np.isnan(open_[t, c])]:
                traded, paid, cash = _sell_at_last_close(
                    column, t, shares, entries, last_close, cash, rate, sessions, prices, trades, traded, paid
                )
            wanted = {prices.column(ticker): w for ticker, w in targets.get(sessions[t], {}).items()}
            wanted = {c: w for c, w in wanted.items() if not np.isnan(open_[t, c])}
            columns = sorted(set(shares) | set(wanted))
            current = np.array([shares.get(c, 0.0) * open_[t, c] for c in columns])
            weights = np.array([wanted.get(c, 0.0) for c in columns])
            value = cash + float(current.sum())
            cost = solve_cost(weights, current, value, rate) if columns else 0.0
            after = value - cost
            for c, target_weight, held in zip(columns, weights, current, strict=True):
                if c in entries:  # the holding period of the previous rebalance ends at this open
                    entries[c].update(exit_session=sessions[t], exit_price=float(open_[t, c]), exit_reason="rebalance")
                    del entries[c]
                delta = target_weight * after - held
                if delta != 0.0:
                    side = "buy" if delta > 0 else "sell"
                    trades.append((sessions[t], prices.tickers[c], side, float(open_[t, c]), abs(delta),
                                   rate * abs(delta), "rebalance"))  # fmt: skip
                    traded += abs(delta)
                if target_weight > 0:
                    shares[c] = target_weight * after / open_[t, c]
                    row = {"rebalance_session": sessions[t], "ticker": prices.tickers[c], "weight": float(target_weight),
                           "shares": shares[c], "entry_price": float(open_[t, c]), "exit_session": None,
                           "exit_price": None, "exit_reason": None}  # fmt: skip
                    holdings.append(row)
                    entries[c] = row
                else:
                    shares.pop(c, None)
            paid += cost
            cash = after - float(sum(shares[c] * open_[t, c] for c in shares))
            turnover[t] = traded / 2 / value if value else 0.0
        else:
            stopped = [c for c in shares if market_open[t, c] and np.isnan(close[t, c])]
            base = previous_equity
            for column in stopped:
                traded, paid, cash = _sell_at_last_close(
                    column, t, shares, entries, last_close, cash, rate, sessions, prices, trades, traded, paid
                )
            turnover[t] = traded / 2 / base if base else 0.0
        for c in shares:
            if not np.isnan(close[t, c]):
                last_close[c] = float(close[t, c])
        invested = float(sum(shares[c] * last_close[c] for c in shares))
        equity[t] = cash + invested
        cash_weight[t] = cash / equity[t] if equity[t] else 0.0
        costs[t] = paid
        previous_equity = equity[t]

    end = sessions[-1]
    for c, row in entries.items():
        row.update(exit_session=end, exit_price=last_close[c], exit_reason="end")

    days = slice(first, n)
    series = equity[days]
    daily_return = series / np.concatenate([[1.0], series[:-1]]) - 1
    daily = pl.DataFrame(
        {
            "session": list(sessions[first:]),
            "equity": series,
            "daily_return": daily_return,
            "cash_weight": cash_weight[days],
            "turnover": turnover[days],
            "cost": costs[days],
        },
        schema={
            "session": pl.Date,
            "equity": pl.Float64,
            "daily_return": pl.Float64,
            "cash_weight": pl.Float64,
            "turnover": pl.Float64,
            "cost": pl.Float64,
        },
    )
    holdings_schema = {"rebalance_session": pl.Date, "ticker": pl.String, "weight": pl.Float64, "shares": pl.Float64,
                       "entry_price": pl.Float64, "exit_session": pl.Date, "exit_price": pl.Float64,
                       "exit_reason": pl.String}  # fmt: skip
    trades_schema = {"session": pl.Date, "ticker": pl.String, "side": pl.String, "price": pl.Float64,
                     "notional": pl.Float64, "cost": pl.Float64, "reason": pl.String}  # fmt: skip
    return Simulation(
        daily=daily,
        holdings=pl.DataFrame(holdings, schema=holdings_schema),
        trades=pl.DataFrame(trades, schema=trades_schema, orient="row"),
    )


def _sell_at_last_close(column, t, shares, entries, last_close, cash, rate, sessions, prices, trades, traded, paid):
    """Sell the holding in ``column`` at its last close on session ``t`` (it has no bar there)."""
    price = last_close[column]
    notional = shares.pop(column) * price
    cost = rate * notional
    trades.append((sessions[t], prices.tickers[column], "sell", price, notional, cost, "stopped"))
    entries.pop(column).update(exit_session=sessions[t], exit_price=price, exit_reason="stopped")
    return traded + notional, paid + cost, cash + notional - cost

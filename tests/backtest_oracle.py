"""An independent reference implementation of the backtest semantics, for the proof tests.

The semantics are those of ``domain/backtests/engine.py``'s module docstring and
``domain/backtests/run.py``'s weightings. This module shares no code with ``engine``, ``data``
or ``run``: it reads the warehouse's rows with plain SQL (DuckDB), keeps them in dicts, applies
the screen's filters and the ranking in Python and walks the sessions one by one. It takes from
the product only the strategy model (:mod:`domain.backtests.spec`), the exchange calendars
(:func:`domain.calendar.sessions_between`) and the markets seed (:func:`domain.markets.market`).

Supported screens (keep test strategies simple): ``screen.filters`` given as a mapping, each
either a range ``{column: {min: a, max: b}}`` (open interval, ``a < x < b``; NULL fails) or a
trend ``{vs_<column>: above|below}`` (``close > column`` / ``close < column``; NULL fails); no
preset, no text or sector filter.

Tables read: ``marts.fct_daily_indicators`` (ticker, market, trade_date, adjusted_open,
adjusted_close) and ``marts.mart_screener_history`` (the ranking and filter columns and
``market_cap`` on the signal sessions).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from datetime import date

from domain.backtests.spec import StrategySpec
from domain.calendar import sessions_between
from domain.markets import market as market_info

#: Daily returns behind an inverse-volatility weight.
VOLATILITY_RETURNS = 63


@dataclass
class OracleRun:
    """What the oracle computes for one strategy.

    Attributes:
        sessions: the sessions from the first rebalance to the last (ascending).
        equity: session -> equity at the close (1.0 = the start, before the first rebalance).
        signal_of: rebalance session -> its signal session (the session before it).
        picks: rebalance session -> ``[(ticker, target_weight), ...]`` in rank order.
        bought: rebalance session -> tickers actually bought (picks with a bar that session).
        trades: ``(session, ticker, side, notional, reason)`` in order of execution within a
            session (notional in equity units; reason ``rebalance`` or ``stopped``).
        benchmark: session -> EQUAL_WEIGHT return (mean close / previous axis session's close - 1
            over the tickers with both; 0.0 when there is none).
    """

    sessions: list[date] = field(default_factory=list)
    equity: dict[date, float] = field(default_factory=dict)
    signal_of: dict[date, date] = field(default_factory=dict)
    picks: dict[date, list[tuple[str, float]]] = field(default_factory=dict)
    bought: dict[date, list[str]] = field(default_factory=dict)
    trades: list[tuple[date, str, str, float, str]] = field(default_factory=list)
    benchmark: dict[date, float] = field(default_factory=dict)


class _Bars:
    """One ticker's bars: sorted dates, and date -> (adjusted open, adjusted close)."""

    def __init__(self, market: str) -> None:
        self.market = market
        self.dates: list[date] = []
        self.prices: dict[date, tuple[float, float]] = {}

    def last_close(self, day: date) -> float:
        """The adjusted close of the ticker's latest bar on or before ``day``."""
        position = bisect.bisect_right(self.dates, day) - 1
        if position < 0:
            raise LookupError(f"no bar on or before {day}")
        return self.prices[self.dates[position]][1]


def _period(day: date, rebalance: str) -> tuple[int, int]:
    if rebalance == "weekly":
        year, week, _ = day.isocalendar()
        return (year, week)
    if rebalance == "monthly":
        return (day.year, day.month)
    return (day.year, (day.month - 1) // 3 + 1)


def _read_bars(con, markets: tuple[str, ...]) -> dict[str, _Bars]:
    marks = ", ".join("?" for _ in markets)
    rows = con.execute(
        f"SELECT ticker, market, trade_date, adjusted_open, adjusted_close FROM marts.fct_daily_indicators "
        f"WHERE market IN ({marks}) ORDER BY ticker, trade_date",
        list(markets),
    ).fetchall()
    bars: dict[str, _Bars] = {}
    for ticker, market, day, open_, close in rows:
        entry = bars.setdefault(ticker, _Bars(market))
        entry.dates.append(day)
        entry.prices[day] = (float(open_), float(close))
    return bars


def _passes(row: dict, filters: dict) -> bool:
    for key, rule in filters.items():
        if isinstance(rule, dict):
            value = row[key]
            if value is None:
                return False
            if rule.get("min") is not None and not value > rule["min"]:
                return False
            if rule.get("max") is not None and not value < rule["max"]:
                return False
        elif key.startswith("vs_") and rule in ("above", "below"):
            line, close = row[key[3:]], row["close"]
            if line is None or close is None:
                return False
            if rule == "above" and not close > line:
                return False
            if rule == "below" and not close < line:
                return False
        else:
            raise NotImplementedError(f"the oracle does not support the filter {key}: {rule!r}")
    return True


def _filter_columns(filters: dict) -> list[str]:
    columns = []
    for key, rule in filters.items():
        columns.append(key[3:] if isinstance(rule, str) and key.startswith("vs_") else key)
    return columns


def _volatility(bars: _Bars, day: date) -> float | None:
    """Sample std of the ticker's last 63 bar-to-bar returns ending at ``day`` (None: fewer
    than 63 returns or all equal)."""
    end = bisect.bisect_right(bars.dates, day)
    if end < VOLATILITY_RETURNS + 1:
        return None
    closes = [bars.prices[d][1] for d in bars.dates[end - VOLATILITY_RETURNS - 1 : end]]
    returns = [closes[i] / closes[i - 1] - 1 for i in range(1, len(closes))]
    mean = math.fsum(returns) / len(returns)
    spread = math.sqrt(math.fsum((r - mean) ** 2 for r in returns) / (len(returns) - 1))
    return spread if spread > 0 else None


def _solve_cost(weights: dict[str, float], values: dict[str, float], total: float, rate: float) -> float:
    """The cost X with X = rate * sum |w_i (total - X) - v_i| (found by bisection: X minus the
    right side increases strictly in X, is <= 0 at 0 and >= 0 at total)."""
    names = set(weights) | set(values)

    def excess(x: float) -> float:
        return x - rate * sum(abs(weights.get(n, 0.0) * (total - x) - values.get(n, 0.0)) for n in names)

    low, high = 0.0, total
    if rate == 0 or excess(0.0) >= 0:
        return 0.0
    for _ in range(200):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if excess(middle) < 0:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def run_oracle(spec: StrategySpec, con) -> OracleRun:
    """Run ``spec`` on the DuckDB warehouse behind connection ``con`` (see the module docstring).

    Raises:
        NotImplementedError: a screen the oracle does not support.
        ValueError: no rebalance session with data the session before.
    """
    if spec.screen.preset:
        raise NotImplementedError("the oracle does not support presets")
    filters = dict(spec.screen.filters)
    markets = spec.markets
    bars = _read_bars(con, markets)
    first_data = min(b.dates[0] for b in bars.values())
    last_data = max(b.dates[-1] for b in bars.values())
    last = min(spec.end, last_data)

    # calendar: the union of the markets' exchange sessions over the data's span
    open_days = {code: set(sessions_between(first_data, last, market_info(code).exchange_calendar)) for code in markets}
    calendar = sorted(set().union(*open_days.values()))
    rebalances = [
        calendar[i] for i in range(1, len(calendar))
        if calendar[i] >= spec.start and _period(calendar[i], spec.rebalance) != _period(calendar[i - 1], spec.rebalance)
    ]  # fmt: skip
    if not rebalances:
        raise ValueError(f"{spec.name}: no rebalance session")
    previous = {calendar[i]: calendar[i - 1] for i in range(1, len(calendar))}
    run = OracleRun()
    run.signal_of = {day: previous[day] for day in rebalances}
    run.sessions = [d for d in calendar if d >= rebalances[0]]

    # picks: the screener rows of the signal sessions, filtered and ranked here
    columns = sorted({"ticker", "trade_date", "close", "market_cap", spec.rank_by, *_filter_columns(filters)})
    signals = sorted(run.signal_of.values())
    rows = con.execute(
        f"SELECT {', '.join(columns)} FROM marts.mart_screener_history "
        f"WHERE market IN ({', '.join('?' for _ in markets)}) AND trade_date IN ({', '.join('?' for _ in signals)})",
        [*markets, *signals],
    ).fetchall()
    by_signal: dict[date, list[dict]] = {}
    for values in rows:
        row = dict(zip(columns, values, strict=True))
        by_signal.setdefault(row["trade_date"], []).append(row)
    for rebalance, signal in run.signal_of.items():
        candidates = []
        for row in by_signal.get(signal, []):
            if row[spec.rank_by] is None or not _passes(row, filters):
                continue
            size = None
            if spec.weighting == "market_cap":
                if row["market_cap"] is None or not row["market_cap"] > 0:
                    continue
                size = float(row["market_cap"])
            elif spec.weighting == "inverse_volatility":
                spread = _volatility(bars[row["ticker"]], signal)
                if spread is None:
                    continue
                size = 1.0 / spread
            candidates.append((float(row[spec.rank_by]), row["ticker"], size))
        # rank: by value (descending as set), ties by ticker ascending
        candidates.sort(key=lambda c: c[1])
        candidates.sort(key=lambda c: c[0], reverse=spec.descending)
        chosen = candidates[: spec.top_n]
        share = len(chosen) / spec.top_n
        if spec.weighting == "equal":
            run.picks[rebalance] = [(ticker, 1.0 / spec.top_n) for _, ticker, _ in chosen]
        else:
            total = sum(size for _, _, size in chosen)
            run.picks[rebalance] = [(ticker, share * size / total) for _, ticker, size in chosen]

    # the simulation, session by session
    rate = spec.cost_bps / 10_000
    cash = 1.0
    shares: dict[str, float] = {}
    rebalance_set = set(rebalances)

    def stop(ticker: str, day: date) -> None:
        nonlocal cash
        notional = shares.pop(ticker) * bars[ticker].last_close(day)
        cash += notional - rate * notional
        run.trades.append((day, ticker, "sell", notional, "stopped"))

    for day in run.sessions:
        if day in rebalance_set:
            for ticker in [t for t in shares if day not in bars[t].prices]:
                stop(ticker, day)
            wanted = {t: w for t, w in run.picks[day] if day in bars[t].prices}
            run.bought[day] = list(wanted)
            values = {t: n * bars[t].prices[day][0] for t, n in shares.items()}
            total = cash + sum(values.values())
            after = total - _solve_cost(wanted, values, total, rate)
            for ticker in sorted(set(values) | set(wanted)):
                delta = wanted.get(ticker, 0.0) * after - values.get(ticker, 0.0)
                if delta != 0:
                    run.trades.append((day, ticker, "buy" if delta > 0 else "sell", abs(delta), "rebalance"))
            shares = {t: w * after / bars[t].prices[day][0] for t, w in wanted.items()}
            cash = after * (1.0 - sum(wanted.values()))
        else:
            for ticker in [t for t in shares if day in open_days[bars[t].market] and day not in bars[t].prices]:
                stop(ticker, day)
        run.equity[day] = cash + sum(n * bars[t].last_close(day) for t, n in shares.items())

    # EQUAL_WEIGHT benchmark
    for day in run.sessions:
        before = previous[day]
        moves = [
            b.prices[day][1] / b.prices[before][1] - 1 for b in bars.values() if day in b.prices and before in b.prices
        ]
        run.benchmark[day] = math.fsum(moves) / len(moves) if moves else 0.0
    return run

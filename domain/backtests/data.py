"""What a backtest reads from the warehouse, point in time: its session axis and rebalance
sessions, the adjusted prices of its markets, the picks of its screen on each signal session,
and its benchmark's daily returns.

Every read goes through a :class:`Source` (SQL with ``?`` placeholders, table names resolved by
the caller), so the same code reads the app's published snapshot, the PostgreSQL warehouse or
the pipelines' writer file.

Tables read: ``marts.fct_daily_indicators`` (adjusted open and close, return_1d per traded bar),
``marts.mart_screener_history`` (the screen's columns per bar, point in time),
``marts.fct_index_daily`` (index benchmarks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

import numpy as np
import polars as pl

from domain.backtests.spec import EQUAL_WEIGHT, StrategySpec
from domain.calendar import sessions_between
from domain.markets import market as market_info
from domain.screens.sql import build_where

#: Bars of daily returns behind the ``inverse_volatility`` weighting (sample standard deviation).
VOLATILITY_BARS = 63
#: Calendar days of calendar looked at before ``start`` to know which session opens a period.
_LOOKBACK_DAYS = 120


class BacktestDataError(ValueError):
    """The warehouse cannot give what the strategy needs (names the strategy and what is missing)."""


class Source(Protocol):
    """Where a backtest reads: ``fetch_frame`` runs SQL with ``?`` placeholders and returns a polars
    frame; ``table(layer, name)`` is the qualified name of a warehouse table."""

    def fetch_frame(self, sql: str, params: Sequence[object] = ()) -> pl.DataFrame: ...

    def table(self, layer: str, name: str) -> str: ...


def _period_key(day: date, rebalance: str) -> tuple[int, int]:
    if rebalance == "weekly":
        iso = day.isocalendar()
        return iso.year, iso.week
    if rebalance == "monthly":
        return day.year, day.month
    return day.year, (day.month - 1) // 3


@dataclass(frozen=True)
class Axis:
    """The sessions of a backtest.

    Attributes:
        sessions: every session of the strategy's markets (the union of their exchange
            calendars) from the signal session of the first rebalance to the last session
            with data on or before ``end``, ascending.
        rebalance_index: positions in ``sessions`` of the rebalance sessions: the first session
            of each week, month or quarter (ISO weeks; calendar months; quarters starting in
            January, April, July, October) that falls on or after ``start``.
        market_sessions: market code -> bool array over ``sessions``: that market is open.
    """

    sessions: tuple[date, ...]
    rebalance_index: tuple[int, ...]
    market_sessions: dict[str, np.ndarray]

    @property
    def signal_sessions(self) -> tuple[date, ...]:
        """The session before each rebalance session (whose close the signals use)."""
        return tuple(self.sessions[i - 1] for i in self.rebalance_index)

    @property
    def rebalance_sessions(self) -> tuple[date, ...]:
        return tuple(self.sessions[i] for i in self.rebalance_index)


def data_range(source: Source, markets: Sequence[str]) -> tuple[date, date] | None:
    """First and last trade_date of the bars of ``markets`` in the warehouse (None: no bars)."""
    frame = source.fetch_frame(
        f"SELECT min(trade_date) AS first, max(trade_date) AS last FROM {source.table('marts', 'fct_daily_indicators')} "
        f"WHERE market IN ({', '.join('?' for _ in markets)})",
        list(markets),
    )
    first, last = frame.row(0)
    return None if first is None else (first, last)


def data_build(source: Source) -> str:
    """Which build of the marts a backtest read: the latest ``computed_at`` stamp of
    ``fct_daily_indicators`` (the start of the dbt run that last wrote a bar, the same in the
    writer's file and in the snapshot published from it), as ISO text; ``empty`` without bars."""
    frame = source.fetch_frame(f"SELECT max(computed_at) AS stamp FROM {source.table('marts', 'fct_daily_indicators')}")
    stamp = frame["stamp"][0]
    return "empty" if stamp is None else str(stamp)


def build_axis(spec: StrategySpec, first_data: date, last_data: date) -> Axis:
    """The session axis of ``spec`` given the data's first and last trade_date (see :class:`Axis`).

    Raises:
        BacktestDataError: no rebalance session with a preceding session of data lies in
            ``start..end``.
    """
    last = min(spec.end, last_data)
    calendar_from = max(first_data, spec.start - timedelta(days=_LOOKBACK_DAYS))
    per_market = {
        code: set(sessions_between(calendar_from, last, market_info(code).exchange_calendar)) for code in spec.markets
    }
    calendar = sorted(set().union(*per_market.values()))
    starts = [
        i for i in range(1, len(calendar))
        if _period_key(calendar[i], spec.rebalance) != _period_key(calendar[i - 1], spec.rebalance)
        and calendar[i] >= spec.start and calendar[i - 1] >= first_data
    ]  # fmt: skip
    if not starts:
        raise BacktestDataError(
            f"strategy {spec.name}: no {spec.rebalance} rebalance session between {spec.start} and {last} "
            f"with data the session before (the data of {', '.join(spec.markets)} spans {first_data}..{last_data})"
        )
    offset = starts[0] - 1
    sessions = tuple(calendar[offset:])
    return Axis(
        sessions=sessions,
        rebalance_index=tuple(i - offset for i in starts),
        market_sessions={code: np.array([d in days for d in sessions]) for code, days in per_market.items()},
    )


@dataclass(frozen=True)
class Prices:
    """Adjusted prices on the axis: ``open`` and ``close`` are sessions x tickers (NaN: no bar
    that session); ``tickers`` and ``markets`` name the columns; ``market_open`` is True where
    the column's market holds that session."""

    tickers: tuple[str, ...]
    markets: tuple[str, ...]
    open: np.ndarray
    close: np.ndarray
    market_open: np.ndarray

    def column(self, ticker: str) -> int:
        return self._columns[ticker]

    @property
    def _columns(self) -> dict[str, int]:
        cached = self.__dict__.get("_column_map")
        if cached is None:
            cached = {t: i for i, t in enumerate(self.tickers)}
            object.__setattr__(self, "_column_map", cached)
        return cached


def load_prices(source: Source, spec: StrategySpec, axis: Axis) -> Prices:
    """The adjusted open and close of every ticker of the strategy's markets on the axis
    (``fct_daily_indicators``; prices in each market's currency)."""
    frame = source.fetch_frame(
        f"SELECT ticker, market, trade_date, adjusted_open, adjusted_close "
        f"FROM {source.table('marts', 'fct_daily_indicators')} "
        f"WHERE market IN ({', '.join('?' for _ in spec.markets)}) AND trade_date BETWEEN ? AND ?",
        [*spec.markets, axis.sessions[0], axis.sessions[-1]],
    )
    tickers = frame.select("ticker", "market").unique("ticker").sort("ticker")
    names = tickers["ticker"].to_list()
    days = np.array(axis.sessions, dtype="datetime64[D]")
    dates = frame["trade_date"].to_numpy().astype("datetime64[D]")
    rows = np.minimum(np.searchsorted(days, dates), len(days) - 1)
    stray = days[rows] != dates
    if stray.any():
        found = sorted({str(d) for d in dates[stray]})[:5]
        raise BacktestDataError(f"strategy {spec.name}: bars on days that are no session of their calendar: {found}")
    cols = frame["ticker"].cast(pl.Enum(names)).to_physical().to_numpy().astype(np.int64)
    shape = (len(axis.sessions), len(names))
    open_ = np.full(shape, np.nan)
    close = np.full(shape, np.nan)
    open_[rows, cols] = frame["adjusted_open"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    close[rows, cols] = frame["adjusted_close"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    markets = tuple(tickers["market"].to_list())
    market_open = np.column_stack([axis.market_sessions[m] for m in markets]) if markets else np.zeros(shape, bool)
    return Prices(tuple(names), markets, open_, close, market_open)


def load_picks(source: Source, spec: StrategySpec, axis: Axis, tickers: Sequence[str]) -> pl.DataFrame:
    """The tickers the strategy buys at each rebalance, chosen at the close of its signal session.

    On each signal session: the rows of ``mart_screener_history`` (the tickers that traded that
    session) of the strategy's markets that pass its screen and have a ``rank_by`` value (and,
    for the weightings that need one, a positive market cap or a volatility of
    :data:`VOLATILITY_BARS` returns); ordered by ``rank_by`` (``descending`` as set), ties by
    ticker; the first ``top_n``.

    ``tickers``: the tickers with bars on the axis (:attr:`Prices.tickers`); naming them lets the
    database compute the history's look-back windows for these tickers only.

    Returns:
        Columns ``signal_session`` (date), ``ticker``, ``rank`` (1 = first), ``rank_value``,
        ``market_cap`` (market currency or null), ``volatility`` (daily, fraction, or null).
    """
    screen = spec.screen_spec()
    conds, params = build_where(screen)
    if not tickers:
        return pl.DataFrame(
            schema={
                "signal_session": pl.Date,
                "ticker": pl.String,
                "rank": pl.Int64,
                "rank_value": pl.Float64,
                "market_cap": pl.Float64,
                "volatility": pl.Float64,
            }
        )
    conds.insert(0, f"ticker IN ({', '.join('?' for _ in tickers)})")
    params = [*tickers, *params]
    signals = list(axis.signal_sessions)
    conds.append(f"trade_date IN ({', '.join('?' for _ in signals)})")
    params += signals
    conds.append(f"{spec.rank_by} IS NOT NULL")
    if spec.weighting == "market_cap":
        conds.append("market_cap > 0")
    frame = source.fetch_frame(
        f"SELECT trade_date AS signal_session, ticker, CAST({spec.rank_by} AS DOUBLE PRECISION) AS rank_value, "
        f"market_cap FROM {source.table('marts', 'mart_screener_history')} WHERE {' AND '.join(conds)}",
        params,
    ).with_columns(pl.col("market_cap").cast(pl.Float64), pl.col("signal_session").cast(pl.Date))
    if spec.weighting == "inverse_volatility":
        frame = frame.join(_volatility(source, spec, signals), on=["signal_session", "ticker"], how="inner")
    else:
        frame = frame.with_columns(volatility=pl.lit(None, dtype=pl.Float64))
    ordered = frame.sort(
        ["signal_session", "rank_value", "ticker"], descending=[False, spec.descending, False]
    ).with_columns(rank=pl.int_range(1, pl.len() + 1).over("signal_session"))
    return ordered.filter(pl.col("rank") <= spec.top_n).select(
        "signal_session", "ticker", "rank", "rank_value", "market_cap", "volatility"
    )


def _volatility(source: Source, spec: StrategySpec, signals: Sequence[date]) -> pl.DataFrame:
    """Sample standard deviation of each ticker's last :data:`VOLATILITY_BARS` daily returns
    (its own bars: halts are no bars) at the close of each signal session; tickers with fewer
    returns, or none that vary, are left out."""
    table = source.table("marts", "fct_daily_indicators")
    frame = source.fetch_frame(
        f"SELECT ticker, trade_date, return_1d FROM {table} "
        f"WHERE market IN ({', '.join('?' for _ in spec.markets)}) AND trade_date <= ?",
        [*spec.markets, max(signals)],
    )
    window = frame.sort("ticker", "trade_date").with_columns(
        volatility=pl.col("return_1d").rolling_std(VOLATILITY_BARS, ddof=1).over("ticker"),
        returns=pl.col("return_1d").is_not_null().cast(pl.Int32).rolling_sum(VOLATILITY_BARS).over("ticker"),
    )
    return window.filter(
        pl.col("trade_date").is_in(list(signals)) & (pl.col("returns") == VOLATILITY_BARS) & (pl.col("volatility") > 0)
    ).select(pl.col("trade_date").alias("signal_session"), "ticker", "volatility")


def benchmark_returns(source: Source, spec: StrategySpec, axis: Axis, prices: Prices) -> np.ndarray:
    """Daily returns (fractions) of the strategy's benchmark on every axis session but the first
    (element ``t - 1`` is the return of ``sessions[t]``):

    - ``EQUAL_WEIGHT``: the mean, over the tickers of the strategy's markets with an adjusted
      close on the session and on the axis session before it, of close / previous close - 1
      (the definition of ``fct_benchmark_daily``'s EQUAL_WEIGHT; 0 on a session without such
      tickers);
    - an index of ``fct_index_daily`` (KS11, KQ11, KS200): its daily_return (0 on a session the
      index did not publish);
    - a ticker: its adjusted close over its previous bar's (the whole move over a gap on the day
      it trades again; 0 on sessions without a bar).

    Raises:
        BacktestDataError: the benchmark is neither an index nor a ticker with prices.
    """
    close = prices.close
    if spec.benchmark == EQUAL_WEIGHT:
        ratio = close[1:] / close[:-1] - 1
        counts = np.sum(~np.isnan(ratio), axis=1)
        sums = np.nansum(ratio, axis=1)
        return np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    index = source.fetch_frame(
        f"SELECT trade_date, daily_return FROM {source.table('marts', 'fct_index_daily')} "
        f"WHERE index_code = ? AND trade_date BETWEEN ? AND ?",
        [spec.benchmark, axis.sessions[1], axis.sessions[-1]],
    )
    if index.height:
        by_day = dict(zip(index["trade_date"].to_list(), index["daily_return"].to_list(), strict=True))
        return np.array([float(by_day.get(d) or 0.0) for d in axis.sessions[1:]])
    ticker = source.fetch_frame(
        f"SELECT trade_date, adjusted_close FROM {source.table('marts', 'fct_daily_indicators')} "
        f"WHERE ticker = ? AND trade_date <= ? ORDER BY trade_date",
        [spec.benchmark, axis.sessions[-1]],
    )
    if not ticker.height:
        raise BacktestDataError(
            f"strategy {spec.name}: benchmark {spec.benchmark!r} is neither {EQUAL_WEIGHT}, an index of "
            f"fct_index_daily nor a ticker with prices"
        )
    closes = ticker["adjusted_close"].cast(pl.Float64).to_numpy()
    moves = dict(zip(ticker["trade_date"].to_list()[1:], closes[1:] / closes[:-1] - 1, strict=True))
    return np.array([float(moves.get(d, 0.0)) for d in axis.sessions[1:]])


class ReaderSource:
    """A :class:`Source` over the app's :class:`~domain.warehouse.readers.Reader` (the published
    DuckDB snapshot or PostgreSQL)."""

    def __init__(self, reader) -> None:
        self.reader = reader

    def fetch_frame(self, sql: str, params: Sequence[object] = ()) -> pl.DataFrame:
        """The rows as polars; pandas' datetimes become dates (the backtest reads DATE columns
        only, which pandas cannot hold as dates)."""
        frame = pl.from_pandas(self.reader.query(sql, list(params)))
        return frame.with_columns(pl.col(pl.Datetime).dt.date())

    def table(self, layer: str, name: str) -> str:
        return self.reader.table(layer, name)

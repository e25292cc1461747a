"""Reads of the Backtest page (read-only, through a :class:`~domain.warehouse.readers.Reader`).

The backtest itself reads through :class:`domain.backtests.data.ReaderSource`; this module reads
what the page shows beside it:

* ``marts.dim_companies``: the company name of each held ticker (Korean names as listed);
* ``backtests.backtest_runs`` / ``backtest_daily`` / ``backtest_metrics``: the runs stored by
  ``python -m pipelines.backtest`` (see :mod:`domain.backtests.store`). A warehouse without
  these tables (none stored yet, or a snapshot that does not publish them) has no stored runs:
  :func:`stored_runs` returns None, it does not raise.

Frames are pandas (dates as pandas datetimes, the readers' types) unless stated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd

from domain.warehouse.readers import DATABASE_ERRORS, Reader

#: How many stored runs the page lists (the latest first).
STORED_RUN_LIMIT = 50


def company_names(reader: Reader, tickers: Sequence[str]) -> dict[str, str]:
    """Ticker -> company name (``marts.dim_companies``) of ``tickers``; tickers without a name are
    left out."""
    if not tickers:
        return {}
    unique = sorted(set(tickers))
    frame = reader.query(
        f"SELECT ticker, company_name FROM {reader.table('marts', 'dim_companies')} "
        f"WHERE ticker IN ({', '.join('?' for _ in unique)}) AND company_name IS NOT NULL",
        unique,
    )
    return dict(zip(frame["ticker"].astype(str), frame["company_name"].astype(str), strict=True))


def stored_runs(reader: Reader) -> pd.DataFrame | None:
    """The latest :data:`STORED_RUN_LIMIT` stored runs, newest first: ``run_id``,
    ``strategy_name``, ``market``, ``benchmark``, ``first_session``, ``last_session``,
    ``data_build``, ``finished_at`` (UTC); None when the warehouse has no ``backtest_runs`` table
    (a read error of that table is taken as its absence)."""
    try:
        return reader.query(
            f"SELECT run_id, strategy_name, market, benchmark, first_session, last_session, data_build, finished_at "
            f"FROM {reader.table('backtests', 'backtest_runs')} "
            f"ORDER BY finished_at DESC, run_id LIMIT {STORED_RUN_LIMIT}"
        )
    except DATABASE_ERRORS:
        return None


def stored_daily(reader: Reader, run_id: str) -> pd.DataFrame:
    """``backtest_daily`` of run ``run_id``, oldest first: ``session``, ``equity``,
    ``daily_return``, ``benchmark_equity``, ``benchmark_return``, ``drawdown``, ``cash_weight``,
    ``turnover`` (fractions; equity 1.0 = the start), ``cost`` (equity units)."""
    return reader.query(
        f"SELECT session, equity, daily_return, benchmark_equity, benchmark_return, drawdown, cash_weight, turnover, "
        f"cost FROM {reader.table('backtests', 'backtest_daily')} WHERE run_id = ? ORDER BY session",
        [run_id],
    )


def stored_metrics(reader: Reader, run_id: str) -> dict[str, float | date | None]:
    """``backtest_metrics`` of run ``run_id`` as :func:`domain.backtests.metrics.compute_metrics`
    returns them: metric -> number, or a date for the drawdown's sessions (``value_date``), None
    when undefined; ``rebalances`` and ``sessions`` as integers."""
    frame = reader.query(
        f"SELECT metric, value, value_date FROM {reader.table('backtests', 'backtest_metrics')} WHERE run_id = ?",
        [run_id],
    )
    found: dict[str, float | date | None] = {}
    for metric, value, value_date in frame.itertuples(index=False):
        if not pd.isna(value_date):
            found[metric] = pd.Timestamp(value_date).date()
        elif pd.isna(value):
            found[metric] = None
        elif metric in ("rebalances", "sessions"):
            found[metric] = int(value)
        else:
            found[metric] = float(value)
    return found

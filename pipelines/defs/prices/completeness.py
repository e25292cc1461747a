"""Per-day completeness of ``raw.prices_daily`` against the universe of active tickers.

The universe of session D is the number of tickers whose loaded history spans D:
first trade_date <= D and last trade_date >= the session before D (so a ticker that
traded yesterday and is missing today counts as missing, while a ticker that left the
index long ago does not). Sessions whose universe is 0 (no history around them, e.g.
after the end of a static file) carry no expectation and are left out.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from pipelines.defs.prices.tables import PRICES_TABLE
from pipelines.lib.trading_calendar import previous_session_before


def daily_completeness(con: duckdb.DuckDBPyConnection, sessions: list[date]) -> pl.DataFrame:
    """Frame ``trade_date, rows, universe, completeness`` (fraction), one row per session
    of ``sessions`` with a non-empty universe."""
    days = pl.DataFrame(
        {
            "trade_date": sessions,
            "previous_session": [previous_session_before(day) for day in sessions],
        },
        schema={"trade_date": pl.Date, "previous_session": pl.Date},
    )
    con.register("_completeness_days", days.to_arrow())
    try:
        return con.sql(
            f"""
            with spans as (
                select ticker, min(trade_date) as first_date, max(trade_date) as last_date
                from {PRICES_TABLE} group by ticker
            ),
            loaded as (
                select trade_date, count(*) as rows
                from {PRICES_TABLE}
                where trade_date between (select min(trade_date) from _completeness_days)
                                     and (select max(trade_date) from _completeness_days)
                group by trade_date
            ),
            universe as (
                select d.trade_date, count(s.ticker) as universe
                from _completeness_days as d
                left join spans as s
                  on s.first_date <= d.trade_date and s.last_date >= d.previous_session
                group by d.trade_date
            )
            select u.trade_date, coalesce(l.rows, 0) as rows, u.universe,
                   coalesce(l.rows, 0) / u.universe as completeness
            from universe as u left join loaded as l using (trade_date)
            where u.universe > 0
            order by u.trade_date
            """
        ).pl()
    finally:
        con.unregister("_completeness_days")

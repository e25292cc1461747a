"""Per-session completeness of the loaded prices against the universe of active tickers.

The universe of session D is the number of tickers whose loaded history spans D:
first trade_date <= D and last trade_date >= the session before D (so a ticker that
traded yesterday and is missing today counts as missing, while a ticker that left the
index long ago does not). Sessions whose universe is 0 (no history around them, e.g.
after the end of a static file) carry no expectation and are left out.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from domain.calendar import previous_session_before
from domain.warehouse import Warehouse
from pipelines.defs.prices.tables import prices_table


def daily_completeness(warehouse: Warehouse, sessions: list[date]) -> pl.DataFrame:
    """Frame ``trade_date, rows, universe, completeness`` (fraction), one row per session
    of ``sessions`` with a non-empty universe, ordered by trade_date."""
    schema = {"trade_date": pl.Date, "rows": pl.Int64, "universe": pl.Int64, "completeness": pl.Float64}
    if not sessions:
        return pl.DataFrame(schema=schema)
    spans = warehouse.fetch_frame(
        f"select ticker, min(trade_date) as first_date, max(trade_date) as last_date "
        f"from {prices_table(warehouse)} group by ticker"
    )
    counts = warehouse.fetch_frame(
        f"select trade_date, count(*) as rows from {prices_table(warehouse)} "
        f"where trade_date >= ? and trade_date <= ? group by trade_date",
        [min(sessions), max(sessions)],
    )
    days = pl.DataFrame(
        {"trade_date": sessions, "previous_session": [previous_session_before(day) for day in sessions]},
        schema={"trade_date": pl.Date, "previous_session": pl.Date},
    )
    if spans.height:
        universe = (
            days.join(spans, how="cross")
            .filter((pl.col("first_date") <= pl.col("trade_date")) & (pl.col("last_date") >= pl.col("previous_session")))
            .group_by("trade_date")
            .agg(universe=pl.len().cast(pl.Int64))
        )
    else:
        universe = pl.DataFrame(schema={"trade_date": pl.Date, "universe": pl.Int64})
    counts = counts.with_columns(pl.col("trade_date").cast(pl.Date), pl.col("rows").cast(pl.Int64))
    return (
        universe.join(counts, on="trade_date", how="left")
        .with_columns(pl.col("rows").fill_null(0))
        .with_columns(completeness=pl.col("rows") / pl.col("universe"))
        .select(list(schema))
        .sort("trade_date")
    )

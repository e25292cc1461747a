"""Per-session completeness of the loaded prices against the universe of active tickers.

The universe of session D is the set of tickers whose loaded history spans D:
first trade_date <= D and last trade_date >= the session before D (so a ticker that
traded yesterday and is missing today counts as missing, while a ticker that left the
index long ago does not). Sessions whose universe is empty (no history around them, e.g.
after the end of a static file) carry no expectation and are left out.

A session is **below the gate** when fewer than :data:`COMPLETENESS_THRESHOLD` (95 %) of its
universe have a row *and* at least :data:`COMPLETENESS_MIN_MISSING` (3) tickers are missing:
the absolute floor keeps one quarantined row of a 5-ticker file (80 %) from failing a session,
while in the S&P 500 universe the share decides (25 missing tickers). Every missing
(ticker, session) is listed with why: the rejection reasons of that ticker's quarantined rows
of the session (a conflicting duplicate, a failed rule), or "no row in the source".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from domain.calendar import previous_session_before
from domain.warehouse import Warehouse
from pipelines.defs.prices.tables import prices_table, rejected_table

#: Minimum share of a session's universe that must have a row (fraction).
COMPLETENESS_THRESHOLD = 0.95
#: A session is below the gate only if at least this many tickers are missing.
COMPLETENESS_MIN_MISSING = 3
#: A run's check fails at ERROR severity (blocking) when its latest session is below the gate
#: or more than this share of its sessions are; otherwise sessions below the gate only WARN
#: (a backfill lists them and the rest of the history builds).
BLOCKING_SHARE_OF_SESSIONS = 0.05
NO_SOURCE_ROW = "no row in the source"


@dataclass(frozen=True)
class Completeness:
    """``per_day``: one row per session with a non-empty universe, ordered by trade_date:
    ``trade_date, rows, universe, missing`` (ticker counts) and ``completeness`` (fraction
    rows / universe). ``missing``: one row per (ticker, trade_date) of a universe without a
    loaded row, ``ticker, trade_date, reason``, ordered by trade_date, ticker."""

    per_day: pl.DataFrame
    missing: pl.DataFrame

    def below_gate(self) -> pl.DataFrame:
        """The sessions of ``per_day`` below the gate (see the module docstring)."""
        return self.per_day.filter(
            (pl.col("completeness") < COMPLETENESS_THRESHOLD) & (pl.col("missing") >= COMPLETENESS_MIN_MISSING)
        )

    def blocking(self) -> bool:
        """True when the sessions below the gate must block the build: the latest session
        checked is one of them, or they are more than 5 % of the sessions checked."""
        below = self.below_gate()
        if below.is_empty():
            return False
        latest = self.per_day["trade_date"].max()
        return latest in below["trade_date"].to_list() or below.height > BLOCKING_SHARE_OF_SESSIONS * self.per_day.height


_PER_DAY = {"trade_date": pl.Date, "rows": pl.Int64, "universe": pl.Int64, "missing": pl.Int64, "completeness": pl.Float64}
_MISSING = {"ticker": pl.Utf8, "trade_date": pl.Date, "reason": pl.Utf8}


def session_completeness(warehouse: Warehouse, sessions: list[date]) -> Completeness:
    """Completeness of ``sessions`` (exchange sessions) in ``raw.prices_daily``, with the
    reasons of missing rows from ``raw.rejected_prices``."""
    if not sessions:
        return Completeness(pl.DataFrame(schema=_PER_DAY), pl.DataFrame(schema=_MISSING))
    spans = warehouse.fetch_frame(
        f"select ticker, min(trade_date) as first_date, max(trade_date) as last_date "
        f"from {prices_table(warehouse)} group by ticker"
    )
    window = [min(sessions), max(sessions)]
    present = warehouse.fetch_frame(
        f"select ticker, trade_date from {prices_table(warehouse)} where trade_date >= ? and trade_date <= ?",
        window,
    )
    rejected = warehouse.fetch_frame(
        f"select ticker, trade_date, reason from {rejected_table(warehouse)} "
        f"where trade_date >= ? and trade_date <= ? and ticker is not null",
        window,
    )
    days = pl.DataFrame(
        {"trade_date": sessions, "previous_session": [previous_session_before(day) for day in sessions]},
        schema={"trade_date": pl.Date, "previous_session": pl.Date},
    )
    if spans.is_empty():
        return Completeness(pl.DataFrame(schema=_PER_DAY), pl.DataFrame(schema=_MISSING))
    expected = (
        days.join(spans.cast({"ticker": pl.Utf8, "first_date": pl.Date, "last_date": pl.Date}), how="cross")
        .filter((pl.col("first_date") <= pl.col("trade_date")) & (pl.col("last_date") >= pl.col("previous_session")))
        .select("ticker", "trade_date")
    )
    present = present.cast({"ticker": pl.Utf8, "trade_date": pl.Date}).with_columns(found=pl.lit(True))
    expected = expected.join(present, on=["ticker", "trade_date"], how="left").with_columns(pl.col("found").fill_null(False))
    per_day = (
        expected.group_by("trade_date")
        .agg(rows=pl.col("found").sum().cast(pl.Int64), universe=pl.len().cast(pl.Int64))
        .with_columns(missing=pl.col("universe") - pl.col("rows"), completeness=pl.col("rows") / pl.col("universe"))
        .select(list(_PER_DAY))
        .sort("trade_date")
    )
    reasons = (
        rejected.cast({"ticker": pl.Utf8, "trade_date": pl.Date, "reason": pl.Utf8})
        .group_by("ticker", "trade_date")
        .agg(reason=pl.lit("quarantined: ") + pl.col("reason").unique().sort().str.join("; "))
    )
    missing = (
        expected.filter(~pl.col("found"))
        .join(reasons, on=["ticker", "trade_date"], how="left")
        .with_columns(pl.col("reason").fill_null(NO_SOURCE_ROW))
        .select(list(_MISSING))
        .sort("trade_date", "ticker")
    )
    return Completeness(per_day, missing)

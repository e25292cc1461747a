"""Per-session completeness of the loaded prices against the universe of active tickers.

Completeness is per price feed, on its own calendar: the sessions of the feed's exchange, the
tickers of the feed's markets (a KRX session is not compared with the US universe). A halt row
(``is_halted``) counts as present: the source delivered the ticker's session.

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


def session_completeness(
    warehouse: Warehouse, sessions: list[date], markets: tuple[str, ...] = ("US",), exchange: str = "XNYS",
    price_feed: str = "us",
) -> Completeness:
    """Completeness of ``sessions`` (sessions of ``exchange``) in ``raw.prices_daily`` for the
    tickers of ``markets``, with the reasons of missing rows from ``raw.rejected_prices`` (the
    rows of ``price_feed``).

    The universe, the present rows and the counts are computed in the warehouse (one range join
    of the sessions with each ticker's first and last trade_date, then a left join with the
    loaded rows), so only one row per session and the missing (ticker, session) pairs come back
    to Python: a 24 M-row first build otherwise fetched every loaded row and cross-joined
    sessions x tickers in memory (about 6 GB)."""
    if not sessions:
        return Completeness(pl.DataFrame(schema=_PER_DAY), pl.DataFrame(schema=_MISSING))
    days = ", ".join(
        f"(cast('{day.isoformat()}' as date), cast('{previous_session_before(day, exchange).isoformat()}' as date))"
        for day in sorted(set(sessions))
    )
    in_markets = "market in (" + ", ".join(f"'{code}'" for code in markets) + ")"
    window = [min(sessions), max(sessions)]
    checked = f"""
        with days (trade_date, previous_session) as (values {days}),
        spans as (
            select ticker, min(trade_date) as first_date, max(trade_date) as last_date
            from {prices_table(warehouse)} where {in_markets} group by ticker
        ),
        present as (
            select ticker, trade_date from {prices_table(warehouse)}
            where {in_markets} and trade_date >= ? and trade_date <= ?
        ),
        checked as (
            select spans.ticker, days.trade_date, present.ticker is not null as found
            from days
            inner join spans on spans.first_date <= days.trade_date and spans.last_date >= days.previous_session
            left join present on present.ticker = spans.ticker and present.trade_date = days.trade_date
        )"""
    per_day = (
        warehouse.fetch_frame(
            f"{checked} select trade_date, count(*) filter (where found) as loaded, count(*) as universe "
            f"from checked group by trade_date",
            window,
        )
        .cast({"trade_date": pl.Date, "loaded": pl.Int64, "universe": pl.Int64})
        .rename({"loaded": "rows"})
        .with_columns(missing=pl.col("universe") - pl.col("rows"), completeness=pl.col("rows") / pl.col("universe"))
        .select(list(_PER_DAY))
        .sort("trade_date")
    )
    absent = warehouse.fetch_frame(f"{checked} select ticker, trade_date from checked where not found", window).cast(
        {"ticker": pl.Utf8, "trade_date": pl.Date}
    )
    rejected = warehouse.fetch_frame(
        f"select ticker, trade_date, reason from {rejected_table(warehouse)} "
        f"where trade_date >= ? and trade_date <= ? and ticker is not null and price_feed = ?",
        [*window, price_feed],
    )
    reasons = (
        rejected.cast({"ticker": pl.Utf8, "trade_date": pl.Date, "reason": pl.Utf8})
        .group_by("ticker", "trade_date")
        .agg(reason=pl.lit("quarantined: ") + pl.col("reason").unique().sort().str.join("; "))
    )
    missing = (
        absent.join(reasons, on=["ticker", "trade_date"], how="left")
        .with_columns(pl.col("reason").fill_null(NO_SOURCE_ROW))
        .select(list(_MISSING))
        .sort("trade_date", "ticker")
    )
    return Completeness(per_day, missing)

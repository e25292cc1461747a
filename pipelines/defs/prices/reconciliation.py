"""Every source row of a price run, put in exactly one category (the load's reconciliation).

A run of ``raw/prices_daily`` loads the window ``[first, end)`` of its sessions ``first..last``. Its
source (the CSV file: every row; Yahoo: the window's rows) may hold rows that do not belong to
that window. :func:`classify` sorts every source row into one category, so that

    source rows = loaded + rejected + rejected_outside_sessions
                  + duplicate_collapsed + outside_requested_range

holds by construction and is checked again against the warehouse after the write (the blocking
``rows_pass_expectations`` check, see :mod:`pipelines.defs.prices.assets`). The categories,
with the counts of each run, are stored in ``raw.price_load_reconciliation`` (one row per run
and category, :func:`reconciliation_frame`):

``loaded``
    in the window, passed the row suite: in ``raw.prices_daily``.
``rejected``
    in the window, failed a rule of the row suite: in ``raw.rejected_prices`` (reason = rules).
``rejected_outside_sessions``
    dated before ``HISTORY_START`` (:data:`domain.calendar.HISTORY_START` by default) or after
    today's session (a session that has not opened yet, e.g. a 2030 typo): no run could load it, so
    every run rejects it to ``raw.rejected_prices`` with reason
    ``trade_date_before_history_start`` or ``trade_date_after_latest_session``.
``duplicate_collapsed``
    in the window, identical in every field to an earlier row of the same (ticker,
    trade_date): one copy goes on (loaded or rejected), the copies are counted here. Rows with
    the same key and *different* values are conflicting duplicates: all of them are rejected
    (rule ``ticker_trade_date_unique``) and the session is missing for that ticker.
``outside_requested_range``
    dated in a session outside the run's window (a ``--partition-range`` run over a file with
    more history): a run over that session loads it; nothing is written for it by this run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

BEFORE_HISTORY_START = "trade_date_before_history_start"
AFTER_LATEST_SESSION = "trade_date_after_latest_session"

#: Category name → what happened to its rows (the ``reason`` column of the reconciliation table).
CATEGORIES = {
    "loaded": "passed the row suite; stored in raw.prices_daily",
    "rejected": "failed a rule of the row suite; stored in raw.rejected_prices with the rule names",
    "rejected_outside_sessions": (
        f"dated outside the session span ({BEFORE_HISTORY_START} or {AFTER_LATEST_SESSION}); "
        "stored in raw.rejected_prices"
    ),
    "duplicate_collapsed": "identical copy of another row of the same ticker and session; one copy kept",
    "outside_requested_range": "dated in a session outside this run's window; loaded by a run over that session",
}

#: Columns that make two rows identical (everything the source says about a bar).
_IDENTITY = ("ticker", "trade_date", "open", "high", "low", "close", "volume", "adj_close", "split_basis_date")


@dataclass(frozen=True)
class Classified:
    """A source's rows for one run window, by category.

    ``batch``: the window's rows to validate (identical duplicates collapsed to their first
    copy), columns as the source's. ``outside_sessions``: the rows no partition holds, with a
    ``reason`` column. ``collapsed`` and ``not_requested``: row counts.
    """

    batch: pl.DataFrame
    outside_sessions: pl.DataFrame
    collapsed: int
    not_requested: int
    source_rows: int


def classify(rows: pl.DataFrame, window: tuple[date, date], span: tuple[date, date]) -> Classified:
    """Sort ``rows`` (a source frame with ``ticker``, ``trade_date`` and the OHLCV columns) for
    the run window ``[first, end)`` within the session span ``[span_first, span_end)``
    (calendar days; ``span_end`` is the session after today's, :func:`pipelines.lib.sessions.session_span`).

    Raises:
        ValueError: the window is not inside the span, or a row has no ``trade_date`` (the
            readers fail such a file, so this is a defect, never data).
    """
    first, end = window
    span_first, span_end = span
    if not (span_first <= first <= end <= span_end):
        raise ValueError(f"run window [{first}, {end}) is not inside the session span [{span_first}, {span_end})")
    if rows["trade_date"].null_count():
        raise ValueError("price rows without trade_date cannot be reconciled (the reader must reject the file)")
    day = pl.col("trade_date")
    outside = rows.filter((day < span_first) | (day >= span_end)).with_columns(
        reason=pl.when(day < span_first).then(pl.lit(BEFORE_HISTORY_START)).otherwise(pl.lit(AFTER_LATEST_SESSION))
    )
    in_window_rows = day.is_between(first, end, closed="left")
    # a run over the source's whole history keeps every row: the frame itself, not a copy
    in_window = rows if rows.select(in_window_rows.all()).item() else rows.filter(in_window_rows)
    identity = [c for c in _IDENTITY if c in in_window.columns]
    # identical copies can only exist where a (ticker, trade_date) repeats: counting those two
    # columns is much lighter than de-duplicating all nine (gigabytes at 24 M rows), and a
    # file without repeats (the usual case) is used as it is
    repeats = _key_repeats(in_window)
    batch = in_window.unique(subset=identity, keep="first", maintain_order=True) if repeats else in_window
    not_requested = rows.height - outside.height - in_window.height
    return Classified(batch, outside, in_window.height - batch.height, not_requested, rows.height)


def _key_repeats(rows: pl.DataFrame) -> int:
    """Rows beyond the first of each (ticker, trade_date). A file grouped by ticker with dates
    strictly increasing within each ticker (the usual layout) has none, which two comparisons
    with the previous row show without the hash table of every key (GBs at 24 M rows)."""
    ticker, day = pl.col("ticker"), pl.col("trade_date")
    out_of_order = rows.select(
        ((ticker == ticker.shift(1)) & (day <= day.shift(1))).any()
        | (ticker.rle_id().max() + 1 != ticker.n_unique())
        | ticker.is_null().any()
    ).item()
    return rows.height - rows.select("ticker", "trade_date").n_unique() if out_of_order else 0


def reconciliation_frame(
    classified: Classified, loaded: int, rejected: int, run: dict[str, object], recorded_at: datetime
) -> pl.DataFrame:
    """One row per category: ``run_id, source, window_start, window_end, category, row_count, reason,
    recorded_at`` (``run`` gives ``run_id``, ``source``, ``window_start``, ``window_end``).

    Raises:
        ValueError: the categories do not add up to the source's rows (a defect, never data).
    """
    counts = {
        "loaded": loaded,
        "rejected": rejected,
        "rejected_outside_sessions": classified.outside_sessions.height,
        "duplicate_collapsed": classified.collapsed,
        "outside_requested_range": classified.not_requested,
    }
    if sum(counts.values()) != classified.source_rows:
        raise ValueError(f"price load reconciliation does not add up: {counts} vs {classified.source_rows} source rows")
    return pl.DataFrame(
        [
            {**run, "category": name, "row_count": count, "reason": CATEGORIES[name], "recorded_at": recorded_at}
            for name, count in counts.items()
        ],
        schema={
            "run_id": pl.Utf8, "source": pl.Utf8, "window_start": pl.Date, "window_end": pl.Date,
            "category": pl.Utf8, "row_count": pl.Int64, "reason": pl.Utf8, "recorded_at": pl.Datetime("us"),
        },
    )  # fmt: skip

"""Every source row of a price run falls in exactly one category, and the completeness gate
scales with the universe (pure functions, on rows of the real 5-ticker file)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest

from pipelines.defs.prices.completeness import Completeness
from pipelines.defs.prices.reader import read_prices_csv
from pipelines.defs.prices.reconciliation import CATEGORIES, classify, reconciliation_frame
from pipelines.defs.prices.validation import validate_completeness
from tests.data_files import sample_fixture

FIVE_TICKERS = sample_fixture("sp500_5tickers_2017-01_2018-02.csv")
SPAN = (date(2013, 2, 8), date(2026, 12, 7))
RUN = {"run_id": "r1", "source": "cut.csv", "window_start": date(2017, 6, 1), "window_end": date(2017, 6, 2)}


@pytest.fixture(scope="module")
def rows() -> pl.DataFrame:
    return read_prices_csv(FIVE_TICKERS)


def test_each_row_has_one_category(rows):
    jpm = rows.filter((pl.col("ticker") == "JPM") & (pl.col("trade_date") == date(2017, 6, 1)))
    conflicting = jpm.with_columns(volume=pl.col("volume") + 1)
    dated = [jpm.with_columns(trade_date=pl.lit(day)) for day in (date(2012, 9, 4), date(2030, 1, 8))]
    source = pl.concat([rows, jpm, jpm, conflicting, *dated])
    classified = classify(source, (date(2017, 6, 1), date(2017, 6, 2)), SPAN)
    # 5 tickers on 2017-06-01, JPM twice more identically (collapsed) and once conflicting (kept)
    assert classified.batch.height == 6 and classified.collapsed == 2
    assert classified.outside_sessions["reason"].to_list() == [
        "trade_date_before_history_start", "trade_date_after_latest_session",
    ]  # fmt: skip
    assert classified.not_requested == rows.height - 5
    frame = reconciliation_frame(classified, loaded=4, rejected=2, run=RUN, recorded_at=datetime(2026, 12, 5))
    counts = dict(zip(frame["category"], frame["row_count"], strict=True))
    assert counts == {"loaded": 4, "rejected": 2, "rejected_outside_sessions": 2,
                      "duplicate_collapsed": 2, "outside_requested_range": rows.height - 5}  # fmt: skip
    assert sum(counts.values()) == source.height
    assert frame["reason"].to_list() == [CATEGORIES[c] for c in frame["category"]]


def test_a_reconciliation_that_does_not_add_up_raises(rows):
    classified = classify(rows, (date(2017, 6, 1), date(2017, 6, 2)), SPAN)
    with pytest.raises(ValueError, match="does not add up"):
        reconciliation_frame(classified, loaded=5, rejected=1, run=RUN, recorded_at=datetime(2026, 12, 5))


def test_a_window_outside_the_span_and_rows_without_a_date_are_refused(rows):
    with pytest.raises(ValueError, match="not inside the session span"):
        classify(rows, (date(2012, 1, 3), date(2012, 1, 4)), SPAN)
    with pytest.raises(ValueError, match="without trade_date"):
        classify(rows.with_columns(trade_date=pl.lit(None, dtype=pl.Date)), (date(2017, 6, 1), date(2017, 6, 2)), SPAN)


def _per_day(missing: list[int], universe: int) -> pl.DataFrame:
    days = [date(2017, 6, 1) + timedelta(days=i) for i in range(len(missing))]
    return pl.DataFrame({"trade_date": days, "universe": [universe] * len(missing), "missing": missing}).with_columns(
        rows=pl.col("universe") - pl.col("missing"),
        completeness=(pl.col("universe") - pl.col("missing")) / pl.col("universe"),
    ).select("trade_date", "rows", "universe", "missing", "completeness")


def _completeness(per_day: pl.DataFrame) -> Completeness:
    return Completeness(per_day, pl.DataFrame(schema={"ticker": pl.Utf8, "trade_date": pl.Date, "reason": pl.Utf8}))


@pytest.mark.parametrize(
    ("missing", "universe", "below", "blocking"),
    [
        ([0, 1, 0], 5, 0, False),  # one of 5 missing (80 %) is under the 3-ticker floor
        ([0, 3, 0], 5, 1, True),  # 3 of 5 in a 3-session run: 1/3 of the sessions
        ([24, 0, 0], 500, 0, False),  # 95.2 % of the S&P 500
        ([0, 0, 26], 500, 1, True),  # 94.8 % on the latest session
        ([0] * 10 + [26] + [0] * 29, 500, 1, False),  # one old session of 40 (2.5 %): a warning
    ],
)
def test_the_gate_scales_with_the_universe(missing, universe, below, blocking):
    completeness = _completeness(_per_day(missing, universe))
    assert completeness.below_gate().height == below
    assert completeness.blocking() is blocking
    # the Great Expectations suite agrees with the polars rule
    assert validate_completeness(completeness.per_day).success is (below == 0)

"""Great Expectations suites for daily OHLCV batches.

Two suites, both run on pandas frames (GE 1.x's SQL path does not work on DuckDB):

* ``prices_daily_rows`` — row rules. Run on the parsed input batch with the
  ``COMPLETE`` result format, the unexpected row indexes of each expectation tell
  which rows fail which rule. :func:`split_valid_rejected` uses them to quarantine
  rows (reason = the failed rule names joined by ``"; "``); nothing is dropped, so
  ``input rows = valid + rejected``. Run again on the valid rows, the suite must pass.
* ``prices_daily_completeness`` — one row per trade_date with
  ``rows / universe >= 0.95`` where the universe of a day is the number of tickers
  whose history spans it (see :func:`pipelines.defs.prices.completeness.daily_completeness`).

Rule names (the ``reason`` values in ``raw.rejected_prices``): ``<col>_not_null``,
``ticker_trade_date_unique``, ``low_le_open``, ``open_le_high``, ``low_le_close``,
``close_le_high``, ``<price>_positive``, ``volume_non_negative``,
``trade_date_is_session`` (a session of the exchange calendar, XNYS by default).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import pandas as pd
import polars as pl

COMPLETENESS_THRESHOLD = 0.95
KEY_COLUMNS = ("ticker", "trade_date")
VALUE_COLUMNS = ("open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close")


@dataclass(frozen=True)
class SuiteOutcome:
    """Result of one suite run: overall success and, per rule, the failing row count."""

    success: bool
    failed_rows_by_rule: dict[str, int]
    evaluated_expectations: int


@dataclass(frozen=True)
class PriceSplit:
    """A batch split by the row suite. ``rejected`` has the input columns plus ``reason``."""

    valid: pl.DataFrame
    rejected: pl.DataFrame
    input_outcome: SuiteOutcome


@cache
def _gx():
    import great_expectations as gx  # imported lazily: the import takes seconds

    return gx


@cache
def _context():
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = _gx().get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def _row_suite(sessions: tuple[str, ...]):
    gx = _gx()
    _context()  # suites need an active context
    expect = gx.expectations
    suite = gx.ExpectationSuite(name="prices_daily_rows")
    for column in (*KEY_COLUMNS, *VALUE_COLUMNS):
        suite.add_expectation(
            expect.ExpectColumnValuesToNotBeNull(column=column, meta={"rule": f"{column}_not_null"})
        )
    suite.add_expectation(
        expect.ExpectCompoundColumnsToBeUnique(
            column_list=list(KEY_COLUMNS), meta={"rule": "ticker_trade_date_unique"}
        )
    )
    for greater, smaller in (("open", "low"), ("high", "open"), ("close", "low"), ("high", "close")):
        suite.add_expectation(
            expect.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=greater,
                column_B=smaller,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta={"rule": f"{smaller}_le_{greater}"},
            )
        )
    for column in PRICE_COLUMNS:
        suite.add_expectation(
            expect.ExpectColumnValuesToBeBetween(
                column=column, min_value=0, strict_min=True, meta={"rule": f"{column}_positive"}
            )
        )
    suite.add_expectation(
        expect.ExpectColumnValuesToBeBetween(column="volume", min_value=0, meta={"rule": "volume_non_negative"})
    )
    suite.add_expectation(
        expect.ExpectColumnValuesToBeInSet(
            column="trade_date", value_set=list(sessions), meta={"rule": "trade_date_is_session"}
        )
    )
    return suite


def _completeness_suite():
    gx = _gx()
    _context()
    suite = gx.ExpectationSuite(name="prices_daily_completeness")
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="completeness", min_value=COMPLETENESS_THRESHOLD, meta={"rule": "completeness_ge_95pct"}
        )
    )
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToNotBeNull(column="completeness", meta={"rule": "universe_known"})
    )
    return suite


def _run(suite, frame: pd.DataFrame) -> list[Any]:
    """Validate a pandas frame with a suite; return the per-expectation results."""
    gx = _gx()
    context = _context()
    name = f"{suite.name}_{id(frame)}"
    source = context.data_sources.add_or_update_pandas(name)
    batch = source.add_dataframe_asset("batch").add_batch_definition_whole_dataframe("whole")
    try:
        suite = context.suites.add_or_update(suite)
        validation = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=name, data=batch, suite=suite)
        )
        result = validation.run(
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "COMPLETE", "partial_unexpected_count": 0},
        )
    finally:
        if _has_validation(context, name):
            context.validation_definitions.delete(name)
        context.data_sources.delete(name)
    return list(result.results)


def _has_validation(context, name: str) -> bool:
    return any(v.name == name for v in context.validation_definitions.all())


def _outcome(results: Iterable[Any]) -> SuiteOutcome:
    results = list(results)
    failed = {
        r.expectation_config.meta["rule"]: int(r.result.get("unexpected_count") or 0)
        for r in results
        if not r.success
    }
    return SuiteOutcome(success=not failed, failed_rows_by_rule=failed, evaluated_expectations=len(results))


def _to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    pdf = frame.select(*KEY_COLUMNS, *VALUE_COLUMNS).to_pandas()
    pdf["trade_date"] = frame["trade_date"].dt.strftime("%Y-%m-%d").to_pandas()
    return pdf


def split_valid_rejected(batch: pl.DataFrame, sessions: Iterable[date]) -> PriceSplit:
    """Run the row suite on ``batch`` (frame of :func:`reader.read_prices_csv`) and split it.

    ``sessions``: the exchange sessions the batch may contain.
    Returns valid rows (input columns) and rejected rows (input columns + ``reason``).
    """
    session_strings = tuple(d.isoformat() for d in sessions)
    results = _run(_row_suite(session_strings), _to_pandas(batch))
    reasons: dict[int, list[str]] = {}
    for r in results:
        if r.success:
            continue
        rule = r.expectation_config.meta["rule"]
        indexes = r.result.get("unexpected_index_list")
        if indexes is None:
            raise RuntimeError(f"Great Expectations gave no row indexes for failed rule {rule}")
        for index in indexes:
            reasons.setdefault(int(index), []).append(rule)
    reason_column = pl.Series(
        "reason", ["; ".join(reasons[i]) if i in reasons else None for i in range(batch.height)], dtype=pl.Utf8
    )
    labelled = batch.with_columns(reason_column)
    return PriceSplit(
        valid=labelled.filter(pl.col("reason").is_null()).drop("reason"),
        rejected=labelled.filter(pl.col("reason").is_not_null()),
        input_outcome=_outcome(results),
    )


def validate_rows(frame: pl.DataFrame, sessions: Iterable[date]) -> SuiteOutcome:
    """Run the row suite on already-split valid rows (it must pass)."""
    session_strings = tuple(d.isoformat() for d in sessions)
    return _outcome(_run(_row_suite(session_strings), _to_pandas(frame)))


def validate_completeness(per_day: pl.DataFrame) -> SuiteOutcome:
    """Run the completeness suite on a frame with columns ``trade_date, rows, universe, completeness``."""
    return _outcome(_run(_completeness_suite(), per_day.to_pandas()))

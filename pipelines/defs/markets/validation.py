"""Great Expectations row suites of the Korean reference files, and the split they drive.

Each suite runs on the whole parsed file (pandas, ``COMPLETE`` result format); the unexpected
row indexes of each expectation name the rows that fail it. :func:`split_valid_rejected`
quarantines those rows with the failed rule names joined by ``"; "`` as ``reason`` (nothing is
dropped: input rows = valid + rejected) and runs the suite again on the valid rows (it must
pass: those are the rows loaded).

Rule names (the ``reason`` values of the ``raw.rejected_*`` tables):

``market_indices_rows`` (``raw.rejected_market_indices``)
    ``<col>_not_null`` (index_code, trade_date, close); ``index_code_format`` (2-16 of A-Z, 0-9);
    ``duplicate_row`` (the same values as an earlier line: the later one is quarantined);
    ``index_code_trade_date_unique`` (two different rows for one index and day: both);
    ``<price>_positive`` (open, high, low, close: a zero or negative price; an EMPTY open, high
    or low passes: not published, e.g. KOSPI 200's opens before 1995-01-30); ``low_le_open``,
    ``open_le_high``, ``low_le_close``, ``close_le_high``, ``low_le_high`` (checked where both
    values are there); ``volume_non_negative``, ``amount_non_negative``,
    ``market_cap_positive``; ``trade_date_in_range`` (from the exchange's opening,
    :data:`KRX_OPENED`, to the load day).
``krx_listing_rows`` (``raw.rejected_krx_listing``)
    ``<col>_not_null`` (ticker, company_name, market); ``ticker_format`` (6 of 0-9, A-Z: a KRX
    short code); ``market_known`` (:data:`KRX_BOARDS`); ``duplicate_row``; ``ticker_unique``.
``krx_industry_rows`` (``raw.rejected_krx_industry``)
    the listing's rules, plus ``listing_date_in_range`` (:data:`KRX_OPENED` .. the load day),
    ``fiscal_year_end_month_format`` (a month text that is not ``<n>월``) and
    ``fiscal_year_end_month_in_1_12``. An empty industry or listing date passes (not
    published: 113 rows of the 2026 file, mostly preferred shares).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd
import polars as pl

from pipelines.lib import expectations
from pipelines.lib.expectations import SuiteOutcome

#: The Korea Stock Exchange opened on 1956-03-03: no listing or index day is earlier.
KRX_OPENED = date(1956, 3, 3)
#: The boards a KRX listing file names (KOSDAQ GLOBAL is a KOSDAQ segment, KONEX the SME market).
KRX_BOARDS = ("KOSPI", "KOSDAQ", "KOSDAQ GLOBAL", "KONEX")
INDEX_CODE_PATTERN = r"^[A-Z0-9]{2,16}$"
KRX_TICKER_PATTERN = r"^[0-9A-Z]{6}$"

#: Helper columns the suites read besides the data columns (never stored).
_KEY, _REPEAT, _MONTH_UNREADABLE = "_key", "_repeat", "_month_unreadable"


@dataclass(frozen=True)
class Split:
    """A file split by its row suite: ``valid`` (input columns), ``rejected`` (input columns +
    ``reason``), the suite's outcome on the input and on the valid rows."""

    valid: pl.DataFrame
    rejected: pl.DataFrame
    input_outcome: SuiteOutcome
    valid_outcome: SuiteOutcome


@dataclass(frozen=True)
class RowSuite:
    """One file's suite: ``name``, the key columns that must be unique (``key``), and
    ``build(today)`` returning the GE suite."""

    name: str
    key: tuple[str, ...]
    build: Callable[[date], object]


def _expect():
    expectations.context()  # suites need an active context
    return expectations.gx().expectations


def _not_null(suite, columns: tuple[str, ...]) -> None:
    expect = _expect()
    for column in columns:
        suite.add_expectation(expect.ExpectColumnValuesToNotBeNull(column=column, meta={"rule": f"{column}_not_null"}))


def _unique(suite, rule: str) -> None:
    expect = _expect()
    suite.add_expectation(
        expect.ExpectColumnValuesToBeInSet(column=_REPEAT, value_set=[False], meta={"rule": "duplicate_row"})
    )
    suite.add_expectation(expect.ExpectColumnValuesToBeUnique(column=_KEY, meta={"rule": rule}))


def _timestamp(day: date) -> pd.Timestamp:
    return pd.Timestamp(day)


def _date_range(suite, column: str, today: date, rule: str) -> None:
    suite.add_expectation(
        _expect().ExpectColumnValuesToBeBetween(
            column=column, min_value=_timestamp(KRX_OPENED), max_value=_timestamp(today), meta={"rule": rule}
        )
    )


def _index_suite(today: date):
    expect = _expect()
    suite = expectations.gx().ExpectationSuite(name="market_indices_rows")
    _not_null(suite, ("index_code", "trade_date", "close"))
    suite.add_expectation(
        expect.ExpectColumnValuesToMatchRegex(
            column="index_code", regex=INDEX_CODE_PATTERN, meta={"rule": "index_code_format"}
        )
    )
    _unique(suite, "index_code_trade_date_unique")
    for column in ("open", "high", "low", "close"):
        suite.add_expectation(
            expect.ExpectColumnValuesToBeBetween(
                column=column, min_value=0, strict_min=True, meta={"rule": f"{column}_positive"}
            )
        )
    for greater, smaller in (("open", "low"), ("high", "open"), ("close", "low"), ("high", "close"), ("high", "low")):
        suite.add_expectation(
            expect.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=greater, column_B=smaller, or_equal=True, ignore_row_if="either_value_is_missing",
                meta={"rule": f"{smaller}_le_{greater}"},
            )
        )  # fmt: skip
    for column in ("volume", "amount"):
        suite.add_expectation(
            expect.ExpectColumnValuesToBeBetween(column=column, min_value=0, meta={"rule": f"{column}_non_negative"})
        )
    suite.add_expectation(
        expect.ExpectColumnValuesToBeBetween(
            column="market_cap", min_value=0, strict_min=True, meta={"rule": "market_cap_positive"}
        )
    )
    _date_range(suite, "trade_date", today, "trade_date_in_range")
    return suite


def _listing_rules(suite) -> None:
    expect = _expect()
    _not_null(suite, ("ticker", "company_name", "market"))
    suite.add_expectation(
        expect.ExpectColumnValuesToMatchRegex(column="ticker", regex=KRX_TICKER_PATTERN, meta={"rule": "ticker_format"})
    )
    suite.add_expectation(
        expect.ExpectColumnValuesToBeInSet(column="market", value_set=list(KRX_BOARDS), meta={"rule": "market_known"})
    )
    _unique(suite, "ticker_unique")


def _listing_suite(today: date):
    suite = expectations.gx().ExpectationSuite(name="krx_listing_rows")
    _listing_rules(suite)
    return suite


def _industry_suite(today: date):
    expect = _expect()
    suite = expectations.gx().ExpectationSuite(name="krx_industry_rows")
    _listing_rules(suite)
    _date_range(suite, "listing_date", today, "listing_date_in_range")
    suite.add_expectation(
        expect.ExpectColumnValuesToBeInSet(
            column=_MONTH_UNREADABLE, value_set=[False], meta={"rule": "fiscal_year_end_month_format"}
        )
    )
    suite.add_expectation(
        expect.ExpectColumnValuesToBeBetween(
            column="fiscal_year_end_month", min_value=1, max_value=12, meta={"rule": "fiscal_year_end_month_in_1_12"}
        )
    )
    return suite


INDEX_SUITE = RowSuite("market_indices_rows", ("index_code", "trade_date"), _index_suite)
LISTING_SUITE = RowSuite("krx_listing_rows", ("ticker",), _listing_suite)
INDUSTRY_SUITE = RowSuite("krx_industry_rows", ("ticker",), _industry_suite)


def _to_pandas(frame: pl.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    """The data columns (dates as pandas timestamps, NaT for NULL) plus the helper columns: ``_repeat`` (the row equals
    an earlier row in every data column), ``_key`` (the key columns as one text, NULL on a
    repeat, so that a repeat is reported once, as ``duplicate_row``) and, for the industry file,
    ``_month_unreadable``."""
    data = [c for c in frame.columns if c != "source_line"]
    helpers = frame.with_columns(
        pl.struct(data).is_first_distinct().not_().alias(_REPEAT),
    ).with_columns(
        pl.when(pl.col(_REPEAT)).then(None).otherwise(pl.concat_str([pl.col(c).cast(pl.Utf8) for c in key], separator="|"))
        .alias(_KEY),
    )  # fmt: skip
    if "fiscal_year_end_month_as_published" in frame.columns:
        helpers = helpers.with_columns(
            (pl.col("fiscal_year_end_month_as_published").is_not_null() & pl.col("fiscal_year_end_month").is_null())
            .alias(_MONTH_UNREADABLE)
        )  # fmt: skip
    dates = [c for c, dtype in frame.schema.items() if dtype == pl.Date]
    return helpers.drop("source_line").with_columns(pl.col(dates).cast(pl.Datetime("us"))).to_pandas()


def split_valid_rejected(frame: pl.DataFrame, row_suite: RowSuite, today: date) -> Split:
    """Run ``row_suite`` (its rules as of ``today``, the last valid date) on ``frame`` (a reader's
    frame, ``source_line`` first) and split it; then run it on the valid rows.

    Raises:
        RuntimeError: GE could not attribute a failed rule to rows
            (:func:`pipelines.lib.expectations.failed_rules_by_row`).
    """
    suite = row_suite.build(today)
    results = expectations.run_suite(suite, _to_pandas(frame, row_suite.key))
    valid, rejected = expectations.split_by_reason(frame, results)
    valid_outcome = expectations.outcome(expectations.run_suite(suite, _to_pandas(valid, row_suite.key)))
    return Split(
        valid=valid,
        rejected=rejected,
        input_outcome=expectations.outcome(results),
        valid_outcome=valid_outcome,
    )

"""Great Expectations row suites of the Korean fundamentals, and the split they drive.

Each suite runs on a pandas copy of the batch with the ``COMPLETE`` result format; the
unexpected row indexes of each expectation name the rows to quarantine (reason = the failed rule
names joined by ``"; "``), so ``input rows = loaded + rejected``. Run again on the stored rows
(the blocking check ``rows_pass_expectations``), the suite must pass.

``dart_key_accounts_rows`` (rule names = ``reason`` values of ``raw.rejected_dart_key_accounts``):
``<column>_not_null`` for ``corp_name``, ``stock_code``, ``market``, ``corp_code``,
``fiscal_year``, ``period_end``; ``stock_code_is_krx_code`` (6 characters, digits or capital
letters: ``005930``); ``corp_code_is_dart_code`` (8 digits); ``market_is_korean`` (a market of
the markets seed on the ``XKRX`` calendar: KOSPI, KOSDAQ); ``fiscal_year_in_range`` (1980 .. the
load's year); ``period_end_in_fiscal_year`` (the period ends in the fiscal year or, for a fiscal
year not ending in December, the year after); ``stock_code_fiscal_year_unique``;
``total_assets_positive``; ``total_equity_le_total_assets``; ``revenue_non_negative``. Missing
accounts (NULL revenue, EPS, ...) are data, not errors: the models say why a ratio is NULL.

``krx_vendor_valuation_rows`` (``raw.rejected_krx_vendor_valuation``): ``ticker_not_null``,
``trade_date_not_null``, ``ticker_is_krx_code``, ``per_non_negative``, ``pbr_non_negative``,
``dps_non_negative``, ``dividend_yield_pct_in_range`` (0 .. 100 percent), ``close_positive``;
on the stored table also ``ticker_trade_date_unique`` (the load keeps one row per key, see
:mod:`pipelines.defs.fundamentals.krx_valuation`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import polars as pl

from domain.markets import markets
from pipelines.lib import expectations

KRX_CODE_PATTERN = r"^[0-9A-Z]{6}$"
DART_CODE_PATTERN = r"^[0-9]{8}$"
FIRST_FISCAL_YEAR = 1980
DART_REQUIRED = ("corp_name", "stock_code", "market", "corp_code", "fiscal_year", "period_end")


def korean_markets() -> tuple[str, ...]:
    """Codes of the markets seed on the Korea Exchange calendar (``XKRX``): KOSPI, KOSDAQ."""
    return tuple(code for code, market in markets().items() if market.exchange_calendar == "XKRX")


def _new_suite(name: str):
    gx = expectations.gx()
    expectations.context()  # suites need an active context
    return gx, gx.ExpectationSuite(name=name)


def dart_suite(last_fiscal_year: int):
    """The ``dart_key_accounts_rows`` suite; ``last_fiscal_year`` bounds ``fiscal_year_in_range``."""
    gx, suite = _new_suite("dart_key_accounts_rows")
    expect = gx.expectations
    for column in DART_REQUIRED:
        suite.add_expectation(expect.ExpectColumnValuesToNotBeNull(column=column, meta={"rule": f"{column}_not_null"}))
    suite.add_expectation(
        expect.ExpectColumnValuesToMatchRegex(
            column="stock_code", regex=KRX_CODE_PATTERN, meta={"rule": "stock_code_is_krx_code"}
        )
    )
    suite.add_expectation(
        expect.ExpectColumnValuesToMatchRegex(
            column="corp_code", regex=DART_CODE_PATTERN, meta={"rule": "corp_code_is_dart_code"}
        )
    )
    suite.add_expectation(
        expect.ExpectColumnValuesToBeInSet(
            column="market", value_set=list(korean_markets()), meta={"rule": "market_is_korean"}
        )
    )
    suite.add_expectation(
        expect.ExpectColumnValuesToBeBetween(
            column="fiscal_year", min_value=FIRST_FISCAL_YEAR, max_value=last_fiscal_year,
            meta={"rule": "fiscal_year_in_range"},
        )
    )  # fmt: skip
    suite.add_expectation(
        expect.ExpectColumnValuesToBeBetween(
            column="period_end_year_after_fiscal_year", min_value=0, max_value=1,
            meta={"rule": "period_end_in_fiscal_year"},
        )
    )  # fmt: skip
    suite.add_expectation(
        expect.ExpectCompoundColumnsToBeUnique(
            column_list=["stock_code", "fiscal_year"], meta={"rule": "stock_code_fiscal_year_unique"}
        )
    )
    suite.add_expectation(
        expect.ExpectColumnValuesToBeBetween(
            column="total_assets", min_value=0, strict_min=True, meta={"rule": "total_assets_positive"}
        )
    )
    suite.add_expectation(
        expect.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="total_assets", column_B="total_equity", or_equal=True,
            ignore_row_if="either_value_is_missing", meta={"rule": "total_equity_le_total_assets"},
        )
    )  # fmt: skip
    suite.add_expectation(
        expect.ExpectColumnValuesToBeBetween(column="revenue", min_value=0, meta={"rule": "revenue_non_negative"})
    )
    return suite


def dart_frame_for_suite(frame: pl.DataFrame) -> pd.DataFrame:
    """The columns :func:`dart_suite` reads: dates as ``YYYY-MM-DD`` text, amounts as floats (NaN
    for NULL), and ``period_end_year_after_fiscal_year`` = year(period_end) - fiscal_year."""
    return frame.select(
        *DART_REQUIRED[:4],
        pl.col("fiscal_year").cast(pl.Float64),
        pl.col("period_end").dt.strftime("%Y-%m-%d"),
        (pl.col("period_end").dt.year() - pl.col("fiscal_year")).cast(pl.Float64).alias("period_end_year_after_fiscal_year"),
        *(pl.col(c).cast(pl.Float64) for c in ("total_assets", "total_equity", "revenue")),
    ).to_pandas()


def vendor_suite(with_key_uniqueness: bool):
    """The ``krx_vendor_valuation_rows`` suite (with ``ticker_trade_date_unique`` on the stored table)."""
    gx, suite = _new_suite("krx_vendor_valuation_rows")
    expect = gx.expectations
    for column in ("ticker", "trade_date"):
        suite.add_expectation(expect.ExpectColumnValuesToNotBeNull(column=column, meta={"rule": f"{column}_not_null"}))
    suite.add_expectation(
        expect.ExpectColumnValuesToMatchRegex(column="ticker", regex=KRX_CODE_PATTERN, meta={"rule": "ticker_is_krx_code"})
    )
    for column in ("per", "pbr", "dps"):
        suite.add_expectation(
            expect.ExpectColumnValuesToBeBetween(column=column, min_value=0, meta={"rule": f"{column}_non_negative"})
        )
    suite.add_expectation(
        expect.ExpectColumnValuesToBeBetween(
            column="dividend_yield_pct", min_value=0, max_value=100, meta={"rule": "dividend_yield_pct_in_range"}
        )
    )
    suite.add_expectation(
        expect.ExpectColumnValuesToBeBetween(column="close", min_value=0, strict_min=True, meta={"rule": "close_positive"})
    )
    if with_key_uniqueness:
        suite.add_expectation(
            expect.ExpectCompoundColumnsToBeUnique(
                column_list=["ticker", "trade_date"], meta={"rule": "ticker_trade_date_unique"}
            )
        )
    return suite


def vendor_frame_for_suite(frame: pl.DataFrame) -> pd.DataFrame:
    """The columns :func:`vendor_suite` reads (dates as text, numbers as floats)."""
    return frame.select(
        "ticker",
        pl.col("trade_date").dt.strftime("%Y-%m-%d"),
        *(pl.col(c).cast(pl.Float64) for c in ("per", "pbr", "dps", "dividend_yield_pct", "close")),
    ).to_pandas()


@dataclass(frozen=True)
class RowSplit:
    """A batch split by a row suite: ``valid`` (input columns), ``rejected`` (input columns +
    ``reason``), and the suite's outcome on the batch."""

    valid: pl.DataFrame
    rejected: pl.DataFrame
    outcome: expectations.SuiteOutcome


def split_valid_rejected(frame: pl.DataFrame, suite, to_pandas: Callable[[pl.DataFrame], pd.DataFrame]) -> RowSplit:
    """Run ``suite`` on ``to_pandas(frame)`` and split ``frame`` by it (nothing is dropped)."""
    if frame.height == 0:
        return RowSplit(frame, frame.with_columns(reason=pl.lit(None, pl.Utf8)), expectations.SuiteOutcome(True, {}, 0))
    results = expectations.run_suite(suite, to_pandas(frame))
    valid, rejected = expectations.split_by_reason(frame, results)
    return RowSplit(valid=valid, rejected=rejected, outcome=expectations.outcome(results))


def validate(frame: pl.DataFrame, suite, to_pandas: Callable[[pl.DataFrame], pd.DataFrame]) -> expectations.SuiteOutcome:
    """The outcome of ``suite`` on ``frame`` (the stored rows: it must pass)."""
    if frame.height == 0:
        return expectations.SuiteOutcome(True, {}, 0)
    return expectations.outcome(expectations.run_suite(suite, to_pandas(frame)))

"""Great Expectations suites for daily OHLCV batches.

Two suites, both run on pandas frames (GE 1.x's SQL path does not work on DuckDB):

* ``prices_daily_rows`` — row rules. Run on the parsed input batch with the
  ``COMPLETE`` result format, the unexpected row indexes of each expectation tell
  which rows fail which rule. :func:`split_valid_rejected` uses them to quarantine
  rows (reason = the failed rule names joined by ``"; "``); nothing is dropped, so
  ``input rows = valid + rejected``. Run again on the valid rows, the suite must pass.
* ``prices_daily_completeness`` — one row per trade_date with
  ``rows / universe >= 0.95`` wherever ``missing >= 3`` tickers (``row_condition``), where the
  universe of a day is the tickers whose history spans it (see
  :mod:`pipelines.defs.prices.completeness`).

Rule names (the ``reason`` values in ``raw.rejected_prices``): ``<col>_not_null``,
``ticker_trade_date_unique``, ``low_le_open``, ``open_le_high``, ``low_le_close``,
``close_le_high``, ``<price>_positive``, ``volume_non_negative``,
``trade_date_is_session`` (a session of the feed's exchange calendar: XNYS, XKRX),
``market_known`` (a market of the feed: ``US``; ``KOSPI`` or ``KOSDAQ``), ``ticker_format`` (the
feed's ticker pattern: a 6-character KRX code).

Halt rows (``is_halted``: open = high = low = 0, volume 0) are validated as the flat bar they
stand for: the suite sees open = high = low = close, so a halt passes when its close is a valid
price; a zero price with volume is no halt and fails ``<price>_positive``. They are stored as the
source wrote them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date

import pandas as pd
import polars as pl

from pipelines.defs.prices.completeness import COMPLETENESS_MIN_MISSING, COMPLETENESS_THRESHOLD
from pipelines.defs.prices.sources import halt_flag
from pipelines.lib import expectations
from pipelines.lib.expectations import SuiteOutcome

KEY_COLUMNS = ("ticker", "trade_date", "market")
VALUE_COLUMNS = ("open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close")


@dataclass(frozen=True)
class PriceSplit:
    """A batch split by the row suite. ``rejected`` has the input columns plus ``reason``.
    ``input_outcome``: the suite on the batch; ``valid_outcome``: the suite run again on the
    valid rows (it must pass: the rows that are loaded)."""

    valid: pl.DataFrame
    rejected: pl.DataFrame
    input_outcome: SuiteOutcome
    valid_outcome: SuiteOutcome


#: Upper bound of a price (any currency): a sanity cap that rejects ``inf``.
MAX_PRICE = 1e12


def _row_suite(sessions: tuple[str, ...], markets: tuple[str, ...], ticker_pattern: str | None):
    gx = expectations.gx()
    expectations.context()  # suites need an active context
    expect = gx.expectations
    suite = gx.ExpectationSuite(name="prices_daily_rows")
    for column in (*KEY_COLUMNS, *VALUE_COLUMNS):
        suite.add_expectation(expect.ExpectColumnValuesToNotBeNull(column=column, meta={"rule": f"{column}_not_null"}))
    suite.add_expectation(
        expect.ExpectCompoundColumnsToBeUnique(column_list=["ticker", "trade_date"], meta={"rule": "ticker_trade_date_unique"})
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
        suite.add_expectation(  # `inf` reads as a number but is no price
            expect.ExpectColumnValuesToBeBetween(
                column=column, max_value=MAX_PRICE, strict_max=True, meta={"rule": f"{column}_finite"}
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
    suite.add_expectation(
        expect.ExpectColumnValuesToBeInSet(column="market", value_set=list(markets), meta={"rule": "market_known"})
    )
    if ticker_pattern:
        suite.add_expectation(
            expect.ExpectColumnValuesToMatchRegex(column="ticker", regex=ticker_pattern, meta={"rule": "ticker_format"})
        )
    return suite


def _completeness_suite():
    from great_expectations.expectations.row_conditions import Column

    gx = expectations.gx()
    expectations.context()
    suite = gx.ExpectationSuite(name="prices_daily_completeness")
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="completeness",
            min_value=COMPLETENESS_THRESHOLD,
            row_condition=Column("missing") >= COMPLETENESS_MIN_MISSING,
            meta={"rule": "completeness_ge_95pct"},
        )
    )
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToNotBeNull(column="completeness", meta={"rule": "universe_known"})
    )
    return suite


def _to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    halted = pl.col("is_halted").fill_null(False)
    flat = [pl.when(halted).then(pl.col("close")).otherwise(pl.col(c)).alias(c) for c in ("open", "high", "low")]
    pdf = frame.with_columns(flat).select(*KEY_COLUMNS, *VALUE_COLUMNS).to_pandas()
    pdf["trade_date"] = frame["trade_date"].dt.strftime("%Y-%m-%d").to_pandas()
    return pdf


def split_valid_rejected(
    batch: pl.DataFrame,
    sessions: Iterable[date],
    on_chunk: Callable[[int, int], None] | None = None,
    markets: Iterable[str] = ("US",),
    ticker_pattern: str | None = None,
) -> PriceSplit:
    """Run the row suite on ``batch`` (a frame of :data:`pipelines.defs.prices.sources.BATCH_COLUMNS`)
    and split it.

    ``sessions``: the exchange sessions the batch may contain; ``markets``: the markets its rows
    may name (a batch without a ``market`` column is of the first; without ``is_halted``, halts
    are flagged with :func:`~pipelines.defs.prices.sources.halt_flag`); ``ticker_pattern``: the
    feed's ticker format (None: any). ``on_chunk(done, total)`` is
    called after each chunk (progress of a long load).
    Returns valid rows (input columns) and rejected rows (input columns + ``reason``), and the
    suite's outcome on the batch and on the valid rows. Both runs go chunk by chunk (whole
    tickers, :func:`ticker_chunks`): the valid rows of a chunk are re-validated while the chunk
    is in memory, not in a second pass over the whole batch.
    """
    markets = tuple(markets)
    if "market" not in batch.columns:  # a reader's frame: the rows of the feed's first market
        batch = batch.with_columns(market=pl.lit(markets[0]))
    if "is_halted" not in batch.columns:
        batch = batch.with_columns(halt_flag())
    suite = _row_suite(tuple(d.isoformat() for d in sessions), markets, ticker_pattern)
    valid, rejected, outcomes, valid_outcomes = [], [], [], []
    total = ticker_chunk_count(batch) if on_chunk else 0
    for done, chunk in enumerate(ticker_chunks(batch), start=1):
        results = expectations.run_suite(suite, _to_pandas(chunk))
        reasons = expectations.failed_rules_by_row(results)
        if reasons:
            failing = sorted(reasons)
            reason_column = pl.repeat(None, chunk.height, dtype=pl.Utf8, eager=True).alias("reason")
            reason_column = reason_column.scatter(failing, ["; ".join(reasons[i]) for i in failing])
            labelled = chunk.with_columns(reason_column)
            passed = _without_rows(chunk, failing)
            rejected.append(labelled.filter(pl.col("reason").is_not_null()))
        else:
            passed = chunk  # nothing rejected: the chunk as it is (a slice of the batch, no copy)
        valid.append(passed)
        outcomes.append(expectations.outcome(results))
        valid_outcomes.append(expectations.outcome(expectations.run_suite(suite, _to_pandas(passed))))
        if on_chunk:
            on_chunk(done, total)
    return PriceSplit(
        # the chunks as they are (no copy into one buffer: a whole batch more at 24 M rows)
        valid=pl.concat(valid, rechunk=False),
        rejected=pl.concat(rejected) if rejected else batch.clear().with_columns(reason=pl.lit(None, dtype=pl.Utf8)),
        input_outcome=expectations.combined_outcome(outcomes),
        valid_outcome=expectations.combined_outcome(valid_outcomes),
    )


#: Up to this many rejected rows, a chunk's valid rows are the slices between them (views of the
#: chunk, no copy: at 24 M rows a copy of the whole batch); beyond it, a filtered copy.
MAX_SLICED_REJECTIONS = 64


def _without_rows(chunk: pl.DataFrame, rows: list[int]) -> pl.DataFrame:
    """``chunk`` without the rows at the sorted positions ``rows``, in order."""
    if len(rows) > MAX_SLICED_REJECTIONS:
        return chunk.with_row_index("_row").filter(~pl.col("_row").is_in(rows)).drop("_row")
    pieces, start = [], 0
    for row in rows:
        if row > start:
            pieces.append(chunk.slice(start, row - start))
        start = row + 1
    if start < chunk.height:
        pieces.append(chunk.slice(start))
    return pl.concat(pieces, rechunk=False) if pieces else chunk.clear()


#: Rows per Great Expectations run. A batch is validated in chunks of whole tickers of about
#: this size: memory stays bounded (GE's pandas copies and row-index lists), the 25 M-row scale
#: benchmark included, and the (ticker, trade_date) uniqueness rule sees every row of a ticker.
GE_CHUNK_ROWS = 2_000_000


def ticker_chunk_count(frame: pl.DataFrame, chunk_rows: int | None = None) -> int:
    """How many frames :func:`ticker_chunks` splits ``frame`` into (same arguments)."""
    chunk_rows = chunk_rows or GE_CHUNK_ROWS
    if frame.height <= chunk_rows:
        return 1
    sizes = frame.group_by("ticker", maintain_order=True).len()
    return int(((sizes["len"].cum_sum() - sizes["len"]) // chunk_rows).n_unique())


def ticker_chunks(frame: pl.DataFrame, chunk_rows: int | None = None) -> Iterator[pl.DataFrame]:
    """``frame`` split into frames of whole tickers (rows without a ticker together), each of
    about ``chunk_rows`` rows (default :data:`GE_CHUNK_ROWS`; one ticker's rows are never split),
    in the frame's row order; one frame when it is smaller. When each ticker's rows are
    contiguous the chunks are slices of ``frame`` (no copy); otherwise each chunk is filtered out
    when it is asked for, so one chunk's copy is alive at a time (not a second copy of ``frame``)."""
    chunk_rows = chunk_rows or GE_CHUNK_ROWS
    if frame.height <= chunk_rows:
        yield frame
        return
    sizes = frame.group_by("ticker", maintain_order=True).len()
    chunk_of = sizes.select("ticker", chunk=(pl.col("len").cum_sum() - pl.col("len")) // chunk_rows)
    if frame.select(pl.col("ticker").rle_id().max()).item() + 1 == sizes.height:
        # each ticker's rows are contiguous (a file sorted or grouped by ticker, the usual
        # layout): the chunks are slices, views of ``frame`` without a copy
        lengths = sizes.with_columns(chunk_of["chunk"]).group_by("chunk", maintain_order=True).agg(pl.col("len").sum())
        offset = 0
        for length in lengths["len"]:
            yield frame.slice(offset, length)
            offset += length
        return
    for (_,), tickers in chunk_of.group_by("chunk", maintain_order=True):
        names = tickers["ticker"]
        in_chunk = pl.col("ticker").is_in(names.drop_nulls().implode())
        if names.null_count():
            in_chunk = in_chunk | pl.col("ticker").is_null()
        yield frame.filter(in_chunk)


def validate_completeness(per_day: pl.DataFrame) -> SuiteOutcome:
    """Run the completeness suite on a frame with columns ``trade_date, rows, universe, missing,
    completeness`` (:attr:`Completeness.per_day <pipelines.defs.prices.completeness.Completeness>`)."""
    return expectations.outcome(expectations.run_suite(_completeness_suite(), per_day.to_pandas()))

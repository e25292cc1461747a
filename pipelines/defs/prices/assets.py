"""``raw.prices_daily``: daily OHLCV of every market, validated, loaded per price feed and session window.

A run loads the price feeds of its config (``price_feeds``; default ``PRICE_FEEDS``, ``us`` and
``krx``; :mod:`pipelines.defs.prices.feeds`), each from its source
(:mod:`pipelines.defs.prices.sources`): ``us`` from ``PRICE_SOURCE``, the CSV file (default, the
bundled S&P 500 file) or Yahoo's chart API (one request per ticker of the universe and run window,
raw responses kept and reused); ``krx`` from ``KRX_PRICES_CSV`` (KOSPI and KOSDAQ). For each feed it
loads the sessions ``first..last`` of its config on the feed's calendar
(:mod:`pipelines.defs.prices.window`; default the source's whole history) and records one
materialization whatever the number of sessions and feeds (Dagster partitions would record two
events per session; see :mod:`pipelines.lib.sessions`). For each feed a run:

1. reads the source: the whole file strictly (a malformed file stops here, nothing written),
   or the window from Yahoo (an HTTP or body error stops here, nothing written; a ticker
   Yahoo does not know (404) is skipped and listed in the metadata);
2. puts every source row in one category (:mod:`pipelines.defs.prices.reconciliation`): the
   batch = rows with ``first <= trade_date < next session after last`` (a weekend- or
   holiday-dated row falls into the preceding session's batch, where the calendar rule rejects
   it; identical duplicates collapse to one row), rows outside the session span (rejected with
   a reason), rows of other sessions (counted, left to their runs);
3. splits the batch with the Great Expectations row suite: failing rows go to
   ``raw.rejected_prices`` with the failed rules, the others to ``raw.prices_daily``;
   both tables' rows of the feed's markets and window, the feed's rejections outside the session
   span and the run's ``raw.price_load_reconciliation`` rows are replaced in one transaction for
   all feeds of the run (idempotent reruns; one feed's run leaves the other markets' rows alone).
   Before that, a load that would leave far fewer rows in the window than are stored there (an
   empty or truncated file) fails without writing anything, unless the run allows it
   (:class:`PricesConfig` ``allow_shrink``, ``python -m pipelines.build --allow-shrink``);
4. yields two blocking asset checks over all its feeds (metadata per feed under ``per_feed``): the row suite re-run on the loaded rows together with the
   reconciliation read back from the warehouse (source rows = loaded + rejected + the other
   categories, and the tables hold exactly those rows), and per-session completeness (see
   :mod:`pipelines.defs.prices.completeness`). A failure skips the downstream dbt models of
   the run.
"""

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from domain.calendar import sessions_between
from domain.warehouse import Replacement
from pipelines.defs.prices.completeness import COMPLETENESS_MIN_MISSING, COMPLETENESS_THRESHOLD, session_completeness
from pipelines.defs.prices.feeds import PriceFeed, price_feed
from pipelines.defs.prices.reconciliation import Classified, classify, reconciliation_frame
from pipelines.defs.prices.sources import PriceBatch, read_price_batch, yahoo_universe
from pipelines.defs.prices.tables import (
    ensure_price_tables,
    prices_table,
    reconciliation_table,
    rejected_table,
)
from pipelines.defs.prices.validation import (
    PriceSplit,
    split_valid_rejected,
    validate_completeness,
)
from pipelines.defs.prices.window import WindowError, resolve_window
from pipelines.lib.expectations import combined_outcome
from pipelines.lib.progress import progress_message
from pipelines.lib.resources import (
    KoreanMarketFilesResource,
    PriceSourceResource,
    RawResponsesResource,
    WarehouseResource,
)
from pipelines.lib.sessions import session_span

PRICES_KEY = ["raw", "prices_daily"]
ROWS_CHECK = "rows_pass_expectations"
COMPLETENESS_CHECK = "daily_completeness"


#: A load may leave fewer rows in its window than are stored there by at most this share and
#: this many rows, unless the run allows it (``allow_shrink``): an empty or truncated file must
#: not wipe the warehouse.
SHRINK_SHARE = 0.05
SHRINK_ROWS = 100


class PricesConfig(Config):
    """Run configuration of ``raw/prices_daily``: the feeds and sessions to load and the shrink guard."""

    price_feeds: list[str] | None = Field(
        default=None,
        description="Price feeds to load (us, krx); default: PRICE_FEEDS (both). The other feeds' rows "
        "stay as they are.",
    )
    first_session: str | None = Field(
        default=None,
        description="First session to load (YYYY-MM-DD, a session of each loaded feed's calendar: XNYS "
        "for us, XKRX for krx); default: the source's first session on or after HISTORY_START.",
    )
    last_session: str | None = Field(
        default=None,
        description="Last session to load (YYYY-MM-DD); default: the latest session the source has.",
    )

    allow_shrink: bool = Field(
        default=False,
        description="Accept a load that leaves far fewer rows in its window than are stored there "
        f"(more than {SHRINK_SHARE:.0%} and {SHRINK_ROWS} rows fewer): an intended deletion, not an "
        "empty or truncated file (python -m pipelines.build --allow-shrink).",
    )


def shrink_problem(stored: int, loading: int, allow_shrink: bool) -> str | None:
    """Why replacing ``stored`` rows of a window by ``loading`` rows is refused (None: it is not)."""
    removed = stored - loading
    if allow_shrink or removed <= SHRINK_ROWS or removed <= stored * SHRINK_SHARE:
        return None
    return (
        f"refusing to replace the {stored:,} stored rows of this window by {loading:,} rows "
        f"({removed:,} fewer): the file looks empty or truncated. Nothing was changed; the warehouse "
        "and the published snapshot keep the previous build. If the deletion is intended, rerun with "
        "--allow-shrink (run config allow_shrink: true)."
    )


def _stored_counts(wh, load: "FeedLoad") -> dict[str, int]:
    """The rows the warehouse holds for this feed's run after the write (read back, not assumed)."""
    feed_rejects = "price_feed = ? and "
    loaded = wh.fetch_frame(
        f"select count(*) as n from {prices_table(wh)} where {load.prices_filter}", list(load.prices_params)
    )
    rejected = wh.fetch_frame(
        f"select count(*) as n from {rejected_table(wh)} where {feed_rejects}{WINDOW_FILTER}",
        [load.feed.name, *load.window],
    )
    outside = wh.fetch_frame(
        f"select count(*) as n from {rejected_table(wh)} where {feed_rejects}{OUTSIDE_FILTER}",
        [load.feed.name, *load.span],
    )
    return {
        "window_loaded": int(loaded["n"][0]),
        "window_rejected": int(rejected["n"][0]),
        "rejected_outside_sessions": int(outside["n"][0]),
    }


def _markdown_table(frame: pl.DataFrame, limit: int = 25) -> str:
    head = frame.head(limit)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in head.iter_rows()]
    return "\n".join(lines)


WINDOW_FILTER = "trade_date >= ? and trade_date < ?"
OUTSIDE_FILTER = "(trade_date < ? or trade_date >= ?)"


@dataclass(frozen=True)
class FeedLoad:
    """One feed's part of a run, read and validated, before the write: its ``window``
    ``[first, end)`` and session ``span`` (calendar days), ``sessions``, the ``source`` batch's
    description and metadata, the classified rows and the row suite's split, and the frames to
    write (``valid``, ``rejected``, ``reconciliation``)."""

    feed: PriceFeed
    window: tuple[date, date]
    span: tuple[date, date]
    sessions: list[date]
    source: PriceBatch
    classified: Classified
    split: PriceSplit
    valid: pl.DataFrame
    rejected: pl.DataFrame
    reconciliation: pl.DataFrame

    @property
    def prices_filter(self) -> str:
        """Rows of ``raw.prices_daily`` this load replaces: its markets, its window."""
        markets = ", ".join("?" for _ in self.feed.markets)
        return f"market in ({markets}) and {WINDOW_FILTER}"

    @property
    def prices_params(self) -> tuple[Any, ...]:
        return (*self.feed.markets, *self.window)

    def replacements(self, wh, run_id: str) -> list[Replacement]:
        """The three table replacements of this feed (written in the run's one transaction)."""
        first, end = self.window
        span_first, span_end = self.span
        return [
            Replacement(prices_table(wh), self.valid, self.prices_filter, self.prices_params),
            Replacement(
                rejected_table(wh), self.rejected,
                f"price_feed = ? and (({WINDOW_FILTER}) or {OUTSIDE_FILTER})",
                (self.feed.name, first, end, span_first, span_end),
            ),
            Replacement(reconciliation_table(wh), self.reconciliation, "run_id = ? and price_feed = ?",
                        (run_id, self.feed.name)),
        ]  # fmt: skip


def _read_feed(
    context: AssetExecutionContext,
    config: PricesConfig,
    feed: PriceFeed,
    warehouse: WarehouseResource,
    price_source: PriceSourceResource,
    raw_responses: RawResponsesResource,
    krx_files: KoreanMarketFilesResource,
) -> FeedLoad:
    """Read, classify and validate one feed's rows for the run (nothing written)."""
    try:
        first, end = resolve_window(price_source, config.first_session, config.last_session, feed=feed,
                                    krx_files=krx_files)  # fmt: skip
    except WindowError as error:
        raise Failure(description=f"raw/prices_daily run config, price feed {feed.name}: {error}") from None
    sessions = [day for day in sessions_between(first, end, feed.exchange) if day < end]

    tickers = None
    if feed.name == "us" and price_source.source == "yahoo":
        with warehouse.connect() as wh:
            tickers = yahoo_universe(price_source, wh)
    source = read_price_batch(price_source, raw_responses, first, end, tickers, feed=feed, krx_files=krx_files)
    span = session_span(date.fromisoformat(price_source.history_start), exchange=feed.exchange)
    classified = classify(source.rows, (first, end), span)
    # from here on only the window's batch is needed: let the whole file's rows go, then the
    # batch once it is split (three full-size frames less at 24 M rows)
    source = replace(source, rows=source.rows.clear())
    split = split_valid_rejected(
        classified.batch, sessions,
        on_chunk=lambda done, total: context.log.info(
            progress_message(done, total, f"chunks of {feed.name} price rows validated")),
        markets=feed.markets, ticker_pattern=feed.ticker_pattern,
    )  # fmt: skip
    classified = replace(classified, batch=classified.batch.clear())

    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    valid = split.valid.drop("source_line", "source_file").with_columns(loaded_at=pl.lit(loaded_at))
    rejected = (
        pl.concat([split.rejected, classified.outside_sessions], how="vertical_relaxed")
        .drop("adj_close", "split_basis_date", "source", "is_halted")
        .with_columns(loaded_at=pl.lit(loaded_at), price_feed=pl.lit(feed.name))
    )
    reconciliation = reconciliation_frame(
        classified,
        loaded=split.valid.height,
        rejected=split.rejected.height,
        run={"run_id": context.run.run_id, "source": source.description, "window_start": first, "window_end": end},
        recorded_at=loaded_at,
    ).with_columns(price_feed=pl.lit(feed.name))
    return FeedLoad(feed, (first, end), span, sessions, source, classified, split, valid, rejected, reconciliation)


def _feed_results(load: FeedLoad, stored_after: dict[str, int], completeness) -> dict[str, Any]:
    """One feed's counts, reconciliation verdict and completeness, for the run's metadata and checks."""
    categories = dict(zip(load.reconciliation["category"], load.reconciliation["row_count"], strict=True))
    counts = {**load.source.metadata, "source_rows": load.classified.source_rows, **categories}
    expected_stored = {
        "window_loaded": categories["loaded"],
        "window_rejected": categories["rejected"],
        "rejected_outside_sessions": categories["rejected_outside_sessions"],
    }
    reconciled = stored_after == expected_stored and sum(categories.values()) == load.classified.source_rows
    per_day = completeness.per_day
    return {
        "counts": counts,
        "categories": categories,
        "reconciled": reconciled,
        "stored_after": stored_after,
        "expected_stored": expected_stored,
        "completeness": completeness,
        "completeness_outcome": validate_completeness(per_day) if per_day.height else None,
        "halted_rows_loaded": int(load.valid["is_halted"].sum()) if load.valid.height else 0,
    }


@asset(
    key=PRICES_KEY,
    group_name="prices",
    kinds={"python", "polars", "duckdb", "postgres"},
    owners=["team:data-engineering"],
    tags={"layer": "raw"},
    description=(
        "Daily OHLCV per ticker and exchange session of every market (market US: USD, from "
        "PRICE_SOURCE, the bundled S&P 500 CSV or Yahoo's chart API; KOSPI and KOSDAQ: KRW, from "
        "KRX_PRICES_CSV), split-adjusted as of split_basis_date, not dividend-adjusted, halts flagged "
        "(is_halted); validated with Great Expectations per price feed on its calendar; rejected rows "
        "are quarantined in raw.rejected_prices with the failed rule."
    ),
    check_specs=[
        AssetCheckSpec(
            ROWS_CHECK,
            asset=PRICES_KEY,
            blocking=True,
            description="GE row suite per price feed (not-null keys and values, unique (ticker, trade_date), "
            "low <= open/close <= high, prices > 0, volume >= 0, trade_date is a session of the feed's "
            "calendar, market is one of the feed's, KRX codes 6 characters) "
            "passes on the loaded rows, and the load reconciles: source rows = loaded + rejected + "
            "rejected_outside_sessions + duplicate_collapsed + outside_requested_range, with the "
            "warehouse holding exactly the loaded and rejected rows (read back); metadata has the "
            "counts per category and per rule.",
        ),
        AssetCheckSpec(
            COMPLETENESS_CHECK,
            asset=PRICES_KEY,
            blocking=True,
            description="Per price feed on its calendar: every session of the batch has rows (halts "
            "included) for >= 95 % of the feed's active universe, or "
            "fewer than 3 tickers missing. Fails at ERROR (blocks) when the run's latest session or "
            "more than 5 % of its sessions are below; otherwise WARN (a backfill lists the sessions "
            "and the rest builds). Metadata lists each missing (ticker, session) with its reason.",
        ),
    ],
)
def prices_daily(
    context: AssetExecutionContext,
    config: PricesConfig,
    warehouse: WarehouseResource,
    price_source: PriceSourceResource,
    raw_responses: RawResponsesResource,
    krx_files: KoreanMarketFilesResource,
):
    try:
        feeds = [price_feed(name.lower()) for name in (config.price_feeds or price_source.feeds)]
    except KeyError as error:
        raise Failure(description=f"raw/prices_daily run config price_feeds: {error.args[0]}") from None
    loads = [_read_feed(context, config, feed, warehouse, price_source, raw_responses, krx_files) for feed in feeds]
    run_id = context.run.run_id
    results = {}
    with warehouse.connect() as wh:
        ensure_price_tables(wh)
        for load in loads:
            stored = wh.fetch_frame(
                f"select count(*) as n from {prices_table(wh)} where {load.prices_filter}", list(load.prices_params)
            )
            problem = shrink_problem(int(stored["n"][0]), load.valid.height, config.allow_shrink)
            if problem is not None:
                raise Failure(description=f"{load.source.description}: {problem}",
                              metadata={"price_feed": load.feed.name, "stored_rows": int(stored["n"][0]),
                                        "loading_rows": load.valid.height})  # fmt: skip
        wh.replace_rows([item for load in loads for item in load.replacements(wh, run_id)])
        for load in loads:
            completeness = session_completeness(wh, load.sessions, load.feed.markets, load.feed.exchange, load.feed.name)
            results[load.feed.name] = _feed_results(load, _stored_counts(wh, load), completeness)
        total_rows = wh.row_count(prices_table(wh))
        total_rejected = wh.row_count(rejected_table(wh))

    def total(key: str) -> int:
        return sum(int(result["counts"].get(key, 0)) for result in results.values())

    categories = list(loads[0].reconciliation["category"])
    counts = {"source_rows": total("source_rows"), **{name: total(name) for name in categories}}
    single = loads[0] if len(loads) == 1 else None
    for load in loads:
        context.log.info(f"{load.feed.name}: {load.source.description}: {results[load.feed.name]['counts']}")
    yield MaterializeResult(
        metadata={
            "dagster/row_count": total_rows,
            "rejected_rows_total": total_rejected,
            **(single.source.metadata if single else {}),
            **counts,
            "halted_rows_loaded": sum(result["halted_rows_loaded"] for result in results.values()),
            "per_feed": MetadataValue.json({name: {**result["counts"], "halted_rows_loaded": result["halted_rows_loaded"]}
                                            for name, result in results.items()}),
            "rejected_by_rule": MetadataValue.json(combined_outcome([load.split.input_outcome for load in loads]).failed_rows_by_rule),
            "rejected_preview": MetadataValue.md(_markdown_table(pl.concat([load.split.rejected.drop("is_halted", strict=False)
                                                                             for load in loads], how="diagonal_relaxed"))),
            "price_source": price_source.source,
            "price_feeds": ", ".join(load.feed.name for load in loads),
            "source": "; ".join(load.source.description for load in loads),
            "window": "; ".join(f"{load.feed.name} [{load.window[0]}, {load.window[1]})" for load in loads),
            "first_session": str(min(load.sessions[0] for load in loads if load.sessions)) if any(load.sessions for load in loads) else None,
            "last_session": str(max(load.sessions[-1] for load in loads if load.sessions)) if any(load.sessions for load in loads) else None,
            "sessions_loaded": sum(len(load.sessions) for load in loads),
        }
    )  # fmt: skip
    reconciled = all(result["reconciled"] for result in results.values())
    rows_ok = all(load.split.valid_outcome.success for load in loads)
    yield AssetCheckResult(
        check_name=ROWS_CHECK,
        passed=rows_ok and reconciled,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            **counts,
            "reconciled": reconciled,
            "stored_after_write": MetadataValue.json({name: r["stored_after"] for name, r in results.items()}),
            "expected_stored": MetadataValue.json({name: r["expected_stored"] for name, r in results.items()}),
            "input_rejected_by_rule": MetadataValue.json(combined_outcome([load.split.input_outcome for load in loads]).failed_rows_by_rule),
            "loaded_failed_by_rule": MetadataValue.json(combined_outcome([load.split.valid_outcome for load in loads]).failed_rows_by_rule),
            "expectations_evaluated": sum(load.split.valid_outcome.evaluated_expectations for load in loads),
        },
    )
    per_day = pl.concat([r["completeness"].per_day.with_columns(price_feed=pl.lit(name)) for name, r in results.items()])
    below = pl.concat([r["completeness"].below_gate().with_columns(price_feed=pl.lit(name)) for name, r in results.items()])
    missing = pl.concat([r["completeness"].missing.with_columns(price_feed=pl.lit(name)) for name, r in results.items()])
    outcomes = [r["completeness_outcome"] for r in results.values() if r["completeness_outcome"] is not None]
    yield AssetCheckResult(
        check_name=COMPLETENESS_CHECK,
        passed=all(outcome.success for outcome in outcomes),
        severity=AssetCheckSeverity.ERROR if any(r["completeness"].blocking() for r in results.values())
        else AssetCheckSeverity.WARN,
        metadata={
            "sessions_checked": per_day.height,
            "sessions_below_threshold": below.height,
            "sessions_below": MetadataValue.md(_markdown_table(below, 25)),
            "threshold": COMPLETENESS_THRESHOLD,
            "min_missing_tickers": COMPLETENESS_MIN_MISSING,
            "min_completeness": float(per_day["completeness"].min()) if per_day.height else None,
            "worst_sessions": MetadataValue.md(_markdown_table(per_day.sort("completeness", "trade_date"), 10)),
            "missing_ticker_sessions": missing.height,
            "missing_by_reason": MetadataValue.json(
                dict(missing.group_by("reason").len().sort("len", descending=True).head(20).iter_rows())
            ),
            "missing_preview": MetadataValue.md(_markdown_table(missing, 25)),
        },
    )


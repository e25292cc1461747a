"""``raw.prices_daily``: daily OHLCV from the configured source, validated, loaded by session window.

The source is ``PRICE_SOURCE`` (the ``price_source`` resource, :mod:`pipelines.defs.prices.sources`): the CSV file (default,
the bundled S&P 500 file) or Yahoo's chart API (one request per ticker of the universe and
run window, raw responses kept and reused). A run loads the sessions ``first..last`` of its
config (:mod:`pipelines.defs.prices.window`; default the source's whole history) and records
one materialization whatever the number of sessions (Dagster partitions would record two
events per session; see :mod:`pipelines.lib.sessions`). A run:

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
   both tables' rows of the window, the rejections outside the session span and the run's
   ``raw.price_load_reconciliation`` rows are replaced in one transaction (idempotent reruns).
   Before that, a load that would leave far fewer rows in the window than are stored there (an
   empty or truncated file) fails without writing anything, unless the run allows it
   (:class:`PricesConfig` ``allow_shrink``, ``python -m pipelines.build --allow-shrink``);
4. yields two blocking asset checks: the row suite re-run on the loaded rows together with the
   reconciliation read back from the warehouse (source rows = loaded + rejected + the other
   categories, and the tables hold exactly those rows), and per-session completeness (see
   :mod:`pipelines.defs.prices.completeness`). A failure skips the downstream dbt models of
   the run.
"""

from dataclasses import replace
from datetime import date, datetime, timezone

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
from pipelines.defs.prices.reconciliation import classify, reconciliation_frame
from pipelines.defs.prices.sources import read_price_batch, yahoo_universe
from pipelines.defs.prices.tables import (
    ensure_price_tables,
    prices_table,
    reconciliation_table,
    rejected_table,
)
from pipelines.defs.prices.validation import (
    split_valid_rejected,
    validate_completeness,
)
from pipelines.defs.prices.window import WindowError, resolve_window
from pipelines.lib.progress import progress_message
from pipelines.lib.sessions import session_span
from pipelines.lib.resources import (
    PriceSourceResource,
    RawResponsesResource,
    WarehouseResource,
)

PRICES_KEY = ["raw", "prices_daily"]
ROWS_CHECK = "rows_pass_expectations"
COMPLETENESS_CHECK = "daily_completeness"


#: A load may leave fewer rows in its window than are stored there by at most this share and
#: this many rows, unless the run allows it (``allow_shrink``): an empty or truncated file must
#: not wipe the warehouse.
SHRINK_SHARE = 0.05
SHRINK_ROWS = 100


class PricesConfig(Config):
    """Run configuration of ``raw/prices_daily``: the sessions to load and the shrink guard."""

    first_session: str | None = Field(
        default=None,
        description="First session to load (YYYY-MM-DD, an XNYS session); default: the source's first "
        "session on or after HISTORY_START.",
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


def _stored_counts(wh, window: tuple[date, date], span: tuple[date, date]) -> dict[str, int]:
    """The rows the warehouse holds for this run after the write (read back, not assumed)."""
    window_filter = "trade_date >= ? and trade_date < ?"
    loaded = wh.fetch_frame(f"select count(*) as n from {prices_table(wh)} where {window_filter}", list(window))
    rejected = wh.fetch_frame(f"select count(*) as n from {rejected_table(wh)} where {window_filter}", list(window))
    outside = wh.fetch_frame(
        f"select count(*) as n from {rejected_table(wh)} where trade_date < ? or trade_date >= ?", list(span)
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


@asset(
    key=PRICES_KEY,
    group_name="prices",
    kinds={"python", "polars", "duckdb", "postgres"},
    owners=["team:data-engineering"],
    tags={"layer": "raw"},
    description=(
        "Daily OHLCV per ticker and exchange session (USD, split-adjusted as of split_basis_date, "
        "not dividend-adjusted) from PRICE_SOURCE: the bundled S&P 500 CSV (default) or Yahoo's "
        "chart API; validated with Great Expectations; rejected rows are quarantined in "
        "raw.rejected_prices with the failed rule."
    ),
    check_specs=[
        AssetCheckSpec(
            ROWS_CHECK,
            asset=PRICES_KEY,
            blocking=True,
            description="GE row suite (not-null keys and values, unique (ticker, trade_date), "
            "low <= open/close <= high, prices > 0, volume >= 0, trade_date is an XNYS session) "
            "passes on the loaded rows, and the load reconciles: source rows = loaded + rejected + "
            "rejected_outside_sessions + duplicate_collapsed + outside_requested_range, with the "
            "warehouse holding exactly the loaded and rejected rows (read back); metadata has the "
            "counts per category and per rule.",
        ),
        AssetCheckSpec(
            COMPLETENESS_CHECK,
            asset=PRICES_KEY,
            blocking=True,
            description="Every session of the batch has rows for >= 95 % of the active universe, or "
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
):
    try:
        first, end = resolve_window(price_source, config.first_session, config.last_session)
    except WindowError as error:
        raise Failure(description=f"raw/prices_daily run config: {error}") from None
    sessions = [day for day in sessions_between(first, end) if day < end]

    tickers = None
    if price_source.source == "yahoo":
        with warehouse.connect() as wh:
            tickers = yahoo_universe(price_source, wh)
    source = read_price_batch(price_source, raw_responses, first, end, tickers)
    span_first, span_end = session_span(date.fromisoformat(price_source.history_start))
    classified = classify(source.rows, (first, end), (span_first, span_end))
    # from here on only the window's batch is needed: let the whole file's rows go, then the
    # batch once it is split (three full-size frames less at 24 M rows)
    source = replace(source, rows=source.rows.clear())
    split = split_valid_rejected(
        classified.batch, sessions,
        on_chunk=lambda done, total: context.log.info(progress_message(done, total, "chunks of price rows validated")),
    )  # fmt: skip
    classified = replace(classified, batch=classified.batch.clear())

    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    valid = split.valid.drop("source_line", "source_file").with_columns(loaded_at=pl.lit(loaded_at))
    rejected = (
        pl.concat([split.rejected, classified.outside_sessions], how="vertical_relaxed")
        .drop("adj_close", "split_basis_date", "source")
        .with_columns(loaded_at=pl.lit(loaded_at))
    )
    reconciliation = reconciliation_frame(
        classified,
        loaded=split.valid.height,
        rejected=split.rejected.height,
        run={"run_id": context.run.run_id, "source": source.description, "window_start": first, "window_end": end},
        recorded_at=loaded_at,
    )
    window_filter = "trade_date >= ? and trade_date < ?"
    outside_filter = "(trade_date < ? or trade_date >= ?)"
    with warehouse.connect() as wh:
        ensure_price_tables(wh)
        stored = wh.fetch_frame(f"select count(*) as n from {prices_table(wh)} where {window_filter}", [first, end])
        problem = shrink_problem(int(stored["n"][0]), valid.height, config.allow_shrink)
        if problem is not None:
            raise Failure(description=f"{source.description}: {problem}",
                          metadata={"stored_rows": int(stored["n"][0]), "loading_rows": valid.height})  # fmt: skip
        wh.replace_rows(
            [
                Replacement(prices_table(wh), valid, window_filter, (first, end)),
                Replacement(
                    rejected_table(wh), rejected,
                    f"({window_filter}) or {outside_filter}", (first, end, span_first, span_end),
                ),
                Replacement(reconciliation_table(wh), reconciliation, "run_id = ?", (context.run.run_id,)),
            ]
        )  # fmt: skip
        stored_after = _stored_counts(wh, (first, end), (span_first, span_end))
        completeness = session_completeness(wh, sessions)
        total_rows = wh.row_count(prices_table(wh))
        total_rejected = wh.row_count(rejected_table(wh))

    loaded_outcome = split.valid_outcome
    per_day = completeness.per_day
    completeness_outcome = validate_completeness(per_day) if per_day.height else None
    categories = dict(zip(reconciliation["category"], reconciliation["row_count"], strict=True))
    counts = {**source.metadata, "source_rows": classified.source_rows, **categories}
    expected_stored = {
        "window_loaded": categories["loaded"],
        "window_rejected": categories["rejected"],
        "rejected_outside_sessions": categories["rejected_outside_sessions"],
    }
    reconciled = stored_after == expected_stored and sum(categories.values()) == classified.source_rows
    context.log.info(f"{source.description}: {counts}")
    yield MaterializeResult(
        metadata={
            "dagster/row_count": total_rows,
            "rejected_rows_total": total_rejected,
            **counts,
            "rejected_by_rule": MetadataValue.json(split.input_outcome.failed_rows_by_rule),
            "rejected_preview": MetadataValue.md(_markdown_table(split.rejected)),
            "price_source": price_source.source,
            "source": source.description,
            "window": f"[{first}, {end})",
            "first_session": str(sessions[0]) if sessions else None,
            "last_session": str(sessions[-1]) if sessions else None,
            "sessions_loaded": len(sessions),
        }
    )
    yield AssetCheckResult(
        check_name=ROWS_CHECK,
        passed=loaded_outcome.success and reconciled,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            **counts,
            "reconciled": reconciled,
            "stored_after_write": MetadataValue.json(stored_after),
            "expected_stored": MetadataValue.json(expected_stored),
            "input_rejected_by_rule": MetadataValue.json(split.input_outcome.failed_rows_by_rule),
            "loaded_failed_by_rule": MetadataValue.json(loaded_outcome.failed_rows_by_rule),
            "expectations_evaluated": loaded_outcome.evaluated_expectations,
        },
    )
    below = completeness.below_gate()
    missing = completeness.missing
    yield AssetCheckResult(
        check_name=COMPLETENESS_CHECK,
        passed=completeness_outcome is None or completeness_outcome.success,
        severity=AssetCheckSeverity.ERROR if completeness.blocking() else AssetCheckSeverity.WARN,
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

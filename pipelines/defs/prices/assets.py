"""``raw.prices_daily``: daily OHLCV from the configured source, validated, partitioned by session.

The source is ``PRICE_SOURCE`` (the ``price_source`` resource, :mod:`pipelines.defs.prices.sources`): the CSV file (default,
the bundled S&P 500 file) or Yahoo's chart API (one request per ticker of the universe and
run window, raw responses kept and reused). One partition per exchange session
(:func:`pipelines.lib.partitions.trading_day_partitions`); a backfill of any range runs
as one run (``BackfillPolicy.single_run``). A run:

1. reads the source: the whole file strictly (a malformed file stops here, nothing written),
   or the window from Yahoo (an HTTP or body error stops here, nothing written; a ticker
   Yahoo does not know (404) is skipped and listed in the metadata);
2. takes the batch = rows with ``first_key <= trade_date < next session after last_key``
   (a weekend- or holiday-dated row falls into the preceding session's batch, where the
   calendar rule rejects it);
3. splits it with the Great Expectations row suite: failing rows go to
   ``raw.rejected_prices`` with the failed rules, the others to ``raw.prices_daily``;
   both tables' rows of the window are replaced in one transaction (idempotent reruns);
   Before that, a load that would leave far fewer rows in the window than are stored there (an
   empty or truncated file) fails without writing anything, unless the run allows it
   (:class:`PricesConfig` ``allow_shrink``, ``python -m pipelines.build --allow-shrink``);
4. yields two blocking asset checks: the row suite re-run on the loaded rows, and
   per-session completeness >= 95 % of the active universe. A failure skips the
   downstream dbt models of the run.
"""

from datetime import date, datetime, timezone

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    BackfillPolicy,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from domain.calendar import next_session_after, sessions_between
from domain.warehouse import Replacement
from pipelines.defs.prices.completeness import daily_completeness
from pipelines.defs.prices.sources import read_price_batch, yahoo_universe
from pipelines.defs.prices.tables import (
    ensure_price_tables,
    prices_table,
    rejected_table,
)
from pipelines.defs.prices.validation import (
    COMPLETENESS_THRESHOLD,
    split_valid_rejected,
    validate_completeness,
    validate_rows,
)
from pipelines.lib.partitions import trading_day_partitions
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
    """Run configuration of ``raw/prices_daily``."""

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


def batch_window(first_key: str, last_key: str) -> tuple[date, date]:
    """``[first, end)`` in calendar days covered by the partition keys ``first_key..last_key``."""
    return date.fromisoformat(first_key), next_session_after(date.fromisoformat(last_key))


def _markdown_table(frame: pl.DataFrame, limit: int = 25) -> str:
    head = frame.head(limit)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in head.iter_rows()]
    return "\n".join(lines)


@asset(
    key=PRICES_KEY,
    group_name="prices",
    partitions_def=trading_day_partitions(),
    backfill_policy=BackfillPolicy.single_run(),
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
            "passes on the loaded rows; metadata has input/loaded/rejected counts per rule.",
        ),
        AssetCheckSpec(
            COMPLETENESS_CHECK,
            asset=PRICES_KEY,
            blocking=True,
            description="Every session of the batch has rows for >= 95 % of the active universe.",
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
    key_range = context.partition_key_range
    first, end = batch_window(key_range.start, key_range.end)
    sessions = [day for day in sessions_between(first, end) if day < end]

    tickers = None
    if price_source.source == "yahoo":
        with warehouse.connect() as wh:
            tickers = yahoo_universe(price_source, wh)
    source = read_price_batch(price_source, raw_responses, first, end, tickers)
    in_window = pl.col("trade_date").is_between(first, end, closed="left")
    batch = source.rows.filter(in_window)
    split = split_valid_rejected(batch, sessions)

    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    valid = split.valid.drop("source_line", "source_file").with_columns(loaded_at=pl.lit(loaded_at))
    rejected = split.rejected.drop("adj_close", "split_basis_date", "source").with_columns(
        loaded_at=pl.lit(loaded_at)
    )
    window_filter = "trade_date >= ? and trade_date < ?"
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
                Replacement(rejected_table(wh), rejected, window_filter, (first, end)),
            ]
        )
        per_day = daily_completeness(wh, sessions)
        total_rows = wh.row_count(prices_table(wh))
        total_rejected = wh.row_count(rejected_table(wh))

    loaded_outcome = validate_rows(split.valid, sessions)
    completeness_outcome = validate_completeness(per_day) if per_day.height else None
    counts = {
        **source.metadata,
        "source_rows_outside_window": source.rows.height - batch.height,
        "batch_input_rows": batch.height,
        "batch_loaded_rows": split.valid.height,
        "batch_rejected_rows": split.rejected.height,
    }
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
        }
    )
    yield AssetCheckResult(
        check_name=ROWS_CHECK,
        passed=loaded_outcome.success and split.valid.height + split.rejected.height == batch.height,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            **counts,
            "input_rejected_by_rule": MetadataValue.json(split.input_outcome.failed_rows_by_rule),
            "loaded_failed_by_rule": MetadataValue.json(loaded_outcome.failed_rows_by_rule),
            "expectations_evaluated": loaded_outcome.evaluated_expectations,
        },
    )
    incomplete = per_day.filter(pl.col("completeness") < COMPLETENESS_THRESHOLD)
    yield AssetCheckResult(
        check_name=COMPLETENESS_CHECK,
        passed=completeness_outcome is None or completeness_outcome.success,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "sessions_checked": per_day.height,
            "sessions_below_threshold": incomplete.height,
            "threshold": COMPLETENESS_THRESHOLD,
            "min_completeness": float(per_day["completeness"].min()) if per_day.height else None,
            "worst_sessions": MetadataValue.md(_markdown_table(per_day.sort("completeness"), 10)),
        },
    )

"""``raw.corporate_actions``: splits and dividends from the stored Yahoo chart responses.

Not partitioned: every run rebuilds the table in one transaction from all chart responses in
the raw store (``RAW_RESPONSES_DIR/yahoo/chart/<TICKER>/*.json``), so it holds every event any
loaded Yahoo window reported, and a rerun gives the same rows without HTTP calls. It runs
after ``raw/prices_daily`` (which fetches and stores the responses). The bundled build (no
Yahoo responses stored) creates the table empty, so dbt always finds it; then every adjustment
factor is 1 and the indicators are computed on the prices as loaded.

Grain and columns: :mod:`pipelines.defs.prices.tables`. Where several responses report the
same event (overlapping windows), the one fetched last (latest ``split_basis_date``) wins.
Cost: files without an ``"events"`` key are skipped after a byte search; the others are parsed.
"""

from datetime import UTC, datetime

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
)

from domain.warehouse import Replacement
from pipelines.defs.prices.assets import PRICES_KEY
from pipelines.defs.prices.tables import (
    corporate_actions_table,
    ensure_corporate_actions_table,
)
from pipelines.lib.resources import RawResponsesResource, WarehouseResource
from pipelines.sources.yahoo import SOURCE, VENDOR, stored_actions

CORPORATE_ACTIONS_KEY = ["raw", "corporate_actions"]
COLUMNS = (
    "ticker", "ex_date", "action_type", "split_numerator", "split_denominator", "cash_amount",
    "split_basis_date", "source", "source_file", "loaded_at",
)  # fmt: skip


@asset(
    key=CORPORATE_ACTIONS_KEY,
    group_name="prices",
    deps=[AssetKey(PRICES_KEY)],
    kinds={"python", "polars", "duckdb", "postgres"},
    owners=["team:data-engineering"],
    tags={"layer": "raw"},
    description=(
        "Splits (ratio numerator:denominator) and cash dividends (USD per share, split-adjusted as "
        "of split_basis_date) per ticker and ex-date, from every stored Yahoo chart response; empty "
        "when none is stored (bundled data). dbt derives adjustment factors from it."
    ),
)
def corporate_actions(
    context: AssetExecutionContext, warehouse: WarehouseResource, raw_responses: RawResponsesResource
) -> MaterializeResult:
    store = raw_responses.store(VENDOR)
    actions = stored_actions(store)
    frame = actions.with_columns(
        source=pl.lit(SOURCE), loaded_at=pl.lit(datetime.now(UTC).replace(tzinfo=None))
    ).select(COLUMNS)
    with warehouse.connect() as wh:
        ensure_corporate_actions_table(wh)
        wh.replace_rows([Replacement(corporate_actions_table(wh), frame)])
    by_type = {row["action_type"]: row["n"] for row in frame.group_by("action_type").agg(n=pl.len()).to_dicts()}
    context.log.info(f"{corporate_actions_table(wh)}: {frame.height} events from {store.directory}")
    return MaterializeResult(
        metadata={
            "dagster/row_count": frame.height,
            "splits": by_type.get("split", 0),
            "dividends": by_type.get("dividend", 0),
            "tickers": frame["ticker"].n_unique(),
            "raw_store": MetadataValue.path(str(store.directory)),
        }
    )

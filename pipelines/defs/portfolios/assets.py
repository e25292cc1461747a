"""``raw/portfolio_transactions``: the transaction files of ``PORTFOLIOS_DIR``, validated per file.

Not partitioned: every run reads all ``PORTFOLIOS_DIR/*.csv`` (the ``portfolio_files_sensor``
starts one when a file is added, changed or deleted; ``warehouse_build`` runs it after the
prices). A run:

1. builds the price universe (each ticker's first and last trade_date and the market of its
   latest bar in ``raw.prices_daily``, on which this asset depends: the market gives the
   ticker's exchange calendar and currency);
2. reads and validates every file with :mod:`domain.portfolios.transactions`, ALL OR
   NOTHING per file: a file with any bad row (or an unreadable file) puts every one of its rows
   in ``raw.rejected_portfolio_transactions`` and none in ``raw.portfolio_transactions`` (its
   portfolios disappear until it is fixed); a portfolio found in two files rejects both, and
   so does a portfolio that mixes currencies (a KRW ticker in a USD portfolio: one currency
   per portfolio, the currency of its first transaction's ticker);
3. writes both tables in ONE transaction (``replace_rows``): the rows of files that are gone,
   new, or whose rows differ from the stored ones (content or outcome changed) are deleted and
   the new rows inserted; a file whose rows are unchanged keeps its stored rows (and
   ``loaded_at``), so a rerun leaves identical rows.

Checks: ``rows_pass_expectations`` (blocking): the Great Expectations suite
``portfolio_transactions_rows`` passes on the whole stored table (each row's currency its
ticker's, each trade_date a session of its ticker's exchange), no holding goes negative
when the stored rows are replayed, each portfolio comes from one file and is in one
currency, and input rows = loaded + rejected for every file read; ``no_rejected_files`` (warning): lists every rejected
file with its errors (file, line, field, reason).

Longer than ~300 lines: the per-file plan, the incremental write and the two checks share
:class:`FileOutcome` and the table columns; each step is a function tested on its own.
"""

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
    asset,
)

from domain.calendar import sessions_between
from domain.markets import markets
from domain.portfolios.store import file_sha256, ignored_links, transaction_files
from domain.portfolios.transactions import (
    PORTFOLIO_PATTERN,
    SIDES,
    PortfolioFileError,
    PriceHistory,
    RowError,
    day_range_lookup,
    normalized_transactions,
    portfolios_in,
    read_transactions,
    validate_transactions,
)
from domain.warehouse import Replacement, Warehouse
from pipelines.defs.portfolios.tables import (
    REJECTED_COLUMNS,
    TRANSACTION_COLUMNS,
    ensure_portfolio_tables,
    loaded_rows,
    rejected_rows,
    rejected_table,
    transactions_table,
)
from pipelines.defs.prices.assets import PRICES_KEY
from pipelines.defs.prices.tables import prices_table
from pipelines.lib import expectations
from pipelines.lib.resources import PortfolioFilesResource, WarehouseResource

PORTFOLIO_TRANSACTIONS_KEY = ["raw", "portfolio_transactions"]
ROWS_CHECK = "rows_pass_expectations"
REJECTED_CHECK = "no_rejected_files"
_ERRORS_SHOWN = 200


@dataclass
class FileOutcome:
    """What one file gave: ``status`` ``loaded`` | ``rejected`` | ``unreadable``; ``rows``: its
    rows for the table of that status; ``input_rows``: CSV records read (None if unreadable)."""

    source_file: str
    sha256: str
    status: str
    rows: pl.DataFrame
    input_rows: int | None
    portfolios: list[str]
    errors: list[RowError] = field(default_factory=list)
    written: bool = True  # False: stored rows were identical and kept

    @property
    def rejected_records(self) -> int:
        """Rejected rows that are CSV records of the file (its ``input_rows`` when rejected)."""
        return 0 if self.status == "loaded" else (self.input_rows or 0)


def price_history(warehouse: Warehouse) -> PriceHistory:
    """Each ticker's first and last trade_date and the market of its latest bar in
    ``raw.prices_daily``, and each day's low and high (read per ticker a file names, while
    ``warehouse`` is open; a halt row's are 0).

    Raises:
        RuntimeError: the prices table does not exist yet (load prices first).
    """
    exists = warehouse.fetch_frame(
        "select count(*) as n from information_schema.tables where table_schema = ? and table_name = ?",
        [warehouse.schema("raw"), "prices_daily"],
    )
    if not exists["n"][0]:
        raise RuntimeError(
            f"{prices_table(warehouse)} does not exist: portfolio rows are validated against the "
            "price history, so load the prices first (make build)"
        )
    def bars(ticker: str):
        frame = warehouse.fetch_frame(
            f"select trade_date, low, high from {prices_table(warehouse)} where ticker = ?", [ticker]
        )
        return frame.iter_rows()

    prices = prices_table(warehouse)
    return PriceHistory.from_frame(
        warehouse.fetch_frame(
            f"""with bounds as (
                select ticker, min(trade_date) as first_trade_date, max(trade_date) as last_trade_date
                from {prices} group by ticker
            )
            select bounds.ticker, bounds.first_trade_date, bounds.last_trade_date, latest.market
            from bounds
            inner join {prices} as latest
                on latest.ticker = bounds.ticker and latest.trade_date = bounds.last_trade_date"""
        ),
        day_range_lookup(bars),
    )


def _in_other_files(owners: dict[str, list[str]], name: str) -> dict[str, str]:
    """``{portfolio: another file}`` for the portfolios of file ``name`` that other files hold too."""
    return {p: next(f for f in files if f != name) for p, files in owners.items() if name in files and len(files) > 1}


def plan_files(paths: list[Path], history: PriceHistory, loaded_at: datetime) -> list[FileOutcome]:
    """Read and validate every file (see the module doc); the rows each gives."""
    read: dict[str, tuple[bytes, pl.DataFrame | None, PortfolioFileError | None]] = {}
    for path in paths:
        data = path.read_bytes()
        try:
            read[path.name] = (data, read_transactions(data, path.name), None)
        except PortfolioFileError as error:
            read[path.name] = (data, None, error)
    owners: dict[str, list[str]] = {}
    for name, (_, frame, _) in read.items():
        for portfolio in sorted(portfolios_in(frame)) if frame is not None else []:
            owners.setdefault(portfolio, []).append(name)
    outcomes = []
    for name, (data, frame, read_error) in read.items():
        sha = file_sha256(data)
        if frame is None:
            rows = rejected_rows(None, read_error.errors, name, sha, loaded_at)
            outcomes.append(FileOutcome(name, sha, "unreadable", rows, None, [], read_error.errors))
            continue
        errors = validate_transactions(frame, name, history, _in_other_files(owners, name))
        portfolios = sorted(portfolios_in(frame))
        if errors:
            rows = rejected_rows(frame, errors, name, sha, loaded_at)
            outcomes.append(FileOutcome(name, sha, "rejected", rows, frame.height, portfolios, errors))
        else:
            rows = loaded_rows(normalized_transactions(frame), name, sha, loaded_at)
            outcomes.append(FileOutcome(name, sha, "loaded", rows, frame.height, portfolios))
    return outcomes


def _stored_by_file(warehouse: Warehouse, table: str, columns: tuple[str, ...]) -> dict[str, list[tuple]]:
    kept = [c for c in columns if c != "loaded_at"]
    frame = warehouse.fetch_frame(f"select {', '.join(kept)} from {table} order by source_file, source_line")
    groups = frame.group_by("source_file", maintain_order=True)
    return {name: group.drop("source_file").rows() for (name,), group in groups}


def write_outcomes(warehouse: Warehouse, outcomes: list[FileOutcome]) -> None:
    """Replace the rows of new, changed and removed files in both tables in ONE transaction;
    mark the outcomes whose stored rows were identical as not ``written``."""
    stored = {
        "loaded": _stored_by_file(warehouse, transactions_table(warehouse), TRANSACTION_COLUMNS),
        "rejected": _stored_by_file(warehouse, rejected_table(warehouse), REJECTED_COLUMNS),
    }
    for outcome in outcomes:
        table = "loaded" if outcome.status == "loaded" else "rejected"
        other = "rejected" if table == "loaded" else "loaded"
        new = outcome.rows.drop("source_file", "loaded_at").rows()
        same = stored[table].get(outcome.source_file) == new and outcome.source_file not in stored[other]
        outcome.written = not same
    kept = [o.source_file for o in outcomes if not o.written]
    where = f"source_file not in ({', '.join('?' for _ in kept)})" if kept else "true"
    written = [o for o in outcomes if o.written]

    def rows(*statuses: str) -> pl.DataFrame:
        frames = [o.rows for o in written if o.status in statuses]
        return pl.concat(frames) if frames else pl.DataFrame()

    warehouse.replace_rows(
        [
            Replacement(transactions_table(warehouse), rows("loaded"), where, kept),
            Replacement(rejected_table(warehouse), rows("rejected", "unreadable"), where, kept),
        ]
    )


def _rows_suite(tickers: list[str], sessions: list[str], currencies: list[str]):
    gx = expectations.gx()
    expectations.context()  # suites need an active context
    expect = gx.expectations
    suite = gx.ExpectationSuite(name="portfolio_transactions_rows")
    for column in TRANSACTION_COLUMNS:
        suite.add_expectation(
            expect.ExpectColumnValuesToNotBeNull(column=column, meta={"rule": f"{column}_not_null"})
        )
    suite.add_expectation(
        expect.ExpectCompoundColumnsToBeUnique(
            column_list=["source_file", "source_line"], meta={"rule": "source_line_unique"}
        )
    )
    suite.add_expectation(
        expect.ExpectColumnValuesToMatchRegex(
            column="portfolio", regex=f"^{PORTFOLIO_PATTERN.pattern}$", meta={"rule": "portfolio_name"}
        )
    )
    sets = {"side": list(SIDES), "currency": currencies, "ticker": tickers, "exchange_session": sessions}
    for column, values in sets.items():
        rule = "trade_date_known" if column == "exchange_session" else f"{column}_known"
        suite.add_expectation(expect.ExpectColumnValuesToBeInSet(column=column, value_set=values, meta={"rule": rule}))
    suite.add_expectation(
        expect.ExpectColumnPairValuesToBeEqual(
            column_A="currency", column_B="ticker_currency", meta={"rule": "currency_of_ticker"}
        )
    )
    for column, rule in (("quantity", "positive"), ("price", "positive"), ("fees", "non_negative")):
        suite.add_expectation(
            expect.ExpectColumnValuesToBeBetween(
                column=column, min_value=0, strict_min=rule == "positive", meta={"rule": f"{column}_{rule}"}
            )
        )
    return suite


def validate_stored(stored: pl.DataFrame, history: PriceHistory) -> expectations.SuiteOutcome:
    """Run ``portfolio_transactions_rows`` on the stored rows (columns :data:`TRANSACTION_COLUMNS`):
    not-null columns, unique (source_file, source_line), portfolio name pattern, side / currency
    (of the markets seed) / ticker in their sets, trade_date a session of the ticker's exchange
    (rule ``trade_date_known``), currency the ticker's (``currency_of_ticker``), quantity > 0,
    price > 0, fees >= 0."""
    if stored.height == 0:
        return expectations.SuiteOutcome(True, {}, 0)
    ticker_markets = {t: history.market_of(t) for t in stored["ticker"].unique().to_list()}
    exchanges = pl.Series([ticker_markets[t].exchange_calendar for t in stored["ticker"].to_list()], dtype=pl.Utf8)
    frame = stored.with_columns(
        pl.col("trade_date").cast(pl.Utf8),
        exchange_session=exchanges + ":" + stored["trade_date"].cast(pl.Utf8),
        ticker_currency=pl.Series([ticker_markets[t].currency for t in stored["ticker"].to_list()], dtype=pl.Utf8),
    ).to_pandas()
    days = stored["trade_date"]
    sessions = [
        f"{exchange}:{d.isoformat()}"
        for exchange in sorted(set(exchanges.to_list()))
        for d in sessions_between(days.min(), days.max(), exchange)
    ]
    currencies = sorted({m.currency for m in markets().values()})
    suite = _rows_suite(sorted(history.tickers), sessions, currencies)
    return expectations.outcome(expectations.run_suite(suite, frame))


def negative_holdings(stored: pl.DataFrame) -> pl.DataFrame:
    """Rows after which a holding is negative when the stored rows are replayed per portfolio
    and ticker in (trade_date, source_line) order (buy +quantity, sell -quantity)."""
    side = pl.col("side")
    signed = pl.when(side == "buy").then("quantity").when(side == "sell").then(-pl.col("quantity"))
    return (
        stored.sort("portfolio", "ticker", "trade_date", "source_line")
        .with_columns(held=signed.fill_null(0.0).cum_sum().over("portfolio", "ticker"))
        .filter(pl.col("held") < -1e-9)
        .select("source_file", "source_line", "portfolio", "ticker", "trade_date", "held")
    )


def _error_table(outcomes: list[FileOutcome]) -> MetadataValue:
    errors = [e for o in outcomes for e in o.errors][:_ERRORS_SHOWN]
    return MetadataValue.table(
        records=[
            TableRecord({"file": e.source_file, "line": e.line, "field": e.field or "", "error": e.message})
            for e in errors
        ],
        schema=TableSchema(
            columns=[TableColumn("file"), TableColumn("line", "int"), TableColumn("field"), TableColumn("error")]
        ),
    )


@asset(
    key=PORTFOLIO_TRANSACTIONS_KEY,
    group_name="portfolios",
    deps=[AssetKey(PRICES_KEY)],
    kinds={"python", "duckdb", "postgres"},
    owners=["team:data-engineering"],
    tags={"layer": "raw"},
    description=(
        "Portfolio transactions (buy, sell, dividend; in the tickers' currency, USD or KRW, one per portfolio) "
        "from the CSV files of PORTFOLIOS_DIR, one row per file line, validated per file against the price "
        "history: a file with any bad row (unknown ticker, non-session date, selling more than held, a ticker "
        "in another currency than its portfolio's, ...) loads nothing and all its rows go to "
        "raw.rejected_portfolio_transactions with the reasons."
    ),
    check_specs=[
        AssetCheckSpec(
            ROWS_CHECK,
            asset=PORTFOLIO_TRANSACTIONS_KEY,
            blocking=True,
            description="GE suite portfolio_transactions_rows passes on the stored rows; no holding goes "
            "negative; each portfolio comes from one file and is in one currency; input rows = loaded + "
            "rejected for every file.",
        ),
        AssetCheckSpec(
            REJECTED_CHECK,
            asset=PORTFOLIO_TRANSACTIONS_KEY,
            description="Every transaction file loaded (warning only): lists each rejected file's errors "
            "with file, line, field and reason.",
        ),
    ],
)
def portfolio_transactions(
    context: AssetExecutionContext, warehouse: WarehouseResource, portfolio_files: PortfolioFilesResource
):
    directory = portfolio_files.path
    paths = transaction_files(directory)
    if not directory.is_dir():
        context.log.warning(f"PORTFOLIOS_DIR {directory} does not exist: no portfolio is loaded")
    for link in ignored_links(directory):
        context.log.warning(f"{link} is a symbolic link: not read (copy the file into {directory})")
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    with warehouse.connect() as wh:
        ensure_portfolio_tables(wh)
        history = price_history(wh)
        outcomes = plan_files(paths, history, loaded_at)
        write_outcomes(wh, outcomes)
        stored = wh.fetch_frame(f"select {', '.join(TRANSACTION_COLUMNS)} from {transactions_table(wh)}")
        rejected_total = wh.row_count(rejected_table(wh))

    per_file = {
        o.source_file: {
            "status": o.status,
            "input_rows": o.input_rows,
            "loaded_rows": o.rows.height if o.status == "loaded" else 0,
            "rejected_rows": o.rejected_records,
            # rejected-table rows that are no record (the header, an empty file, an unreadable
            # line): listed with their reason, not counted against the file's input records
            "file_problem_rows": 0 if o.status == "loaded" else o.rows.height - o.rejected_records,
            "portfolios": o.portfolios,
            "written": o.written,
            "file_sha256": o.sha256,
            "errors": [str(e) for e in o.errors[:20]],
        }
        for o in outcomes
    }
    bad = [o for o in outcomes if o.status != "loaded"]
    for outcome in bad:
        context.log.warning(f"{outcome.source_file} rejected ({len(outcome.errors)} errors): {outcome.errors[0]}")
    rows_loaded = sum(f["loaded_rows"] for f in per_file.values())
    rows_rejected = sum(f["rejected_rows"] for f in per_file.values())
    yield MaterializeResult(
        metadata={
            "dagster/row_count": stored.height,
            "portfolios_dir": MetadataValue.path(str(directory)),
            "files_read": len(outcomes),
            "files_loaded": len(outcomes) - len(bad),
            "files_rejected": len(bad),
            "rows_loaded": rows_loaded,
            "rows_rejected": rows_rejected,
            "rejected_table_rows": rejected_total,
            "files_rewritten": sum(o.written for o in outcomes),
            "portfolios": MetadataValue.json(sorted(p for o in outcomes if o.status == "loaded" for p in o.portfolios)),
            "per_file": MetadataValue.json(per_file),
            "errors": _error_table(outcomes),
        },
    )

    outcome = validate_stored(stored, history)
    negative = negative_holdings(stored)
    per_portfolio = stored.group_by("portfolio").agg(
        files=pl.col("source_file").n_unique(), currencies=pl.col("currency").n_unique()
    )
    shared = per_portfolio.filter(pl.col("files") > 1)["portfolio"].to_list()
    mixed = sorted(per_portfolio.filter(pl.col("currencies") > 1)["portfolio"].to_list())
    unbalanced = [
        name
        for name, f in per_file.items()
        if f["input_rows"] is not None and f["input_rows"] != f["loaded_rows"] + f["rejected_rows"]
    ]
    yield AssetCheckResult(
        check_name=ROWS_CHECK,
        passed=outcome.success and negative.height == 0 and not shared and not mixed and not unbalanced,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "failed_rows_by_rule": MetadataValue.json(outcome.failed_rows_by_rule),
            "expectations_evaluated": outcome.evaluated_expectations,
            "negative_holdings": negative.height,
            "portfolios_in_several_files": MetadataValue.json(shared),
            "portfolios_in_several_currencies": MetadataValue.json(mixed),
            "files_unbalanced": MetadataValue.json(unbalanced),
        },
    )
    yield AssetCheckResult(
        check_name=REJECTED_CHECK,
        passed=not bad,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "rejected_files": MetadataValue.json({o.source_file: len(o.errors) for o in bad}),
            "errors": _error_table(bad),
        },
    )



#: ``raw.rejected_portfolio_transactions`` as an asset of its own for the lineage graph (dbt's
#: source of ``stg_portfolios__rejected_transactions``): written in the same run and transaction
#: as ``raw/portfolio_transactions``, never materialised alone.
rejected_portfolio_transactions = AssetSpec(
    key=AssetKey(["raw", "rejected_portfolio_transactions"]),
    deps=[AssetKey(PORTFOLIO_TRANSACTIONS_KEY)],
    group_name="portfolios",
    description="Rows of transaction files that were not loaded, with field and reason; written by "
    "raw/portfolio_transactions in the same transaction (not materialised on its own).",
    kinds={"duckdb", "postgres"},
    owners=["team:data-engineering"],
    tags={"layer": "raw"},
)

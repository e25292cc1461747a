"""``raw/krx_vendor_valuation``: KRX's own per-ticker ratios (PER, PBR, EPS, BPS, DPS, dividend
yield) from stored responses of the KRX data portal.

Not partitioned and makes no HTTP call: every run rebuilds the table in one transaction from
every stored response of the two ratio screens (parsed with :mod:`pipelines.sources.krx`):

* ``MDCSTAT03501`` (every ticker of a market on one day; the day is the query's ``trdDd``) and
* ``MDCSTAT03502`` (one ticker by day; the ticker is the code inside the query's ``isuCd``),

found in two places:

1. the KRX raw-response store, ``RAW_RESPONSES_DIR/krx/MDCSTAT0350{1,2}/<params>.json``, where
   :class:`~pipelines.sources.krx.KrxSource` keeps what it fetched (key = the query's
   parameters, :func:`~pipelines.sources.krx.raw_key`): the same way ``raw/corporate_actions``
   reads the stored Yahoo responses;
2. with run config ``include_recorded_responses`` (default true), the real portal responses
   bundled with the sample data, ``data/sample/fixtures/krx/`` (each file's query in its
   ``index.json``): KOSPI on 2021-01-08 (895 tickers) and Samsung Electronics (005930)
   2020-01-02..2020-04-29. That is how the bundled build gets vendor ratios without a KRX login.

Several responses may give the same (ticker, trade_date): the raw store wins over a recording,
screen 03501 over 03502, then the first ``source_file`` in sort order. A second row with the
same values is a duplicate (counted, not stored); one with different values is quarantined with
reason ``conflicts_with: <source_file kept>``. Rows failing the Great Expectations suite
``krx_vendor_valuation_rows`` (:mod:`pipelines.defs.fundamentals.korean_validation`) are
quarantined with the failed rules. Tables: :mod:`pipelines.defs.fundamentals.korean_tables`.

Raises (the run fails, nothing is written): :class:`~pipelines.lib.http.VendorResponseError` for
a stored body that is not the screen's JSON, ``ValueError`` for a value that is not a number or a
key without the day or ISIN (both name the file).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from domain.datasets import bundled_path
from domain.warehouse import Replacement
from pipelines.defs.fundamentals.korean_tables import (
    VENDOR_VALUE_COLUMNS,
    ensure_vendor_valuation_tables,
    rejected_vendor_valuation_table,
    vendor_valuation_table,
)
from pipelines.defs.fundamentals.korean_validation import (
    split_valid_rejected,
    validate,
    vendor_frame_for_suite,
    vendor_suite,
)
from pipelines.lib.http import RawResponseStore
from pipelines.lib.http.client import parse_json_body
from pipelines.lib.resources import RawResponsesResource, WarehouseResource
from pipelines.sources.krx import (
    VALUATION,
    VALUATION_FIELDS,
    VALUATION_HISTORY,
    VALUATION_HISTORY_FIELDS,
    VALUATION_SCHEMA,
    VENDOR,
    check_body,
    parse_date,
    rows_of,
    screen_frame,
)

VENDOR_VALUATION_KEY = ["raw", "krx_vendor_valuation"]
ROWS_CHECK = "rows_pass_expectations"
RECORDED_FOLDER = "fixtures/krx"
"""The bundled recordings, relative to ``data/sample/`` (listed in their ``index.json``)."""
SCREENS = {VALUATION.name: VALUATION, VALUATION_HISTORY.name: VALUATION_HISTORY}
_RENAMES = {"date": "trade_date", "code": "ticker", "name": "company_name"}
_COMPARED = ("close", "eps", "per", "bps", "pbr", "dps", "dividend_yield_pct")


class KrxValuationConfig(Config):
    """Run configuration of ``raw/krx_vendor_valuation``."""

    include_recorded_responses: bool = Field(
        default=True,
        description="Also read the real KRX responses bundled in data/sample/fixtures/krx (KOSPI ratios "
        "of 2021-01-08, Samsung Electronics 2020-01..04); the raw store under RAW_RESPONSES_DIR wins where "
        "both have a ticker and day.",
    )


@dataclass(frozen=True)
class StoredResponse:
    """One stored answer of a ratio screen: its query parameters, where it is, how to read it."""

    screen: str
    params: dict[str, str]
    source_file: str
    from_raw_store: bool
    read: Callable[[], bytes]


def _key_params(name: str) -> dict[str, str]:
    """``mktId=STK_trdDd=20210108.json`` -> ``{"mktId": "STK", "trdDd": "20210108"}``."""
    stem = name.removesuffix(".json")
    return dict(part.split("=", 1) for part in stem.split("_") if "=" in part)


def raw_store_responses(store: RawResponseStore) -> list[StoredResponse]:
    """The ratio-screen responses kept in the KRX raw store (sorted by key)."""
    found = []
    for screen in SCREENS:
        for key in store.keys(screen):
            path = store.directory / key
            found.append(
                StoredResponse(screen, _key_params(Path(key).name), f"raw_store:{VENDOR}/{key}", True, path.read_bytes)
            )
    return found


def recorded_responses(folder: Path) -> list[StoredResponse]:
    """The ratio-screen recordings of ``folder`` (a copy of ``data/sample/fixtures/krx``), from
    its ``index.json`` (method, URL and form body of each request)."""
    found = []
    for entry in json.loads((folder / "index.json").read_text(encoding="utf-8")):
        form = parse_qs(entry.get("request_body") or "")
        screen = (form.get("bld") or [""])[0].rsplit("/", 1)[-1]
        if screen in SCREENS:
            path = folder / entry["file"]
            params = {name: values[0] for name, values in form.items() if name != "bld"}
            found.append(StoredResponse(screen, params, f"bundled:{RECORDED_FOLDER}/{entry['file']}", False, path.read_bytes))
    return sorted(found, key=lambda r: r.source_file)


def response_frame(response: StoredResponse) -> pl.DataFrame:
    """The rows of one stored response as :data:`~pipelines.defs.fundamentals.korean_tables.VENDOR_VALUE_COLUMNS`.

    Raises:
        VendorResponseError: the body is not the screen's JSON (names the file).
        ValueError: a value is not a number, or the query lacks its day / ISIN (names the file).
    """
    screen = SCREENS[response.screen]
    where = f"{response.source_file} [{screen.bld}]"
    body = parse_json_body(VENDOR, where, response.read(), lambda b: check_body(b, screen.block, screen.columns))
    try:
        if screen is VALUATION:
            given, fields = {"date": parse_date(response.params["trdDd"], "trdDd")}, VALUATION_FIELDS
        else:
            isin = response.params["isuCd"]
            given, fields = {"code": isin[3:9], "name": None}, VALUATION_HISTORY_FIELDS
        frame = screen_frame(rows_of(body, screen.block), VALUATION_SCHEMA, fields, given)
    except KeyError as error:
        raise ValueError(f"{response.source_file}: the query has no parameter {error}") from None
    except ValueError as error:
        raise ValueError(f"{response.source_file}: {error}") from None
    return frame.rename(_RENAMES).with_columns(
        screen=pl.lit(response.screen), source_file=pl.lit(response.source_file)
    ).select(VENDOR_VALUE_COLUMNS)


@dataclass(frozen=True)
class KeptRows:
    """Valid rows reduced to one per (ticker, trade_date): ``kept``, the number of exact
    ``duplicates`` dropped, and ``conflicts`` (input columns + ``reason``)."""

    kept: pl.DataFrame
    duplicates: int
    conflicts: pl.DataFrame


def one_row_per_key(frame: pl.DataFrame, raw_store_files: set[str]) -> KeptRows:
    """Keep one row per (ticker, trade_date): raw store before recordings, 03501 before 03502,
    then ``source_file`` order (see the module docstring)."""
    ranked = frame.with_row_index("_row").with_columns(
        _origin=pl.when(pl.col("source_file").is_in(list(raw_store_files))).then(0).otherwise(1),
    ).sort("_origin", "screen", "source_file", "_row")
    # the frame is in preference order: a key's first row is the one kept
    ranked = ranked.with_columns(_first=pl.col("_row").first().over("ticker", "trade_date"))
    kept = ranked.filter(pl.col("_row") == pl.col("_first"))
    others = ranked.filter(pl.col("_row") != pl.col("_first")).join(
        kept.select("_row", *(pl.col(c).alias(f"_kept_{c}") for c in (*_COMPARED, "source_file"))),
        left_on="_first", right_on="_row",
    )  # fmt: skip
    same = pl.all_horizontal(pl.col(c).eq_missing(pl.col(f"_kept_{c}")) for c in _COMPARED)
    conflicts = others.filter(~same).with_columns(
        reason=pl.format("conflicts_with: {}", pl.col("_kept_source_file"))
    ).select(*VENDOR_VALUE_COLUMNS, "reason")
    return KeptRows(kept.sort("_row").select(VENDOR_VALUE_COLUMNS), others.filter(same).height, conflicts)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@asset(
    key=VENDOR_VALUATION_KEY,
    group_name="fundamentals",
    kinds={"python", "polars", "duckdb", "postgres"},
    owners=["team:data-engineering"],
    tags={"layer": "raw"},
    description="KRX's own per-ticker ratios (PER, PBR, EPS, BPS, DPS in KRW, dividend yield in percent) "
    "per ticker and day, from every stored response of the portal screens MDCSTAT03501/03502 in the KRX raw "
    "store and (run config include_recorded_responses, default) the bundled recordings. No HTTP call.",
    check_specs=[
        AssetCheckSpec(
            ROWS_CHECK,
            asset=VENDOR_VALUATION_KEY,
            blocking=True,
            description="The Great Expectations suite krx_vendor_valuation_rows passes on the stored rows "
            "(ticker a 6-character KRX code, one row per ticker and day, PER/PBR/DPS >= 0, dividend yield in "
            "0..100 %, close > 0), and input rows = loaded + duplicates + rejected.",
        )
    ],
)
def krx_vendor_valuation(
    context: AssetExecutionContext,
    config: KrxValuationConfig,
    warehouse: WarehouseResource,
    raw_responses: RawResponsesResource,
):
    store = raw_responses.store(VENDOR)
    responses = raw_store_responses(store)
    if config.include_recorded_responses:
        responses += recorded_responses(bundled_path(RECORDED_FOLDER))
    frames = [response_frame(response) for response in responses]
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=_empty_schema())
    split = split_valid_rejected(frame, vendor_suite(with_key_uniqueness=False), vendor_frame_for_suite)
    kept = one_row_per_key(split.valid, {r.source_file for r in responses if r.from_raw_store})
    loaded_at = _now()
    loaded = kept.kept.with_columns(loaded_at=pl.lit(loaded_at))
    rejected = pl.concat([split.rejected, kept.conflicts]).with_columns(loaded_at=pl.lit(loaded_at))
    with warehouse.connect() as wh:
        ensure_vendor_valuation_tables(wh)
        wh.replace_rows(
            [Replacement(vendor_valuation_table(wh), loaded), Replacement(rejected_vendor_valuation_table(wh), rejected)]
        )
        stored = wh.fetch_frame(f"select * from {vendor_valuation_table(wh)}")
        stored_rejected = wh.row_count(rejected_vendor_valuation_table(wh))
    stored_outcome = validate(stored, vendor_suite(with_key_uniqueness=True), vendor_frame_for_suite)
    counts = {"input_rows": frame.height, "loaded_rows": stored.height, "duplicate_rows": kept.duplicates,
              "rejected_rows": stored_rejected}  # fmt: skip
    context.log.info(f"{vendor_valuation_table(wh)}: {counts} from {len(responses)} responses")
    yield MaterializeResult(
        metadata={
            "dagster/row_count": stored.height,
            **counts,
            "tickers": stored["ticker"].n_unique(),
            "trade_dates": stored["trade_date"].n_unique(),
            "responses": MetadataValue.json([r.source_file for r in responses]),
            "failed_rows_by_rule": MetadataValue.json(split.outcome.failed_rows_by_rule),
            "raw_store": MetadataValue.path(str(store.directory)),
        }
    )
    yield AssetCheckResult(
        check_name=ROWS_CHECK,
        passed=stored_outcome.success and frame.height == stored.height + kept.duplicates + stored_rejected,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            **counts,
            "stored_rows_failed_by_rule": MetadataValue.json(stored_outcome.failed_rows_by_rule),
            "evaluated_expectations": stored_outcome.evaluated_expectations,
        },
    )


def _empty_schema() -> dict[str, pl.DataType]:
    types = {_RENAMES.get(name, name): dtype for name, dtype in VALUATION_SCHEMA.items()}
    return {name: types.get(name, pl.String()) for name in VENDOR_VALUE_COLUMNS}

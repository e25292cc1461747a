"""SEC fundamentals, raw layer: ``raw/sec_company_tickers`` and ``raw/sec_facts``.

``FUNDAMENTALS_SOURCE`` chooses where the JSON comes from:

* ``bundled`` (default): the real SEC responses in ``data/sample/sec/`` — companyfacts of Apple
  (0000320193), NVIDIA (0001045810), Alphabet (0001652044), Marvell (0001835632) and SEC's full
  ticker map (``company_tickers.json.gz``). No HTTP.
* ``sec``: ``www.sec.gov/files/company_tickers.json``, then ``data.sec.gov`` companyfacts for
  every CIK of the universe = the tickers of ``raw.companies`` (``BRK.B`` looked up as SEC's
  ``BRK-B``) found in ``raw.sec_company_tickers``. Needs ``SEC_USER_AGENT`` with a contact
  e-mail; at most 10 requests/s; bodies kept in ``data/raw/sec/`` and reused by reruns (run config
  ``refetch: true`` fetches again). A CIK SEC answers 404 for is skipped with a warning and listed
  in the ``skipped_ciks`` metadata; any other HTTP or body error fails the run (CIKs already
  written stay; a rerun reuses their stored bodies).

Each CIK's facts and quarantined facts are replaced in ONE transaction (``delete where cik = ?`` +
insert), so reruns are idempotent; rows of CIKs not in the run are left alone. Tables:
:mod:`pipelines.defs.fundamentals.tables`; parsing: :func:`pipelines.sources.sec.parse_companyfacts`.
"""

from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from domain.datasets import require_file
from domain.warehouse import Replacement, Warehouse
from pipelines.defs.fundamentals.tables import (
    ensure_sec_tables,
    facts_table,
    rejected_facts_table,
    tickers_table,
)
from pipelines.lib.resources import (
    FundamentalsSourceResource,
    RawResponsesResource,
    WarehouseResource,
)
from pipelines.sources.sec import (
    BUNDLED_COMPANY_TICKERS,
    FACT_KEY,
    VENDOR,
    SecClient,
    SecCompanyNotFoundError,
    bundled_companyfacts_files,
    check_company_tickers,
    check_companyfacts,
    company_tickers_to_frame,
    parse_companyfacts,
    read_bundled_json,
    sec_ticker,
)

TICKERS_KEY = ["raw", "sec_company_tickers"]
FACTS_KEY = ["raw", "sec_facts"]
INTEGRITY_CHECK = "sec_facts_integrity"
COVERAGE_CHECK = "sec_facts_coverage"
MAX_REJECTED_SHARE = 0.01
"""Coverage check: at most this share of a CIK's input facts may be quarantined."""
REQUIRED_COLUMNS = ("cik", "taxonomy", "concept", "unit", "period_end", "filed", "form", "accn", "value")


class SecFetchConfig(Config):
    """Run configuration of the SEC assets."""

    refetch: bool = Field(
        default=False,
        description="FUNDAMENTALS_SOURCE=sec only: fetch from SEC again even where data/raw/sec "
        "holds a stored response (default: reuse stored responses).",
    )


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _client(fundamentals: FundamentalsSourceResource, raw_responses: RawResponsesResource) -> SecClient:
    return SecClient(fundamentals.sec_user_agent, raw_responses.store(VENDOR))


@asset(
    key=TICKERS_KEY,
    group_name="fundamentals",
    kinds={"python", "polars", "duckdb", "postgres"},
    owners=["team:data-engineering"],
    tags={"layer": "raw"},
    description="SEC's ticker -> CIK map (company_tickers.json), one row per ticker: cik (10 "
    "digits), ticker (SEC spelling, e.g. BRK-B), title. A CIK with several share classes has "
    "several tickers (Alphabet: GOOGL, GOOG). Bundled copy or www.sec.gov per FUNDAMENTALS_SOURCE.",
)
def sec_company_tickers(
    context: AssetExecutionContext,
    config: SecFetchConfig,
    warehouse: WarehouseResource,
    fundamentals: FundamentalsSourceResource,
    raw_responses: RawResponsesResource,
) -> MaterializeResult:
    origin: dict[str, Any]
    if fundamentals.source == "sec":
        with _client(fundamentals, raw_responses) as client:
            document = client.company_tickers(refetch=config.refetch)
        body, source = document.body, document.source
        origin = {"raw_response": MetadataValue.path(str(document.raw_path)), "fetched": document.fetched}
    else:
        body = read_bundled_json(require_file(BUNDLED_COMPANY_TICKERS), check_company_tickers)
        source = f"bundled:{BUNDLED_COMPANY_TICKERS.name}"
        origin = {"source_file": MetadataValue.path(str(BUNDLED_COMPANY_TICKERS))}
    frame = company_tickers_to_frame(body, source).with_columns(source=pl.lit(source), loaded_at=pl.lit(_now()))
    with warehouse.connect() as wh:
        ensure_sec_tables(wh)
        wh.replace_rows([Replacement(tickers_table(wh), frame)])
    per_cik = frame.group_by("cik").len()
    return MaterializeResult(
        metadata={
            "dagster/row_count": frame.height,
            "ciks": per_cik.height,
            "ciks_with_several_tickers": per_cik.filter(pl.col("len") > 1).height,
            "source": source,
            **origin,
        }
    )


def _universe(wh: Warehouse) -> tuple[list[str], dict[str, list[str]], list[str]]:
    """sec mode: (CIKs to fetch, universe tickers per CIK, universe tickers without a CIK).

    Raises:
        RuntimeError: ``raw.companies`` is missing or empty, or the ticker map is empty.
    """
    companies = wh.table("raw", "companies")
    try:
        tickers = wh.fetch_frame(f"select ticker from {companies} order by ticker")["ticker"].to_list()
    except Exception as error:  # DuckDB CatalogException / psycopg UndefinedTable
        raise RuntimeError(f"FUNDAMENTALS_SOURCE=sec needs {companies} (materialize raw/companies): {error}") from error
    ticker_map = wh.fetch_frame(f"select ticker, cik from {tickers_table(wh)}")
    if not tickers or ticker_map.height == 0:
        raise RuntimeError(
            f"FUNDAMENTALS_SOURCE=sec: no universe ({len(tickers)} tickers in {companies}, "
            f"{ticker_map.height} in {tickers_table(wh)}; materialize raw/companies and raw/sec_company_tickers)"
        )
    cik_of = dict(ticker_map.iter_rows())
    per_cik: dict[str, list[str]] = {}
    unmapped = []
    for ticker in tickers:
        cik = cik_of.get(sec_ticker(ticker))
        if cik is None:
            unmapped.append(ticker)
        else:
            per_cik.setdefault(cik, []).append(ticker)
    return sorted(per_cik), per_cik, unmapped


def _documents(
    context: AssetExecutionContext,
    fundamentals: FundamentalsSourceResource,
    raw_responses: RawResponsesResource,
    ciks: list[str],
    refetch: bool,
    skipped: list[str],
    reused: list[str],
) -> Iterator[tuple[str, Callable[[], tuple[Any, str]]]]:
    """(cik, loader) per CIK; the loader returns (document, source)."""
    if fundamentals.source != "sec":
        for cik, path in bundled_companyfacts_files().items():
            yield cik, lambda path=path: (read_bundled_json(path, check_companyfacts), f"bundled:{path.name}")
        return
    with _client(fundamentals, raw_responses) as client:
        for number, cik in enumerate(ciks, 1):
            try:
                document = client.companyfacts(cik, refetch=refetch)
            except SecCompanyNotFoundError as error:
                context.log.warning(f"skipping CIK {cik}: {error}")
                skipped.append(cik)
                continue
            if not document.fetched:
                reused.append(cik)
            if number % 50 == 0:
                context.log.info(f"SEC companyfacts: {number}/{len(ciks)} CIKs")
            yield cik, lambda document=document: (document.body, document.source)


@asset(
    key=FACTS_KEY,
    deps=[sec_company_tickers, AssetKey(["raw", "companies"])],
    group_name="fundamentals",
    kinds={"python", "polars", "duckdb", "postgres"},
    owners=["team:data-engineering"],
    tags={"layer": "raw"},
    description="SEC XBRL companyfacts as a long table, one row per distinct fact (cik, taxonomy, "
    "concept, unit, period_start, period_end, accn): fy, fp, form, filed, frame, value (double, in "
    "unit). Exact duplicates are dropped (counted); conflicting or unparseable facts are quarantined "
    "in raw.rejected_sec_facts with a reason. Bundled: Apple, NVIDIA, Alphabet, Marvell; sec: every "
    "CIK of raw.companies' tickers.",
    check_specs=[
        AssetCheckSpec(
            INTEGRITY_CHECK,
            asset=FACTS_KEY,
            blocking=True,
            description="Whole table: no two rows share (cik, taxonomy, concept, unit, period_start, "
            "period_end, accn); cik, taxonomy, concept, unit, period_end, filed, form, accn, value not "
            "null; period_start <= period_end; cik has 10 digits; and for every CIK of the run, input "
            "facts = loaded + duplicates + rejected.",
        ),
        AssetCheckSpec(
            COVERAGE_CHECK,
            asset=FACTS_KEY,
            blocking=True,
            description="Every CIK of the run whose document has facts has rows in raw.sec_facts, maps "
            "to at least one ticker in raw.sec_company_tickers, and had at most 1 % of its input facts "
            "quarantined (more means SEC's format changed or the parser is wrong).",
        ),
    ],
)
def sec_facts(
    context: AssetExecutionContext,
    config: SecFetchConfig,
    warehouse: WarehouseResource,
    fundamentals: FundamentalsSourceResource,
    raw_responses: RawResponsesResource,
):
    loaded_at = _now()
    per_cik: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []
    reused: list[str] = []
    universe: dict[str, Any] = {}
    with warehouse.connect() as wh:
        ensure_sec_tables(wh)
        ciks: list[str] = []
        if fundamentals.source == "sec":
            ciks, universe_tickers, unmapped = _universe(wh)
            universe = {
                "universe_tickers": sum(len(t) for t in universe_tickers.values()) + len(unmapped),
                "universe_ciks": len(ciks),
                "unmapped_tickers": MetadataValue.json(unmapped),
            }
            if unmapped:
                context.log.warning(f"{len(unmapped)} tickers of raw.companies have no CIK in SEC's map: {unmapped}")
        first_ticker = _first_ticker_per_cik(wh)
        for cik, load in _documents(context, fundamentals, raw_responses, ciks, config.refetch, skipped, reused):
            document, source = load()
            parsed = parse_companyfacts(document, source)
            stamp = {"source": pl.lit(source), "loaded_at": pl.lit(loaded_at)}
            facts = parsed.facts.with_columns(**stamp, ticker=pl.lit(first_ticker.get(cik), dtype=pl.Utf8))
            wh.replace_rows(
                [
                    Replacement(facts_table(wh), facts, "cik = ?", (cik,)),
                    Replacement(rejected_facts_table(wh), parsed.rejected.with_columns(**stamp), "cik = ?", (cik,)),
                ]
            )
            per_cik[cik] = {"entity_name": parsed.entity_name, **parsed.counts(), "source": source}
            context.log.info(f"{cik} {parsed.entity_name}: {parsed.counts()}")
        integrity = _integrity(wh)
        stored = _stored_per_cik(wh, list(per_cik))
        total_rows = wh.row_count(facts_table(wh))
        total_rejected = wh.row_count(rejected_facts_table(wh))

    for cik, counts in per_cik.items():
        counts["tickers"] = stored["tickers"].get(cik, [])
    totals = {
        name: sum(c[name] for c in per_cik.values()) for name in ("input", "loaded", "duplicates", "rejected")
    }
    unreconciled = [c for c, n in per_cik.items() if n["input"] != n["loaded"] + n["duplicates"] + n["rejected"]]
    with_facts = [c for c, n in per_cik.items() if n["input"] > 0]
    missing_rows = [c for c in with_facts if stored["rows"].get(c, 0) == 0]
    without_ticker = [c for c in with_facts if not stored["tickers"].get(c)]
    over_rejected = [c for c in with_facts if per_cik[c]["rejected"] > MAX_REJECTED_SHARE * per_cik[c]["input"]]
    counts_metadata = {
        "input_facts": totals["input"],
        "loaded_facts": totals["loaded"],
        "duplicate_facts": totals["duplicates"],
        "rejected_facts": totals["rejected"],
    }
    yield MaterializeResult(
        metadata={
            "dagster/row_count": total_rows,
            "rejected_rows_total": total_rejected,
            "fundamentals_source": fundamentals.source,
            "ciks_loaded": len(per_cik),
            **counts_metadata,
            "facts_per_cik": MetadataValue.json(per_cik),
            "facts_per_cik_table": MetadataValue.md(_markdown(per_cik)),
            "skipped_ciks": MetadataValue.json(skipped),
            "ciks_without_facts": MetadataValue.json([c for c, n in per_cik.items() if n["input"] == 0]),
            **({"ciks_from_raw_store": len(reused)} if fundamentals.source == "sec" else {}),
            **universe,
        }
    )
    yield AssetCheckResult(
        check_name=INTEGRITY_CHECK,
        passed=not any(integrity.values()) and not unreconciled,
        severity=AssetCheckSeverity.ERROR,
        metadata={**integrity, "ciks_not_reconciled": MetadataValue.json(unreconciled), **counts_metadata},
    )
    yield AssetCheckResult(
        check_name=COVERAGE_CHECK,
        passed=not (missing_rows or without_ticker or over_rejected),
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "ciks_checked": len(with_facts),
            "ciks_without_rows": MetadataValue.json(missing_rows),
            "ciks_without_ticker": MetadataValue.json(without_ticker),
            "ciks_over_rejected_share": MetadataValue.json(over_rejected),
            "max_rejected_share": MAX_REJECTED_SHARE,
            "skipped_ciks": MetadataValue.json(skipped),
        },
    )


def _integrity(wh: Warehouse) -> dict[str, int]:
    """Violation counts over the whole facts table (all zero when it is sound)."""
    table = facts_table(wh)
    key = ", ".join(FACT_KEY)
    nulls = " or ".join(f"{column} is null" for column in REQUIRED_COLUMNS)
    row = wh.fetch_frame(
        f"""select
            (select count(*) from (select {key} from {table} group by {key} having count(*) > 1) d)
                as duplicate_keys,
            (select count(*) from {table} where {nulls}) as rows_with_null_required,
            (select count(*) from {table} where period_start > period_end) as rows_start_after_end,
            (select count(*) from {table} where length(cik) <> 10) as rows_bad_cik"""
    ).row(0, named=True)
    return {name: int(value) for name, value in row.items()}


def _first_ticker_per_cik(wh: Warehouse) -> dict[str, str]:
    """CIK -> its alphabetically first ticker in raw.sec_company_tickers, warehouse spelling
    (SEC's ``BRK-B`` is ``BRK.B``)."""
    frame = wh.fetch_frame(f"select cik, min(ticker) as ticker from {tickers_table(wh)} group by cik")
    return {cik: ticker.replace("-", ".") for cik, ticker in frame.iter_rows()}


def _stored_per_cik(wh: Warehouse, ciks: list[str]) -> dict[str, dict[str, Any]]:
    """Rows in raw.sec_facts and tickers in raw.sec_company_tickers of each CIK of the run."""
    if not ciks:
        return {"rows": {}, "tickers": {}}
    marks = ", ".join("?" for _ in ciks)
    rows = wh.fetch_frame(
        f"select cik, count(*) as n from {facts_table(wh)} where cik in ({marks}) group by cik", ciks
    )
    tickers = wh.fetch_frame(
        f"select cik, ticker from {tickers_table(wh)} where cik in ({marks}) order by cik, ticker", ciks
    )
    listed: dict[str, list[str]] = {}
    for cik, ticker in tickers.iter_rows():
        listed.setdefault(cik, []).append(ticker)
    return {"rows": {cik: int(n) for cik, n in rows.iter_rows()}, "tickers": listed}


def _markdown(per_cik: dict[str, dict[str, Any]]) -> str:
    lines = ["| cik | tickers | entity | input | loaded | duplicates | rejected |", "|---|---|---|---|---|---|---|"]
    for cik, n in per_cik.items():
        lines.append(
            f"| {cik} | {', '.join(n.get('tickers', []))} | {n['entity_name']} | {n['input']} | {n['loaded']} "
            f"| {n['duplicates']} | {n['rejected']} |"
        )
    return "\n".join(lines)

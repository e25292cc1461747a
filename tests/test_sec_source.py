"""SEC companyfacts: the client (offline, respx replaying the real bundled responses), the parser
on the real files, and the raw/sec_* assets on DuckDB and PostgreSQL.

The four bundled companyfacts files hold no exact duplicate and no conflicting fact (checked by
the counts below), so the duplicate/quarantine paths are exercised on copies of Apple's document
to which real facts are added or altered; each such change is spelled out where it is made.
"""

from __future__ import annotations

import copy
import gzip
import json
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import psycopg
import pytest
import respx
from dagster import DagsterInstance, materialize

from domain.settings import BUNDLED_CONSTITUENTS_CSV
from domain.warehouse import Replacement
from pipelines.defs.fundamentals.assets import (
    COVERAGE_CHECK,
    INTEGRITY_CHECK,
    sec_company_tickers,
    sec_facts,
)
from pipelines.lib.http import RawResponseStore, VendorResponseError
from pipelines.sources.sec import (
    BUNDLED_COMPANY_TICKERS,
    BUNDLED_SEC_DIR,
    COMPANY_TICKERS_URL,
    COMPANYFACTS_URL,
    FACT_SCHEMA,
    SecClient,
    SecCompanyNotFoundError,
    SecConfigurationError,
    bundled_companyfacts_files,
    company_tickers_to_frame,
    companyfacts_to_frame,
    parse_companyfacts,
    sec_policy,
    sec_ticker,
)
from tests.conftest import postgres_settings, resources_for, scratch_database, test_settings

AGENT = "Stock Warehouse Tests ops@example.com"
APPLE, NVIDIA, ALPHABET, MARVELL, BERKSHIRE = "0000320193", "0001045810", "0001652044", "0001835632", "0001067983"
# (input facts = loaded, entity name) read from the bundled files: no duplicates, no rejects
REAL_COUNTS = {
    APPLE: (24579, "Apple Inc."),
    NVIDIA: (26903, "NVIDIA CORP"),
    ALPHABET: (20324, "ALPHABET INC."),
    MARVELL: (8053, "MARVELL TECHNOLOGY, INC"),
}
EPS_Q2_FY2013 = {"concept": "EarningsPerShareDiluted", "period_start": date(2012, 12, 30), "period_end": date(2013, 3, 30)}
FACT_COLUMNS = "cik, taxonomy, concept, unit, period_start, period_end, fy, fp, form, filed, frame, accn, value, source"


def _raw_bytes(cik: str) -> bytes:
    return gzip.decompress((BUNDLED_SEC_DIR / f"companyfacts_CIK{cik}.json.gz").read_bytes())


def _doc(cik: str) -> dict:
    return json.loads(_raw_bytes(cik))


@pytest.fixture(scope="module")
def apple() -> dict:
    return _doc(APPLE)


def _eps_rows(frame: pl.DataFrame) -> list[tuple]:
    return (
        frame.filter(**EPS_Q2_FY2013)
        .sort("filed", "accn")
        .select("accn", "filed", "form", "fy", "fp", "frame", "value")
        .rows()
    )


# --------------------------------------------------------------------------------------------- parser


def test_apple_facts_real_values_and_restatement(apple):
    frame = companyfacts_to_frame(apple, "bundled:companyfacts_CIK0000320193.json.gz")
    assert frame.schema == pl.Schema(FACT_SCHEMA)
    assert list(frame.columns) == [
        "cik", "taxonomy", "concept", "unit", "period_start", "period_end", "fy", "fp", "form", "filed",
        "frame", "accn", "value",
    ]
    assert frame.height == 24579
    assert frame["cik"].unique().to_list() == [APPLE]
    # Q2 FY2013 diluted EPS: 10.09 as filed in 2013 and April 2014, 1.44 after the June 2014 7-for-1 split
    assert _eps_rows(frame) == [
        ("0001193125-13-168288", date(2013, 4, 24), "10-Q", 2013, "Q2", None, 10.09),
        ("0001193125-13-416534", date(2013, 10, 30), "10-K", 2013, "FY", None, 10.09),
        ("0001193125-14-157311", date(2014, 4, 24), "10-Q", 2014, "Q2", None, 10.09),
        ("0001193125-14-383437", date(2014, 10, 27), "10-K", 2014, "FY", None, 1.44),
        ("0001193125-15-023732", date(2015, 1, 28), "8-K", None, None, "CY2013Q1", 1.44),
    ]
    # an instant fact: no period_start, frame with the I suffix
    shares = frame.filter(concept="EntityCommonStockSharesOutstanding", period_end=date(2009, 6, 27)).row(0, named=True)
    assert shares == {
        "cik": APPLE, "taxonomy": "dei", "concept": "EntityCommonStockSharesOutstanding", "unit": "shares",
        "period_start": None, "period_end": date(2009, 6, 27), "fy": 2009, "fp": "Q3", "form": "10-Q",
        "filed": date(2009, 7, 22), "frame": "CY2009Q2I", "accn": "0001193125-09-153165", "value": 895816758.0,
    }
    assert frame.filter(pl.col("period_start").is_null()).height == 24579 - 15401
    assert frame.filter(pl.col("fy").is_null())["form"].unique().to_list() == ["8-K"]


@pytest.mark.parametrize("cik", sorted(REAL_COUNTS))
def test_real_files_have_no_duplicates_or_conflicts(cik):
    parsed = parse_companyfacts(_doc(cik), f"bundled:{cik}")
    facts, name = REAL_COUNTS[cik]
    assert (parsed.cik, parsed.entity_name) == (cik, name)
    assert parsed.counts() == {"input": facts, "loaded": facts, "duplicates": 0, "rejected": 0}
    assert parsed.facts.select(["cik", "taxonomy", "concept", "unit", "period_start", "period_end", "accn"]).is_unique().all()


def test_duplicates_dropped_conflicts_and_unparseable_quarantined(apple):
    doc = copy.deepcopy(apple)
    eps = doc["facts"]["us-gaap"]["EarningsPerShareDiluted"]["units"]["USD/shares"]
    by_accn = {f["accn"]: f for f in eps if f.get("start") == "2012-12-30" and f["end"] == "2013-03-30"}
    q3 = [f for f in eps if f.get("start") == "2013-03-31" and f["end"] == "2013-06-29"]
    framed = next(f for f in q3 if "frame" in f)  # the 8-K fact carrying frame CY2013Q2
    # 1. exact duplicate: the framed Q3 fact listed again WITHOUT its frame, before the original
    eps.insert(0, {k: v for k, v in framed.items() if k != "frame"})
    # 2. conflict: the April 2013 10-Q also reporting the restated 1.44 for its own Q2 (10.09 there)
    eps.append({**by_accn["0001193125-13-168288"], "val": 1.44})
    # 3. unparseable: a real fact with an impossible filed date, and one without its value
    eps.append({**by_accn["0001193125-14-157311"], "filed": "2014-02-30", "accn": "x-1"})
    eps.append({k: v for k, v in by_accn["0001193125-14-383437"].items() if k != "val"} | {"accn": "x-2"})

    parsed = parse_companyfacts(doc, "test:apple-altered")
    assert parsed.counts() == {"input": 24579 + 4, "loaded": 24579 - 1, "duplicates": 1, "rejected": 4}
    assert parsed.input_facts == parsed.facts.height + parsed.duplicates + parsed.rejected.height
    # the kept duplicate is the one with the frame
    kept_q3 = parsed.facts.filter(concept="EarningsPerShareDiluted", period_end=date(2013, 6, 29), accn=framed["accn"])
    assert kept_q3.filter(pl.col("period_start") == date(2013, 3, 31))["frame"].to_list() == ["CY2013Q2"]
    # both facts of the conflicting key are out, the other filings of that period stay
    assert [row[0] for row in _eps_rows(parsed.facts)] == [
        "0001193125-13-416534", "0001193125-14-157311", "0001193125-14-383437", "0001193125-15-023732",
    ]
    rejected = {(r["accn"], r["value"]): r for r in parsed.rejected.iter_rows(named=True)}
    conflict_reason = (
        "conflicting_values: 2 facts of this period and unit in filing 0001193125-13-168288 carry 2 different values"
    )
    assert rejected[("0001193125-13-168288", 10.09)]["reason"] == conflict_reason
    assert rejected[("0001193125-13-168288", 1.44)]["reason"] == conflict_reason
    assert rejected[("x-1", 10.09)]["reason"] == "unparseable: filed is not a YYYY-MM-DD date: '2014-02-30'"
    assert rejected[("x-1", 10.09)]["period_start"] == date(2012, 12, 30)
    assert rejected[("x-2", None)]["reason"] == "unparseable: missing val"
    assert json.loads(rejected[("x-2", None)]["fact_json"])["filed"] == "2014-10-27"
    assert set(parsed.rejected["cik"]) == {APPLE}


def test_body_checks_name_what_is_missing(apple):
    with pytest.raises(VendorResponseError, match=r"test:doc: missing key\(s\) entityName, facts"):
        parse_companyfacts({"cik": 320193}, "test:doc")
    broken = {**apple, "facts": {"us-gaap": {"Revenues": {"label": "Revenues"}}}}
    with pytest.raises(VendorResponseError, match=r"facts\['us-gaap'\]\['Revenues'\] has no 'units' object"):
        parse_companyfacts(broken, "test:doc")


def test_ticker_map_keeps_every_ticker_of_a_cik():
    body = json.loads(gzip.decompress(BUNDLED_COMPANY_TICKERS.read_bytes()))
    frame = company_tickers_to_frame(body, "bundled")
    assert frame.height == 9610
    assert frame["cik"].n_unique() == 7919
    assert frame.filter(cik=ALPHABET)["ticker"].to_list() == ["GOOGL", "GOOG"]
    cik_of = dict(frame.select("ticker", "cik").iter_rows())
    assert (cik_of["AAPL"], cik_of["NVDA"], cik_of["MRVL"]) == (APPLE, NVIDIA, MARVELL)
    assert cik_of[sec_ticker("BRK.B")] == BERKSHIRE
    assert frame.filter(cik=ALPHABET)["title"].to_list() == ["Alphabet Inc.", "Alphabet Inc."]


# --------------------------------------------------------------------------------------------- client


def test_user_agent_must_name_a_contact():
    for bad in ("", "   ", "Stock Warehouse Tests"):
        with pytest.raises(SecConfigurationError, match="SEC_USER_AGENT"):
            sec_policy(bad)
    policy = sec_policy(AGENT)
    assert (policy.user_agent, policy.rate_per_second, policy.vendor) == (AGENT, 10, "sec")


def test_client_sends_user_agent_stores_raw_and_reuses_it(tmp_path):
    url = COMPANYFACTS_URL.format(cik=APPLE)
    assert url == "https://data.sec.gov/api/xbrl/companyfacts/CIK0000320193.json"
    store = RawResponseStore(tmp_path, "sec")
    with respx.mock(assert_all_called=True) as router:
        route = router.get(url).respond(200, content=_raw_bytes(APPLE), headers={"Content-Type": "application/json"})
        with SecClient(AGENT, store) as client:
            first = client.companyfacts(320193)
        assert route.call_count == 1
        assert route.calls.last.request.headers["User-Agent"] == AGENT
        assert first.fetched and first.source == f"sec:{url}"
        assert first.raw_path == tmp_path / "sec" / "companyfacts" / "CIK0000320193.json"
        assert first.raw_path.read_bytes() == _raw_bytes(APPLE)

        with SecClient(AGENT, store) as client:  # a rerun: served from the raw store
            again = client.companyfacts(APPLE)
        assert route.call_count == 1
        assert not again.fetched and again.body == first.body

        with SecClient(AGENT, store) as client:
            client.companyfacts(APPLE, refetch=True)
        assert route.call_count == 2
    assert store.keys() == ["companyfacts/CIK0000320193.json"]


def test_bad_bodies_raise_naming_the_url(tmp_path):
    url = COMPANYFACTS_URL.format(cik=APPLE)
    store = RawResponseStore(tmp_path, "sec")
    with respx.mock() as router, SecClient(AGENT, store) as client:
        router.get(url).respond(200, json={"cik": 320193, "entityName": "Apple Inc."})
        with pytest.raises(VendorResponseError, match=rf"unexpected body from {url}: missing key\(s\) facts"):
            client.companyfacts(APPLE)
        router.get(url).respond(200, content=_raw_bytes(NVIDIA))  # another company's document
        with pytest.raises(VendorResponseError, match=f"'cik' {NVIDIA} is not the requested CIK {APPLE}"):
            client.companyfacts(APPLE)
        router.get(url).respond(200, content=b"<html>Request Rate Threshold Exceeded</html>")
        with pytest.raises(VendorResponseError, match=rf"{url}: body is not JSON"):
            client.companyfacts(APPLE)
    assert store.keys() == []  # nothing kept from a bad body


def test_missing_cik_is_a_clear_404(tmp_path):
    url = COMPANYFACTS_URL.format(cik=BERKSHIRE)
    with respx.mock() as router, SecClient(AGENT, RawResponseStore(tmp_path, "sec")) as client:
        route = router.get(url).respond(404, text="NoSuchKey")
        with pytest.raises(SecCompanyNotFoundError, match=f"HTTP 404 .*SEC has no companyfacts for CIK {BERKSHIRE}") as error:
            client.companyfacts(1067983)
    assert error.value.cik == BERKSHIRE and error.value.status == 404
    assert route.call_count == 1  # 4xx is not retried


# --------------------------------------------------------------------------------------------- assets


def _materialize(instance, settings, *, raise_on_error: bool = True, refetch: bool = False):
    config = {"ops": {name: {"config": {"refetch": refetch}} for name in ("raw__sec_company_tickers", "raw__sec_facts")}}
    return materialize(
        [sec_company_tickers, sec_facts],
        resources=resources_for(settings),
        instance=instance,
        raise_on_error=raise_on_error,
        run_config=config,
    )


def _metadata(result, key: str) -> dict:
    event = next(e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == key)
    return {name: value.value for name, value in event.materialization.metadata.items()}


def _checks(result) -> dict[str, bool]:
    return {c.check_name: c.passed for c in result.get_asset_check_evaluations()}


@pytest.fixture()
def sec_settings(tmp_path):
    """Settings of a SEC test: a DuckDB warehouse in ``tmp_path``; ``values`` override fields."""

    def settings(**values):
        return test_settings(tmp_path, **values)

    return settings


def _duck_rows(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_bundled_assets_load_and_rerun_identically_on_duckdb(sec_settings, tmp_path):
    settings = sec_settings()
    warehouse = settings.warehouse_path
    with DagsterInstance.ephemeral() as instance, respx.mock() as router:  # no route: any HTTP call fails
        result = _materialize(instance, settings)
        first = _duck_rows(warehouse, f"select {FACT_COLUMNS} from raw.sec_facts order by all")
        _materialize(instance, settings)
    assert not router.calls
    assert _duck_rows(warehouse, f"select {FACT_COLUMNS} from raw.sec_facts order by all") == first
    assert len(first) == 79859
    per_cik = dict(_duck_rows(warehouse, "select cik, count(*) from raw.sec_facts group by cik"))
    assert per_cik == {cik: n for cik, (n, _) in REAL_COUNTS.items()}
    assert _duck_rows(warehouse, "select count(*) from raw.rejected_sec_facts") == [(0,)]
    assert _duck_rows(
        warehouse,
        "select value, source from raw.sec_facts where concept = 'EarningsPerShareDiluted' "
        "and period_start = date '2012-12-30' and period_end = date '2013-03-30' and accn = '0001193125-14-383437'",
    ) == [(1.44, "bundled:companyfacts_CIK0000320193.json.gz")]
    assert _duck_rows(warehouse, f"select ticker from raw.sec_company_tickers where cik = '{ALPHABET}' order by 1") == [
        ("GOOG",), ("GOOGL",)
    ]
    assert _duck_rows(warehouse, "select count(*), count(distinct cik) from raw.sec_company_tickers") == [(9610, 7919)]

    facts = _metadata(result, "sec_facts")
    assert {k: facts[k] for k in ("input_facts", "loaded_facts", "duplicate_facts", "rejected_facts", "ciks_loaded")} == {
        "input_facts": 79859, "loaded_facts": 79859, "duplicate_facts": 0, "rejected_facts": 0, "ciks_loaded": 4,
    }
    assert facts["facts_per_cik"][ALPHABET] == {
        "entity_name": "ALPHABET INC.", "input": 20324, "loaded": 20324, "duplicates": 0, "rejected": 0,
        "source": "bundled:companyfacts_CIK0001652044.json.gz", "tickers": ["GOOG", "GOOGL"],
    }
    assert _metadata(result, "sec_company_tickers")["ciks_with_several_tickers"] == 1023
    assert _checks(result) == {INTEGRITY_CHECK: True, COVERAGE_CHECK: True}
    assert not (tmp_path / "raw").exists()  # bundled mode keeps no raw responses


def test_integrity_check_fails_on_a_duplicated_row(sec_settings, tmp_path):
    settings = sec_settings()
    warehouse = settings.warehouse_path
    with DagsterInstance.ephemeral() as instance:
        _materialize(instance, settings)
        # a row of a CIK outside the run (its rows are not replaced) copied: the key repeats
        with duckdb.connect(str(warehouse)) as con:
            con.execute(
                "insert into raw.sec_facts select * replace ('0000000001' as cik) from raw.sec_facts "
                "where concept = 'EarningsPerShareDiluted' and accn = '0001193125-14-383437' "
                "and period_start = date '2012-12-30' and period_end = date '2013-03-30'"
            )
            con.execute("insert into raw.sec_facts select * from raw.sec_facts where cik = '0000000001'")
        result = _materialize(instance, settings, raise_on_error=False)
    evaluation = next(c for c in result.get_asset_check_evaluations() if c.check_name == INTEGRITY_CHECK)
    assert not evaluation.passed
    assert evaluation.metadata["duplicate_keys"].value == 1


def _seed_companies(settings, tickers: list[str]) -> None:
    """raw.companies with these real rows of the bundled constituents file."""
    frame = (
        pl.read_csv(BUNDLED_CONSTITUENTS_CSV)
        .filter(pl.col("Symbol").is_in(tickers))
        .select(ticker="Symbol", company_name="Name", sector="Sector")
    )
    assert frame.height == len(tickers)
    with resources_for(settings)["warehouse"].connect() as wh:
        table = wh.table("raw", "companies")
        wh.ensure_schema("raw")
        wh.execute(f"create table if not exists {table} (ticker varchar, company_name varchar, sector varchar)")
        wh.replace_rows([Replacement(table, frame)])


def test_sec_mode_fetches_the_universe_skips_404_and_reuses_raw(sec_settings, tmp_path):
    raw = tmp_path / "raw"
    settings = sec_settings(fundamentals_source="sec", sec_user_agent=AGENT, raw_responses_dir=raw)
    warehouse = settings.warehouse_path
    # AAPL, NVDA, GOOGL+GOOG (one CIK), BRK.B (SEC: BRK-B; 404 here), FB (not in SEC's current map)
    _seed_companies(settings, ["AAPL", "NVDA", "GOOGL", "GOOG", "BRK.B", "FB"])
    tickers_body = gzip.decompress(BUNDLED_COMPANY_TICKERS.read_bytes())
    with DagsterInstance.ephemeral() as instance, respx.mock(assert_all_called=True) as router:
        map_route = router.get(COMPANY_TICKERS_URL).respond(200, content=tickers_body)
        fact_routes = {
            cik: router.get(COMPANYFACTS_URL.format(cik=cik)).respond(200, content=_raw_bytes(cik))
            for cik in (APPLE, NVIDIA, ALPHABET)
        }
        missing = router.get(COMPANYFACTS_URL.format(cik=BERKSHIRE)).respond(404, text="NoSuchKey")
        result = _materialize(instance, settings)
        assert [r.call_count for r in (map_route, *fact_routes.values(), missing)] == [1, 1, 1, 1, 1]
        assert {call.request.headers["User-Agent"] for call in router.calls} == {AGENT}

        facts = _metadata(result, "sec_facts")
        assert facts["skipped_ciks"] == [BERKSHIRE]
        assert facts["unmapped_tickers"] == ["FB"]
        assert (facts["universe_tickers"], facts["universe_ciks"], facts["ciks_loaded"]) == (6, 4, 3)
        assert facts["ciks_from_raw_store"] == 0
        assert _checks(result) == {INTEGRITY_CHECK: True, COVERAGE_CHECK: True}
        rows = _duck_rows(warehouse, "select cik, count(*), min(source) from raw.sec_facts group by cik order by cik")
        assert rows == [
            (cik, REAL_COUNTS[cik][0], f"sec:{COMPANYFACTS_URL.format(cik=cik)}") for cik in (APPLE, NVIDIA, ALPHABET)
        ]
        assert sorted(p.name for p in (raw / "sec" / "companyfacts").iterdir()) == [
            f"CIK{cik}.json" for cik in (APPLE, NVIDIA, ALPHABET)
        ]

        rerun = _materialize(instance, settings)  # stored bodies are reused: only the 404 is asked again
        assert [r.call_count for r in (map_route, *fact_routes.values(), missing)] == [1, 1, 1, 1, 2]
        assert _metadata(rerun, "sec_facts")["ciks_from_raw_store"] == 3
        assert _duck_rows(warehouse, "select cik, count(*), min(source) from raw.sec_facts group by cik order by cik") == rows

        _materialize(instance, settings, refetch=True)
        assert [r.call_count for r in (map_route, *fact_routes.values(), missing)] == [2, 2, 2, 2, 3]


def test_sec_mode_without_contact_fails_before_any_request(sec_settings, tmp_path):
    settings = sec_settings(fundamentals_source="sec", sec_user_agent="Stock Warehouse Tests", raw_responses_dir=tmp_path)
    with DagsterInstance.ephemeral() as instance, respx.mock() as router:
        result = _materialize(instance, settings, raise_on_error=False)
    assert not result.success and not router.calls
    failure = result.get_step_failure_events()[0].event_specific_data.error
    assert "SEC_USER_AGENT naming you and a contact e-mail" in (failure.cause or failure).message


@pytest.fixture()
def postgres_sec_db(postgres_server, tmp_path):
    with scratch_database(postgres_server, "sec") as database:
        yield database, postgres_settings(database, tmp_path).with_values(schema_prefix="s_")


def test_bundled_assets_on_postgres(postgres_sec_db):
    database, settings = postgres_sec_db

    def rows() -> list[tuple]:
        with psycopg.connect(database.conninfo) as con:
            return con.execute(f"select {FACT_COLUMNS} from s_raw.sec_facts order by 1, 2, 3, 4, 5, 6, 12").fetchall()

    with DagsterInstance.ephemeral() as instance:
        result = _materialize(instance, settings)
        first = rows()
        _materialize(instance, settings)
    assert rows() == first
    assert len(first) == 79859
    assert _checks(result) == {INTEGRITY_CHECK: True, COVERAGE_CHECK: True}
    with psycopg.connect(database.conninfo) as con:
        per_cik = dict(con.execute("select cik, count(*) from s_raw.sec_facts group by cik").fetchall())
        eps = con.execute(
            "select accn, filed, fy, value from s_raw.sec_facts where cik = %s and concept = 'EarningsPerShareDiluted' "
            "and period_start = '2012-12-30' and period_end = '2013-03-30' order by filed",
            [APPLE],
        ).fetchall()
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 's_raw' and table_name = 'sec_facts'"
            ).fetchall()
        )
        tickers = con.execute("select ticker from s_raw.sec_company_tickers where cik = %s order by 1", [ALPHABET]).fetchall()
        indexes = {r[0] for r in con.execute("select indexname from pg_indexes where schemaname = 's_raw'").fetchall()}
    assert per_cik == {cik: n for cik, (n, _) in REAL_COUNTS.items()}
    assert eps[0] == ("0001193125-13-168288", date(2013, 4, 24), 2013, 10.09)
    assert eps[3] == ("0001193125-14-383437", date(2014, 10, 27), 2014, 1.44)
    assert eps[4][2] is None  # the 8-K carries no fiscal year
    assert (types["value"], types["period_start"], types["fy"]) == ("double precision", "date", "integer")
    assert tickers == [("GOOG",), ("GOOGL",)]
    assert {"sec_facts_cik_idx", "rejected_sec_facts_cik_idx"} <= indexes


# --------------------------------------------------------------------------------------------- full build


def test_full_build_has_sec_staging(warehouse_con):
    con = warehouse_con
    assert con.execute("select count(*), count(distinct cik) from staging.stg_sec__facts").fetchone() == (79859, 4)
    rows = con.execute(
        "select accession_number, filed_date, duration_days, fy, fp, form, value from staging.stg_sec__facts "
        "where cik = ? and concept = 'EarningsPerShareDiluted' and period_start = date '2012-12-30' "
        "and period_end = date '2013-03-30' order by filed_date",
        [APPLE],
    ).fetchall()
    assert rows[0] == ("0001193125-13-168288", date(2013, 4, 24), 90, 2013, "Q2", "10-Q", 10.09)
    assert rows[3] == ("0001193125-14-383437", date(2014, 10, 27), 90, 2014, "FY", "10-K", 1.44)
    instants = con.execute(
        "select count(*) from staging.stg_sec__facts where period_start is null and duration_days is null"
    ).fetchone()[0]
    assert instants == 79859 - (15401 + 15363 + 10723 + 4573)
    assert con.execute(
        "select ticker, sec_ticker, company_name from staging.stg_sec__company_tickers where cik = ? order by ticker",
        [BERKSHIRE],
    ).fetchall() == [("BRK.A", "BRK-A", "BERKSHIRE HATHAWAY INC"), ("BRK.B", "BRK-B", "BERKSHIRE HATHAWAY INC")]


def test_full_postgres_build_has_sec_staging(built_postgres_warehouse):
    schema = f"{built_postgres_warehouse.schema_prefix}staging"
    with psycopg.connect(built_postgres_warehouse.conninfo) as con:
        rows = con.execute(
            f"select accession_number, duration_days, value from {schema}.stg_sec__facts where cik = %s "
            "and concept = 'EarningsPerShareDiluted' and period_start = '2012-12-30' and period_end = '2013-03-30' "
            "order by filed_date",
            [APPLE],
        ).fetchall()
        total = con.execute(f"select count(*) from {schema}.stg_sec__facts").fetchone()[0]
    assert total == 79859
    assert [r[2] for r in rows] == [10.09, 10.09, 10.09, 1.44, 1.44]
    assert {r[1] for r in rows} == {90}


def test_bundled_files_are_the_four_companies():
    assert sorted(bundled_companyfacts_files()) == sorted(REAL_COUNTS)


def test_code_location_has_the_sec_assets_and_lineage(definitions):
    from dagster import AssetKey

    graph = definitions.resolve_asset_graph()
    for key in (["raw", "sec_company_tickers"], ["raw", "sec_facts"]):
        node = graph.get(AssetKey(key))
        assert node.group_name == "fundamentals" and node.owners == ["team:data-engineering"]
        assert node.description and {"python", "polars"} <= set(node.kinds)
    facts = graph.get(AssetKey(["raw", "sec_facts"]))
    assert {AssetKey(["raw", "sec_company_tickers"]), AssetKey(["raw", "companies"])} <= set(facts.parent_keys)
    checks = graph.get_check_keys_for_assets({AssetKey(["raw", "sec_facts"])})
    assert {c.name for c in checks} == {INTEGRITY_CHECK, COVERAGE_CHECK}
    assert all(graph.get_check_spec(c).blocking for c in checks)
    staging = graph.get(AssetKey(["staging", "stg_sec__facts"]))
    assert AssetKey(["raw", "sec_facts"]) in staging.parent_keys
    tickers = graph.get(AssetKey(["staging", "stg_sec__company_tickers"]))
    assert AssetKey(["raw", "sec_company_tickers"]) in tickers.parent_keys
    job_keys = definitions.resolve_job_def("warehouse_build").asset_layer.selected_asset_keys
    assert {AssetKey(["raw", "sec_facts"]), AssetKey(["staging", "stg_sec__facts"])} <= set(job_keys)

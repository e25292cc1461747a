"""SEC EDGAR XBRL: companyfacts per company (CIK) and SEC's ticker -> CIK map.

Endpoints (SEC "EDGAR application programming interfaces"; no API key):

* ``https://data.sec.gov/api/xbrl/companyfacts/CIK##########.json`` — every XBRL fact *without
  dimensions* a company has filed: ``{"cik", "entityName", "facts": {taxonomy: {concept:
  {"label", "description", "units": {unit: [fact, ...]}}}}}``; a fact has ``start`` (absent for
  instants), ``end``, ``val``, ``accn``, ``fy``, ``fp``, ``form``, ``filed`` and sometimes
  ``frame``. ``fy``/``fp`` describe the *filing*, not the period (a comparative quarter
  carries the fiscal year of the filing that repeats it); ``start``/``end`` identify the period.
* ``https://www.sec.gov/files/company_tickers.json`` — ``{"0": {"cik_str", "ticker", "title"},
  ...}``, one entry per ticker (a CIK with several share classes has several tickers).

SEC's fair-access policy: at most **10 requests per second** per requester, and a
``User-Agent`` that names the requester and gives a contact e-mail (requests without one are
refused with 403). :func:`sec_policy` enforces both; retries, backoff and timeouts are the
shared :class:`~pipelines.lib.http.HttpPolicy`.

Raw responses are kept byte for byte in a :class:`~pipelines.lib.http.RawResponseStore`
(vendor ``sec``): ``companyfacts/CIK##########.json`` and ``company_tickers.json``. A rerun
reads the stored body and makes no HTTP call unless ``refetch=True``.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from domain.datasets import bundled_path
from domain.settings import SAMPLE_DIR
from pipelines.lib.http import (
    HttpPolicy,
    LazyVendorClient,
    RawResponseStore,
    VendorHTTPError,
    VendorResponseError,
)
from pipelines.lib.http.client import parse_json_body

VENDOR = "sec"
COMPANYFACTS_URL = "https://data.sec.gov/api/xbrl/companyfacts/CIK{cik}.json"
COMPANY_TICKERS_URL = "https://www.sec.gov/files/company_tickers.json"
SEC_RATE_PER_SECOND = 10
"""SEC's published limit: no more than 10 requests per second."""

BUNDLED_SEC_DIR = SAMPLE_DIR / "sec"
"""Bundled real responses: ``companyfacts_CIK##########.json.gz`` and ``company_tickers.json.gz``."""
BUNDLED_COMPANY_TICKERS = BUNDLED_SEC_DIR / "company_tickers.json.gz"

FACT_SCHEMA: dict[str, pl.DataType] = {
    "cik": pl.String(),
    "taxonomy": pl.String(),
    "concept": pl.String(),
    "unit": pl.String(),
    "period_start": pl.Date(),
    "period_end": pl.Date(),
    "fy": pl.Int32(),
    "fp": pl.String(),
    "form": pl.String(),
    "filed": pl.Date(),
    "frame": pl.String(),
    "accn": pl.String(),
    "value": pl.Float64(),
}
"""Columns of :func:`companyfacts_to_frame`, in order."""

FACT_KEY = ("cik", "taxonomy", "concept", "unit", "period_start", "period_end", "accn")
"""One fact per key: a company's concept in one unit for one period, as reported by one filing."""

REJECTED_SCHEMA: dict[str, pl.DataType] = {
    "cik": pl.String(),
    "taxonomy": pl.String(),
    "concept": pl.String(),
    "unit": pl.String(),
    "period_start": pl.Date(),
    "period_end": pl.Date(),
    "accn": pl.String(),
    "value": pl.Float64(),
    "fact_json": pl.String(),
    "reason": pl.String(),
}
"""Columns of quarantined facts (typed fields NULL where they could not be parsed)."""

TICKER_SCHEMA: dict[str, pl.DataType] = {"cik": pl.String(), "ticker": pl.String(), "title": pl.String()}

_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[A-Za-z]{2,}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class SecConfigurationError(ValueError):
    """``FUNDAMENTALS_SOURCE=sec`` without a usable ``SEC_USER_AGENT``."""


class SecCompanyNotFoundError(VendorHTTPError):
    """SEC answered 404 for a CIK's companyfacts (no XBRL financial data under that CIK).

    Attributes: ``cik`` (10 digits) besides those of :class:`VendorHTTPError`.
    """

    def __init__(self, cik: str, url: str, attempts: int) -> None:
        self.cik = cik
        super().__init__(VENDOR, url, 404, attempts, f"SEC has no companyfacts for CIK {cik}")


def format_cik(value: int | str) -> str:
    """The 10-digit zero-padded CIK (``320193`` -> ``"0000320193"``).

    Raises:
        ValueError: not a non-negative integer of at most 10 digits.
    """
    text = str(value).strip() if not isinstance(value, bool) else ""
    if not text.isdigit() or len(text.lstrip("0")) > 10:
        raise ValueError(f"not a CIK (up to 10 digits): {value!r}")
    return text.zfill(10)[-10:]


def sec_policy(user_agent: str) -> HttpPolicy:
    """The HTTP policy for SEC: ``User-Agent`` with a contact e-mail, at most 10 requests/s.

    Raises:
        SecConfigurationError: ``user_agent`` is empty or contains no e-mail address.
    """
    agent = (user_agent or "").strip()
    if not agent or not _EMAIL.search(agent):
        raise SecConfigurationError(
            "FUNDAMENTALS_SOURCE=sec needs SEC_USER_AGENT naming you and a contact e-mail, as SEC's "
            f"fair-access policy requires (e.g. SEC_USER_AGENT='Example Research ops@example.com'); got {agent!r}"
        )
    return HttpPolicy(vendor=VENDOR, user_agent=agent, rate_per_second=SEC_RATE_PER_SECOND)


# ---------------------------------------------------------------------------------------------
# body checks (return what is wrong, or None)


def check_companyfacts(body: Any, expected_cik: str | None = None) -> str | None:
    """What is wrong with a companyfacts body (``None`` if nothing): not an object, missing
    ``cik``/``entityName``/``facts`` (all missing keys are named), ``facts`` not an object of
    taxonomies -> concepts -> ``units`` -> lists (the first bad path is named), a ``cik`` that is
    not a CIK or differs from ``expected_cik``."""
    if not isinstance(body, dict):
        return f"body is a JSON {type(body).__name__}, not an object"
    missing = [key for key in ("cik", "entityName", "facts") if key not in body]
    if missing:
        return f"missing key(s) {', '.join(missing)} (has: {', '.join(sorted(body)) or 'nothing'})"
    if not isinstance(body["facts"], dict):
        return f"'facts' is a JSON {type(body['facts']).__name__}, not an object"
    try:
        cik = format_cik(body["cik"])
    except ValueError:
        return f"'cik' is not a CIK: {body['cik']!r}"
    if expected_cik is not None and cik != expected_cik:
        return f"'cik' {cik} is not the requested CIK {expected_cik}"
    for taxonomy, concepts in body["facts"].items():
        if not isinstance(concepts, dict):
            return f"facts[{taxonomy!r}] is not an object"
        for concept, entry in concepts.items():
            units = entry.get("units") if isinstance(entry, dict) else None
            if not isinstance(units, dict):
                return f"facts[{taxonomy!r}][{concept!r}] has no 'units' object"
            for unit, facts in units.items():
                if not isinstance(facts, list):
                    return f"facts[{taxonomy!r}][{concept!r}]['units'][{unit!r}] is not a list"
    return None


def check_company_tickers(body: Any) -> str | None:
    """What is wrong with a company_tickers body (``None`` if nothing): not a non-empty object of
    entries each with ``cik_str`` (a CIK), ``ticker`` (non-empty text) and ``title`` (text); the
    first three bad entries are named."""
    if not isinstance(body, dict) or not body:
        return "body is not a non-empty JSON object of ticker entries"
    bad: list[str] = []
    for key, entry in body.items():
        if not isinstance(entry, dict):
            bad.append(f"entry {key!r} is not an object")
            continue
        missing = [field for field in ("cik_str", "ticker", "title") if field not in entry]
        if missing:
            bad.append(f"entry {key!r} lacks {', '.join(missing)}")
        elif not isinstance(entry["ticker"], str) or not entry["ticker"].strip():
            bad.append(f"entry {key!r} has no ticker text")
        elif not isinstance(entry["title"], str):
            bad.append(f"entry {key!r} has a non-text title")
        else:
            try:
                format_cik(entry["cik_str"])
            except ValueError:
                bad.append(f"entry {key!r} has cik_str {entry['cik_str']!r}, not a CIK")
        if len(bad) == 3:
            break
    return "; ".join(bad) or None


# ---------------------------------------------------------------------------------------------
# client


@dataclass(frozen=True)
class SecDocument:
    """A parsed and checked SEC response. ``fetched`` is False when it came from the raw store."""

    body: Any
    url: str
    raw_path: Path
    fetched: bool

    @property
    def source(self) -> str:
        """The ``source`` column value: ``sec:<url>``."""
        return f"sec:{self.url}"


class SecClient(LazyVendorClient):
    """Fetches SEC JSON with :func:`sec_policy`, keeping every body in ``store``.

    A stored body is reused (checked again, no HTTP call) unless ``refetch=True``. ``transport``
    replaces the network (tests). Use as a context manager.

    Raises (constructor):
        SecConfigurationError: ``user_agent`` lacks a contact e-mail.
    """

    def __init__(self, user_agent: str, store: RawResponseStore, *, transport: Any = None) -> None:
        super().__init__(sec_policy(user_agent), transport)
        self.store = store

    def companyfacts(self, cik: int | str, *, refetch: bool = False) -> SecDocument:
        """The companyfacts of ``cik`` (stored: ``companyfacts/CIK##########.json``).

        Raises:
            SecCompanyNotFoundError: SEC answered 404 for this CIK.
            VendorHTTPError: any other HTTP failure after the policy's retries.
            VendorResponseError: the body fails :func:`check_companyfacts` (names the URL and what
                is missing), including a ``cik`` other than the one requested.
        """
        padded = format_cik(cik)
        url = COMPANYFACTS_URL.format(cik=padded)
        try:
            return self._document(
                url, f"companyfacts/CIK{padded}.json", lambda body: check_companyfacts(body, padded), refetch
            )
        except VendorHTTPError as error:
            if error.status == 404 and not isinstance(error, SecCompanyNotFoundError):
                raise SecCompanyNotFoundError(padded, error.url, error.attempts) from error
            raise

    def company_tickers(self, *, refetch: bool = False) -> SecDocument:
        """SEC's ticker -> CIK map (stored: ``company_tickers.json``).

        Raises:
            VendorHTTPError: HTTP failure after the policy's retries.
            VendorResponseError: the body fails :func:`check_company_tickers`.
        """
        return self._document(COMPANY_TICKERS_URL, "company_tickers.json", check_company_tickers, refetch)

    def _document(self, url: str, key: str, check, refetch: bool) -> SecDocument:
        stored = None if refetch else self.store.get(key)
        if stored is not None:
            return SecDocument(parse_json_body(VENDOR, url, stored, check), url, self.store.path_for(key), False)
        body, response = self.http().get_json(url, check=check)
        path = self.store.put(key, response.content)
        return SecDocument(body, url, path, True)


# ---------------------------------------------------------------------------------------------
# bundled files


def bundled_companyfacts_files(directory: Path = BUNDLED_SEC_DIR) -> dict[str, Path]:
    """``{cik: path}`` of the bundled ``companyfacts_CIK##########.json.gz`` files, by CIK.

    Raises:
        MissingDataFileError: ``directory`` is the bundled folder and a file of the manifest is
            missing (``make data``).
    """
    if Path(directory) == BUNDLED_SEC_DIR:
        bundled_path("sec")
    files = {}
    for path in sorted(directory.glob("companyfacts_CIK*.json.gz")):
        files[format_cik(path.name.removeprefix("companyfacts_CIK").removesuffix(".json.gz"))] = path
    return files


def read_bundled_json(path: Path, check) -> Any:
    """Parse a bundled gzip JSON response and run ``check`` (as for a fresh response).

    Raises:
        VendorResponseError: not JSON, or ``check`` failed (names the file).
    """
    return parse_json_body(VENDOR, str(path), gzip.decompress(path.read_bytes()), check)


# ---------------------------------------------------------------------------------------------
# parsing


@dataclass(frozen=True)
class ParsedCompanyFacts:
    """The facts of one companyfacts document.

    ``facts``: :data:`FACT_SCHEMA` columns, one row per distinct fact (unique :data:`FACT_KEY`).
    ``rejected``: :data:`REJECTED_SCHEMA` columns (unparseable facts and every fact of a
    conflicting key). ``input_facts == facts.height + duplicates + rejected.height``.
    """

    cik: str
    entity_name: str
    facts: pl.DataFrame
    rejected: pl.DataFrame
    input_facts: int
    duplicates: int

    def counts(self) -> dict[str, int]:
        """``input``, ``loaded``, ``duplicates``, ``rejected`` fact counts."""
        return {
            "input": self.input_facts,
            "loaded": self.facts.height,
            "duplicates": self.duplicates,
            "rejected": self.rejected.height,
        }


def companyfacts_to_frame(doc: Mapping[str, Any], source: str) -> pl.DataFrame:
    """The loadable facts of a companyfacts document as a long frame.

    Columns (:data:`FACT_SCHEMA`): ``cik`` (10-digit zero-padded text), ``taxonomy``
    (``us-gaap``, ``dei``, ...), ``concept``, ``unit`` (``USD``, ``shares``, ``USD/shares``, ...),
    ``period_start`` (date; NULL for instant facts), ``period_end`` (date), ``fy`` (int, fiscal
    year *of the filing*; NULL e.g. for 8-K/DEF 14A facts), ``fp`` (``FY``/``Q1``.. of the filing;
    nullable), ``form``, ``filed`` (date the filing reached SEC), ``frame`` (nullable, e.g.
    ``CY2013Q1``), ``accn`` (accession number), ``value`` (double, in ``unit``).

    Grain: one row per :data:`FACT_KEY`. Exact duplicates are dropped and conflicting or
    unparseable facts left out; :func:`parse_companyfacts` returns them with counts.

    Raises:
        VendorResponseError: ``doc`` fails :func:`check_companyfacts` (names ``source``).
    """
    return parse_companyfacts(doc, source).facts


def parse_companyfacts(doc: Mapping[str, Any], source: str) -> ParsedCompanyFacts:
    """Flatten a companyfacts document into loadable, duplicate and rejected facts.

    Per fact: ``end``, ``filed`` (``YYYY-MM-DD``), ``val`` (finite number), ``accn`` and ``form``
    (text) are required; ``start`` must be a date on or before ``end`` when present; ``fy`` an
    integer or null; ``fp``/``frame`` text or null. A fact failing any of these is rejected with
    reason ``unparseable: <problems>``.

    Facts with the same :data:`FACT_KEY` and the same value are *exact duplicates*: one is kept
    (one carrying a ``frame`` if any), the others counted in ``duplicates``. Facts with the same
    key but different values (one filing reporting two numbers for one period) are all rejected
    with reason ``conflicting_values: ...``: which one the filing meant is unknowable here.

    Raises:
        VendorResponseError: ``doc`` fails :func:`check_companyfacts` (names ``source``).
    """
    if problem := check_companyfacts(doc):
        raise VendorResponseError(VENDOR, source, problem)
    cik = format_cik(doc["cik"])
    columns: dict[str, list] = {name: [] for name in FACT_SCHEMA}
    index: list[int] = []
    originals: list[Any] = []
    rejected: list[dict[str, Any]] = []
    for taxonomy, concepts in doc["facts"].items():
        for concept, entry in concepts.items():
            for unit, facts in entry["units"].items():
                for fact in facts:
                    originals.append(fact)
                    row, problems = _parse_fact(fact)
                    if problems:
                        rejected.append(
                            {"cik": cik, "taxonomy": taxonomy, "concept": concept, "unit": unit, **row,
                             "fact_json": json.dumps(fact), "reason": "unparseable: " + "; ".join(problems)}
                        )
                        continue
                    index.append(len(originals) - 1)
                    for name, value in (("cik", cik), ("taxonomy", taxonomy), ("concept", concept), ("unit", unit)):
                        columns[name].append(value)
                    for name, value in row.items():
                        columns[name].append(value)
    parsed = pl.DataFrame({**columns, "_i": index}, schema={**FACT_SCHEMA, "_i": pl.Int64()})
    key = list(FACT_KEY)
    parsed = parsed.with_columns(_values=pl.col("value").n_unique().over(key))
    conflicting = parsed.filter(pl.col("_values") > 1)
    for row in conflicting.with_columns(_n=pl.len().over(key)).iter_rows(named=True):
        rejected.append(
            {name: row[name] for name in REJECTED_SCHEMA if name in row}
            | {
                "fact_json": json.dumps(originals[row["_i"]]),
                "reason": f"conflicting_values: {row['_n']} facts of this period and unit in filing "
                f"{row['accn']} carry {row['_values']} different values",
            }
        )
    clean = parsed.filter(pl.col("_values") == 1)
    kept = (
        clean.sort([pl.col("frame").is_null(), pl.col("_i")])
        .unique(subset=key, keep="first", maintain_order=True)
        .sort("_i")
        .select(list(FACT_SCHEMA))
    )
    rejected_frame = pl.DataFrame(
        [{name: item.get(name) for name in REJECTED_SCHEMA} for item in rejected], schema=REJECTED_SCHEMA
    )
    return ParsedCompanyFacts(
        cik=cik,
        entity_name=str(doc["entityName"]),
        facts=kept,
        rejected=rejected_frame,
        input_facts=len(originals),
        duplicates=clean.height - kept.height,
    )


def _parse_fact(fact: Any) -> tuple[dict[str, Any], list[str]]:
    """The typed fields of one fact and its problems (empty when loadable)."""
    if not isinstance(fact, dict):
        return {}, [f"fact is a JSON {type(fact).__name__}, not an object"]
    problems: list[str] = []
    end = _date(fact, "end", problems, required=True)
    start = _date(fact, "start", problems, required=False)
    filed = _date(fact, "filed", problems, required=True)
    if start is not None and end is not None and start > end:
        problems.append(f"start {start} is after end {end}")
    val = fact.get("val")
    value = None
    if isinstance(val, (int, float)) and not isinstance(val, bool) and math.isfinite(val):
        value = float(val)
    else:
        problems.append(f"val is not a finite number: {val!r}" if "val" in fact else "missing val")
    fy = fact.get("fy")
    if fy is not None and (not isinstance(fy, int) or isinstance(fy, bool)):
        problems.append(f"fy is not an integer: {fy!r}")
        fy = None
    texts = {}
    for name, required in (("accn", True), ("form", True), ("fp", False), ("frame", False)):
        text = fact.get(name)
        if text is None and not required:
            texts[name] = None
        elif isinstance(text, str) and text.strip():
            texts[name] = text.strip()
        else:
            problems.append(f"{name} is not text: {text!r}" if name in fact else f"missing {name}")
            texts[name] = None
    row = {
        "period_start": start,
        "period_end": end,
        "fy": fy,
        "fp": texts["fp"],
        "form": texts["form"],
        "filed": filed,
        "frame": texts["frame"],
        "accn": texts["accn"],
        "value": value,
    }
    return row, problems


def _date(fact: dict, name: str, problems: list[str], *, required: bool) -> date | None:
    if name not in fact:
        if required:
            problems.append(f"missing {name}")
        return None
    text = fact[name]
    if isinstance(text, str) and _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    problems.append(f"{name} is not a YYYY-MM-DD date: {text!r}")
    return None


def company_tickers_to_frame(body: Mapping[str, Any], source: str) -> pl.DataFrame:
    """SEC's ticker map as rows: ``cik`` (10 digits), ``ticker`` (as SEC writes it, share classes
    with ``-``: ``BRK-B``), ``title`` (company name). Grain: one row per ticker; a CIK may have
    several (Alphabet: GOOGL and GOOG). Order as in the file.

    Raises:
        VendorResponseError: the body fails :func:`check_company_tickers`, or a ticker appears
            twice (names ``source``).
    """
    if problem := check_company_tickers(body):
        raise VendorResponseError(VENDOR, source, problem)
    frame = pl.DataFrame(
        [
            {"cik": format_cik(e["cik_str"]), "ticker": e["ticker"].strip().upper(), "title": e["title"].strip()}
            for e in body.values()
        ],
        schema=TICKER_SCHEMA,
    )
    repeated = frame.filter(pl.col("ticker").is_duplicated())["ticker"].unique().sort().to_list()
    if repeated:
        raise VendorResponseError(VENDOR, source, f"ticker(s) listed more than once: {', '.join(repeated[:10])}")
    return frame


def sec_ticker(ticker: str) -> str:
    """A warehouse ticker in SEC's spelling: share-class dots become dashes (``BRK.B`` -> ``BRK-B``)."""
    return ticker.strip().upper().replace(".", "-")

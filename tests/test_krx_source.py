"""The KRX portal client (``pipelines.sources.krx``) on real recorded responses.

respx replays the ``getJsonData.cmd`` bodies recorded in ``data/sample/fixtures/krx/`` (each
request's form body is in its ``index.json``; see ``data/README.md``): parsing to frames, the
raw store, the member login (no login exchange is recorded: its answers here are the shape users
of the portal published, see the module docstring), login-required answers, and the shared HTTP
policy's retries. Waits between retries are recorded, not slept.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from types import SimpleNamespace
from urllib.parse import parse_qs

import httpx
import polars as pl
import pytest
import respx

from pipelines.lib.http import RawResponseStore, VendorResponseError
from pipelines.sources.krx import (
    INDEX_SCHEMA,
    JSON_URL,
    LISTING_FIELDS,
    LISTING_SCHEMA,
    LOGIN_PAGE_URL,
    LOGIN_URL,
    NO_PAR,
    OHLCV_SCHEMA,
    REFERER,
    VALUATION_SCHEMA,
    KrxCredentialsError,
    KrxHTTPError,
    KrxLoginError,
    KrxLoginRequiredError,
    KrxSource,
    krx_policy,
    parse_number,
    raw_key,
    screen_frame,
)
from tests.data_files import sample_fixture

KRX = sample_fixture("krx")
INDEX = [entry for entry in json.loads((KRX / "index.json").read_text()) if entry["request_body"]]
LATER = datetime(2026, 4, 15, tzinfo=UTC)  # every recorded day is over
LOGIN_OK = {"previousMemberYn": False, "MDC_MBR_TP_CD": "P", "_error_code": "CD001", "_error_message": "정상"}


def _recorded(form: dict[str, list[str]]) -> bytes | None:
    for entry in INDEX:
        if parse_qs(entry["request_body"]) == form and (KRX / entry["file"]).exists():
            return (KRX / entry["file"]).read_bytes()
    return None


def _replay(request: httpx.Request) -> httpx.Response:
    content = _recorded(parse_qs(request.content.decode()))
    if content is None:
        return httpx.Response(404, text="no recording for this form")
    return httpx.Response(200, content=content, headers={"Content-Type": "text/html; charset=utf-8"})


def _mock_login(mock: respx.MockRouter, answer: dict | None = None) -> tuple[respx.Route, respx.Route]:
    page = mock.get(LOGIN_PAGE_URL).mock(
        return_value=httpx.Response(200, text="<html>login</html>", headers={"Set-Cookie": "JSESSIONID=s1; Path=/"})
    )
    login = mock.post(LOGIN_URL).mock(return_value=httpx.Response(200, json=answer or LOGIN_OK))
    return page, login


def _source(tmp_path, *, krx_id: str = "member", krx_pw: str = "secret-pw", now: datetime = LATER) -> KrxSource:
    return KrxSource(RawResponseStore(tmp_path, "krx"), krx_id=krx_id, krx_pw=krx_pw, now=lambda: now)


@pytest.fixture()
def waits(monkeypatch) -> list[float]:
    """Seconds httpx-retries asked to sleep between attempts (recorded, not slept)."""
    recorded: list[float] = []
    monkeypatch.setattr("httpx_retries.retry.time", SimpleNamespace(sleep=recorded.append))
    return recorded


def test_daily_ohlcv_of_the_whole_market_logs_in_and_parses_the_recorded_day(tmp_path):
    with respx.mock(assert_all_called=True) as mock:
        page, login = _mock_login(mock)
        data = mock.post(JSON_URL).mock(side_effect=_replay)
        with _source(tmp_path) as source:
            frame = source.daily_ohlcv(date(2021, 1, 4))
        assert page.call_count == 1 and login.call_count == 1 and data.call_count == 1
        assert parse_qs(login.calls.last.request.content.decode()) == {"mbrId": ["member"], "pw": ["secret-pw"],
                                                                      "skipDup": ["Y"]}  # fmt: skip
        query = data.calls.last.request
        assert parse_qs(query.content.decode()) == {
            "mktId": ["ALL"], "trdDd": ["20210104"], "bld": ["dbms/MDC/STAT/standard/MDCSTAT01501"]}  # fmt: skip
        assert query.headers["Referer"] == REFERER
        assert query.headers["Cookie"] == "JSESSIONID=s1"  # the member session travels with the query
    assert frame.schema == pl.Schema(OHLCV_SCHEMA) and frame.columns == list(OHLCV_SCHEMA)
    assert frame.height == 2531
    assert frame["market"].value_counts().sort("market").rows() == [("KONEX", 143), ("KOSDAQ", 1471), ("KOSPI", 917)]
    samsung = frame.filter(pl.col("code") == "005930").row(0, named=True)
    # the same numbers as the bundled krx_daily_ohlcv file (data/README.md spot check)
    assert samsung == {"date": date(2021, 1, 4), "open": 81000, "high": 84400, "low": 80200, "close": 83000,
                       "volume": 38655276, "code": "005930", "name": "삼성전자", "market": "KOSPI"}  # fmt: skip
    kosdaq = frame.filter(pl.col("code") == "006050").row(0, named=True)  # a KOSDAQ code with leading zeros
    assert (kosdaq["name"], kosdaq["market"], kosdaq["close"]) == ("국영지앤엠", "KOSDAQ", 2900)
    assert frame["code"].str.len_chars().unique().to_list() == [6]
    assert frame.null_count().row(0) == (0,) * 9


def test_a_rerun_reads_the_raw_store_without_http_or_credentials(tmp_path):
    with respx.mock(assert_all_called=False) as mock:
        _mock_login(mock)
        data = mock.post(JSON_URL).mock(side_effect=_replay)
        with _source(tmp_path) as source:
            first = source.daily_ohlcv(date(2021, 1, 22), market="KOSPI")
            assert source.log.fetched == ["MDCSTAT01501/mktId=STK_trdDd=20210122.json"]
        stored = tmp_path / "krx" / "MDCSTAT01501" / "mktId=STK_trdDd=20210122.json"
        assert stored.read_bytes() == (KRX / "krx_MDCSTAT01501_STK_20210122.json").read_bytes()
        with _source(tmp_path, krx_id="", krx_pw="") as source:
            again = source.daily_ohlcv(date(2021, 1, 22), market="KOSPI")
            assert source.log.reused == ["MDCSTAT01501/mktId=STK_trdDd=20210122.json"] and source.log.logins == 0
        assert data.call_count == 1
    assert again.equals(first)
    assert first.height == 917 and set(first["market"]) == {"KOSPI"}
    assert first.filter(pl.col("code") == "005930")["close"].item() == 86800


def test_a_day_still_trading_in_seoul_is_not_stored(tmp_path):
    during_the_session = datetime(2021, 1, 22, 3, 0, tzinfo=UTC)  # 12:00 in Seoul
    with respx.mock(assert_all_called=False) as mock:
        _mock_login(mock)
        mock.post(JSON_URL).mock(side_effect=_replay)
        with _source(tmp_path, now=during_the_session) as source:
            source.daily_ohlcv(date(2021, 1, 22), market="KOSPI")
            assert source.log.not_stored == ["MDCSTAT01501/mktId=STK_trdDd=20210122.json"]
    assert RawResponseStore(tmp_path, "krx").keys() == []


def test_listing_index_and_valuation_screens(tmp_path):
    with respx.mock(assert_all_called=False) as mock:
        _mock_login(mock)
        mock.post(JSON_URL).mock(side_effect=_replay)
        with _source(tmp_path) as source:
            listing = source.listing()
            kospi = source.index_ohlcv("1", "001", date(2021, 1, 1), date(2021, 1, 30))
            ratios = source.valuation(date(2021, 1, 8), market="KOSPI")
            history = source.valuation_history("KR7005930003", date(2020, 1, 1), date(2020, 4, 30))
            assert source.log.logins == 1
            assert "MDCSTAT01901/asOf=2026-04-15_mktId=ALL.json" in source.log.fetched
    assert listing.schema == pl.Schema(LISTING_SCHEMA) and listing.height == 2882
    samsung = listing.filter(pl.col("code") == "005930").row(0, named=True)
    assert (samsung["isin"], samsung["listed_on"], samsung["par_value"], samsung["listed_shares"]) == (
        "KR7005930003", date(1975, 6, 11), 100.0, 5_846_278_608)
    assert listing["market"].value_counts().sort("market").rows() == [
        ("KONEX", 109), ("KOSDAQ", 1771), ("KOSDAQ GLOBAL", 52), ("KOSPI", 950)]  # fmt: skip
    assert listing.filter(pl.col("par_value").is_null()).height == 15  # KRX's 무액면 (no par value)

    assert kospi.schema == pl.Schema(INDEX_SCHEMA) and kospi.height == 20
    assert kospi["date"].is_sorted() and kospi["date"].min() == date(2021, 1, 4)
    first = kospi.row(0, named=True)
    assert (first["open"], first["close"], first["volume"]) == (2874.5, 2944.45, 1_026_510_465)
    assert kospi.filter(pl.col("date") == date(2021, 1, 29))["close"].item() == 2976.21
    assert kospi.filter(pl.col("date") == date(2021, 1, 29))["market_cap"].item() == 2_051_302_353_271_175

    assert ratios.schema == pl.Schema(VALUATION_SCHEMA) and ratios.height == 895
    row = ratios.filter(pl.col("code") == "005930").row(0, named=True)
    assert (row["close"], row["eps"], row["per"], row["bps"], row["pbr"], row["dps"], row["dividend_yield_pct"]) == (
        88800, 3166.0, 28.05, 37528.0, 2.37, 1416.0, 1.59)
    assert ratios["per"].null_count() == 332  # KRX sends "-" where there is no PER (losses, no earnings)

    assert history.height == 82 and history["date"].is_sorted()
    last = history.row(-1, named=True)
    assert (last["date"], last["code"], last["close"], last["per"], last["pbr"]) == (
        date(2020, 4, 29), "005930", 50000, 7.74, 1.41)


def test_missing_credentials_name_krx_id_and_krx_pw_before_any_request(tmp_path):
    with respx.mock(assert_all_called=False) as mock:
        data = mock.post(JSON_URL).mock(side_effect=_replay)
        with _source(tmp_path, krx_id="", krx_pw="") as source, pytest.raises(KrxCredentialsError) as error:
            source.daily_ohlcv(date(2021, 1, 4))
        assert data.call_count == 0
    assert "KRX_ID and KRX_PW not set" in str(error.value)
    with _source(tmp_path, krx_pw="") as source, pytest.raises(KrxCredentialsError, match="^KRX_PW not set"):
        source.login()


def test_a_refused_login_names_the_portal_code_but_not_the_password(tmp_path):
    refused = {"_error_code": "CD011", "_error_message": "아이디 또는 비밀번호가 일치하지 않습니다."}
    with respx.mock(assert_all_called=False) as mock:
        _mock_login(mock, refused)
        with _source(tmp_path) as source, pytest.raises(KrxLoginError) as error:
            source.listing()
    assert "'CD011'" in str(error.value) and "'member'" in str(error.value)
    assert "secret-pw" not in str(error.value)


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"LOGOUT", "answered 'LOGOUT'"), (b"<!DOCTYPE html><html><body>login</body></html>", "an HTML page")],
)
def test_a_login_page_instead_of_json_names_the_bld_and_the_login(tmp_path, body, reason):
    with respx.mock(assert_all_called=False) as mock:
        _, login = _mock_login(mock)
        data = mock.post(JSON_URL).mock(return_value=httpx.Response(200, content=body))
        with _source(tmp_path) as source, pytest.raises(KrxLoginRequiredError) as error:
            source.index_ohlcv("1", "001", date(2021, 1, 1), date(2021, 1, 30))
        assert login.call_count == 1 and data.call_count == 1  # a fresh login is not repeated
    message = str(error.value)
    assert "dbms/MDC/STAT/standard/MDCSTAT00301" in message and reason in message
    assert "requires a member login (set KRX_ID and KRX_PW)" in message
    assert error.value.bld == "dbms/MDC/STAT/standard/MDCSTAT00301"
    assert RawResponseStore(tmp_path, "krx").keys() == []


def test_an_expired_session_logs_in_again_once(tmp_path):
    answers = iter([None, httpx.Response(200, content=b"LOGOUT"), None])

    def expire_once(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        return answer if answer is not None else _replay(request)

    with respx.mock(assert_all_called=False) as mock:
        _, login = _mock_login(mock)
        mock.post(JSON_URL).mock(side_effect=expire_once)
        with _source(tmp_path) as source:
            source.daily_ohlcv(date(2021, 1, 22), market="KOSPI")
            frame = source.valuation_history("KR7005930003", date(2020, 1, 1), date(2020, 4, 30))
            assert source.log.logins == 2
        assert login.call_count == 2
    assert frame.height == 82


def test_a_stored_body_that_is_not_the_screen_is_an_error_naming_the_file(tmp_path):
    store = RawResponseStore(tmp_path, "krx")
    key = raw_key("MDCSTAT03501", {"mktId": "STK", "trdDd": "20210108"})
    store.put(key, b'{"OutBlock_1": []}')
    with _source(tmp_path) as source, pytest.raises(VendorResponseError) as error:
        source.valuation(date(2021, 1, 8), market="KOSPI")
    assert "no 'output' list in the body (keys: OutBlock_1)" in str(error.value)
    assert "MDCSTAT03501" in str(error.value) and f"stored {key}" in str(error.value)


def test_5xx_is_retried_per_the_policy_and_then_names_the_screen(tmp_path, waits):
    assert krx_policy().max_retries == 4 and krx_policy().rate_per_second == 2
    with respx.mock(assert_all_called=False) as mock:
        _mock_login(mock)
        data = mock.post(JSON_URL).mock(side_effect=[httpx.Response(503), httpx.Response(502), _replay])
        with _source(tmp_path) as source:
            frame = source.daily_ohlcv(date(2021, 1, 22), market="KOSPI")
        assert data.call_count == 3 and frame.height == 917
        assert len(waits) == 2

        waits.clear()
        data.mock(side_effect=None, return_value=httpx.Response(503, text="Service Unavailable"))
        data.reset()
        with _source(tmp_path) as source, pytest.raises(KrxHTTPError) as error:
            source.daily_ohlcv(date(2021, 1, 4))
        assert data.call_count == 5 and len(waits) == 4
    assert error.value.status == 503 and error.value.attempts == 5
    assert str(error.value).startswith(f"krx: POST {JSON_URL} (dbms/MDC/STAT/standard/MDCSTAT01501) failed with HTTP 503")


def test_4xx_fails_at_once(tmp_path, waits):
    with respx.mock(assert_all_called=False) as mock:
        _mock_login(mock)
        data = mock.post(JSON_URL).mock(return_value=httpx.Response(404, text="Not Found"))
        with _source(tmp_path) as source, pytest.raises(KrxHTTPError) as error:
            source.listing()
        assert data.call_count == 1 and waits == []
    assert (error.value.status, error.value.attempts) == (404, 1)


def test_bad_input_names_the_field(tmp_path):
    with _source(tmp_path) as source:
        with pytest.raises(ValueError, match="market must be one of ALL, KOSPI, KOSDAQ, KONEX, got 'NYSE'"):
            source.daily_ohlcv(date(2021, 1, 4), market="NYSE")
        with pytest.raises(ValueError, match="isin must be a 12-character KRX ISIN"):
            source.valuation_history("005930", date(2020, 1, 1), date(2020, 4, 30))
        with pytest.raises(ValueError, match=r"first \(2021-02-01\) is after last \(2021-01-01\)"):
            source.index_ohlcv("1", "001", date(2021, 2, 1), date(2021, 1, 1))
    assert parse_number("2,976.21") == 2976.21 and parse_number("-92.84") == -92.84
    assert parse_number("-") is None and parse_number("") is None
    with pytest.raises(ValueError, match="PER: 'n/a' is not a number"):
        parse_number("n/a", "PER")


def test_screen_frame_parses_each_field_by_its_column_type():
    """One listing row as KRX sends it (comma-formatted numbers, padded text, a no-par share):
    parsed by the schema's types; a value that is not a number names its field."""
    row = {"ISU_SRT_CD": " 005930 ", "ISU_CD": "KR7005930003", "ISU_ABBRV": "삼성전자", "ISU_NM": "삼성전자보통주",
           "ISU_ENG_NM": "SamsungElectronics", "LIST_DD": "1975/06/11", "MKT_TP_NM": "KOSPI",
           "SECUGRP_NM": "주권", "SECT_TP_NM": "", "KIND_STKCERT_TP_NM": "보통주", "PARVAL": "100",
           "LIST_SHRS": "5,969,782,550"}  # fmt: skip
    frame = screen_frame([row, {**row, "PARVAL": NO_PAR}], LISTING_SCHEMA, LISTING_FIELDS)
    first = frame.row(0, named=True)
    assert (first["code"], first["listed_on"], first["listed_shares"], first["par_value"]) == (
        "005930", date(1975, 6, 11), 5_969_782_550, 100.0,
    )  # fmt: skip
    assert frame["par_value"][1] is None
    with pytest.raises(ValueError, match="LIST_SHRS: 'many' is not a number"):
        screen_frame([{**row, "LIST_SHRS": "many"}], LISTING_SCHEMA, LISTING_FIELDS)

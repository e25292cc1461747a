"""The shared HTTP policy (``pipelines.lib.http``): retries, backoff, Retry-After, timeouts, clear
errors, the client-side rate limit and the raw response store.

Offline: respx replays the real Yahoo response recorded in
``data/sample/fixtures/yahoo/chart-AAPL-2020-01-01-to-2020-01-03.json`` (see ``data/README.md``);
error statuses (429, 500, 404), timeouts and a truncated body are injected around it. Waits
between retries are recorded by replacing ``time`` in ``httpx_retries.retry`` (nothing sleeps).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from types import SimpleNamespace

import httpx
import pytest
import respx

from pipelines.lib.http import (
    HttpPolicy,
    RawResponseStore,
    VendorClient,
    VendorHTTPError,
    VendorResponseError,
)
from pipelines.lib.http.client import parse_json_body
from tests.data_files import sample_fixture

URL = "https://query2.finance.yahoo.com/v8/finance/chart/AAPL"
RECORDING = json.loads(sample_fixture("yahoo/chart-AAPL-2020-01-01-to-2020-01-03.json").read_text())
BODY = RECORDING["response"]["bodyJson"]
BODY_BYTES = json.dumps(BODY).encode()
LEAKER = "PyrateLimiter's Leaker"


def _ok() -> httpx.Response:
    return httpx.Response(200, content=BODY_BYTES, headers={"content-type": "application/json;charset=utf-8"})


@pytest.fixture()
def waits(monkeypatch) -> list[float]:
    """Seconds httpx-retries asked to sleep between attempts (recorded, not slept)."""
    recorded: list[float] = []
    monkeypatch.setattr("httpx_retries.retry.time", SimpleNamespace(sleep=recorded.append))
    return recorded


def _policy(**overrides) -> HttpPolicy:
    values = {"vendor": "yahoo", "max_retries": 3, "backoff_factor": 0.5, "backoff_jitter": 0.0, "max_backoff_s": 30.0}
    return HttpPolicy(**(values | overrides))


def test_success_returns_the_recorded_body_and_sends_user_agent_and_headers(waits):
    policy = _policy(user_agent="Example Research ops@example.com", headers={"Accept": "application/json"})
    with respx.mock(assert_all_called=True) as mock, VendorClient(policy) as client:
        route = mock.get(URL).mock(return_value=_ok())
        body, response = client.get_json(URL, {"interval": "1d", "period1": 1577836800})
    assert body == BODY
    assert body["chart"]["result"][0]["meta"]["symbol"] == "AAPL"
    assert response.content == BODY_BYTES
    sent = route.calls.last.request
    assert sent.headers["User-Agent"] == "Example Research ops@example.com"
    assert sent.headers["Accept"] == "application/json"
    assert sent.url.params["period1"] == "1577836800"
    assert sent.extensions["timeout"] == {"connect": 20.0, "read": 20.0, "write": 20.0, "pool": 20.0}
    assert route.call_count == 1 and waits == []


def test_429_with_retry_after_seconds_then_success_waits_what_the_server_asked(waits):
    with respx.mock(assert_all_called=True) as mock, VendorClient(_policy()) as client:
        route = mock.get(URL).mock(side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), _ok()])
        body, _ = client.get_json(URL)
    assert body == BODY
    assert route.call_count == 2
    assert waits == [7.0]  # not the 1 s exponential backoff of the first retry


def test_429_with_retry_after_http_date_is_honoured(waits):
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=12), usegmt=True)
    with respx.mock(assert_all_called=True) as mock, VendorClient(_policy()) as client:
        mock.get(URL).mock(side_effect=[httpx.Response(429, headers={"Retry-After": later}), _ok()])
        client.get_json(URL)
    assert len(waits) == 1 and 10.0 <= waits[0] <= 12.0


def test_retry_after_longer_than_the_cap_is_cut_to_max_backoff(waits):
    with respx.mock(assert_all_called=True) as mock, VendorClient(_policy(max_backoff_s=5.0)) as client:
        mock.get(URL).mock(side_effect=[httpx.Response(503, headers={"Retry-After": "3600"}), _ok()])
        client.get_json(URL)
    assert waits == [5.0]


def test_500_every_time_fails_after_all_attempts_with_a_clear_error(waits):
    with respx.mock(assert_all_called=True) as mock, VendorClient(_policy(max_retries=3)) as client:
        route = mock.get(URL).mock(return_value=httpx.Response(500, text="Internal Server Error: upstream"))
        with pytest.raises(VendorHTTPError) as caught:
            client.get(URL, {"interval": "1d"})
    error = caught.value
    assert route.call_count == 4
    assert (error.status, error.attempts, error.vendor) == (500, 4, "yahoo")
    assert error.url == f"{URL}?interval=1d"
    assert str(error) == (
        f"yahoo: GET {URL}?interval=1d failed with HTTP 500 after 4 attempt(s): Internal Server Error: upstream"
    )
    assert waits == [1.0, 2.0, 4.0]  # backoff_factor 0.5 * 2**n for retries n = 1, 2, 3 (no jitter)


def test_backoff_jitter_scales_each_wait_into_its_band(waits):
    with respx.mock() as mock, VendorClient(_policy(max_retries=4, backoff_jitter=0.5)) as client:
        mock.get(URL).mock(return_value=httpx.Response(502))
        with pytest.raises(VendorHTTPError, match="HTTP 502 after 5 attempt"):
            client.get(URL)
    assert len(waits) == 4
    for n, wait in enumerate(waits, start=1):
        assert 0.5 * 0.5 * 2**n <= wait <= 0.5 * 2**n, (n, wait)
    assert len(set(waits)) == 4


def test_500_then_success_recovers(waits):
    with respx.mock() as mock, VendorClient(_policy()) as client:
        route = mock.get(URL).mock(side_effect=[httpx.Response(500), httpx.Response(504), _ok()])
        body, _ = client.get_json(URL)
    assert body == BODY and route.call_count == 3 and waits == [1.0, 2.0]


def test_404_fails_at_once_after_one_attempt(waits):
    with respx.mock() as mock, VendorClient(_policy()) as client:
        route = mock.get(URL).mock(return_value=httpx.Response(404, text='{"chart":{"error":"Not Found"}}'))
        with pytest.raises(VendorHTTPError) as caught:
            client.get(URL)
    assert route.call_count == 1 and waits == []
    assert (caught.value.status, caught.value.attempts) == (404, 1)
    assert "HTTP 404 after 1 attempt(s)" in str(caught.value) and "Not Found" in str(caught.value)


def test_timeouts_are_retried_then_reported_without_a_status(waits):
    with respx.mock() as mock, VendorClient(_policy(max_retries=2)) as client:
        route = mock.get(URL).mock(side_effect=httpx.ReadTimeout("timed out"))
        with pytest.raises(VendorHTTPError) as caught:
            client.get(URL, {"symbol": "AAPL"})
    assert route.call_count == 3
    assert (caught.value.status, caught.value.attempts) == (None, 3)
    assert str(caught.value).startswith(f"yahoo: GET {URL}?symbol=AAPL failed with no response after 3 attempt(s): ReadTimeout")
    assert waits == [1.0, 2.0]


def test_connect_errors_then_success(waits):
    with respx.mock() as mock, VendorClient(_policy()) as client:
        route = mock.get(URL).mock(side_effect=[httpx.ConnectError("refused"), httpx.ConnectError("refused"), _ok()])
        body, _ = client.get_json(URL)
    assert body == BODY and route.call_count == 3


def test_a_transport_error_that_is_not_retried_reports_one_attempt(waits):
    with respx.mock() as mock, VendorClient(_policy()) as client:
        mock.get(URL).mock(side_effect=httpx.UnsupportedProtocol("no such scheme"))
        with pytest.raises(VendorHTTPError) as caught:
            client.get(URL)
    assert caught.value.attempts == 1 and waits == []


def test_a_real_read_timeout_against_a_silent_server():
    """A local server that accepts and never answers: each attempt ends at ``timeout_s``."""
    server = socket.create_server(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}/v8/finance/chart/AAPL"
    try:
        policy = HttpPolicy("yahoo", timeout_s=0.3, max_retries=1, backoff_factor=0.05, backoff_jitter=0.0)
        with VendorClient(policy) as client:
            started = time.monotonic()
            with pytest.raises(VendorHTTPError) as caught:
                client.get(url)
            elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        server.close()
    assert (caught.value.status, caught.value.attempts) == (None, 2)
    assert "ReadTimeout" in str(caught.value)
    # two 0.3 s read timeouts and a 0.1 s backoff; the upper bound only says "it did not hang"
    assert 0.6 <= elapsed < 60.0
    assert len(accepted) == 2


def test_malformed_json_names_the_url_and_the_problem(waits):
    truncated = BODY_BYTES[: len(BODY_BYTES) // 2]
    with respx.mock() as mock, VendorClient(_policy()) as client:
        mock.get(URL).mock(return_value=httpx.Response(200, content=truncated))
        with pytest.raises(VendorResponseError) as caught:
            client.get_json(URL, {"interval": "1d"})
    error = caught.value
    assert error.url == f"{URL}?interval=1d" and error.vendor == "yahoo"
    assert error.reason.startswith("body is not JSON (")
    assert f"unexpected body from {URL}?interval=1d: body is not JSON" in str(error)
    assert repr(truncated[:20])[2:-1] in error.reason  # shows how the body starts


def test_html_instead_of_json_is_a_response_error():
    with pytest.raises(VendorResponseError, match=r"body is not JSON .*starts with b'<!DOCTYPE html>"):
        parse_json_body("yahoo", URL, b"<!DOCTYPE html><html><body>Will be right back</body></html>")


def test_check_reports_what_is_wrong_with_the_body():
    def check(body):
        return None if body["chart"]["result"] else "chart.result is empty"

    assert parse_json_body("yahoo", URL, BODY_BYTES, check) == BODY
    empty = json.dumps({"chart": {"result": [], "error": None}}).encode()
    with pytest.raises(VendorResponseError, match="chart.result is empty"):
        parse_json_body("yahoo", URL, empty, check)
    with pytest.raises(VendorResponseError, match=r"unexpected shape \(KeyError: 'chart'\)"):
        parse_json_body("yahoo", URL, b'{"finance": null}', check)


def test_rate_limit_spaces_requests():
    """5 per second: of 10 requests the 6th waits until a second after the 1st, and so on."""
    stamps: list[float] = []

    def respond(request: httpx.Request) -> httpx.Response:
        stamps.append(time.monotonic())
        return _ok()

    with respx.mock() as mock, VendorClient(_policy(rate_per_second=5)) as client:
        mock.get(URL).mock(side_effect=respond)
        started = time.monotonic()
        for _ in range(10):
            client.get(URL)
        elapsed = time.monotonic() - started
    assert len(stamps) == 10
    assert elapsed >= 0.95
    gaps = [later - earlier for earlier, later in zip(stamps, stamps[5:])]
    assert min(gaps) >= 0.95, gaps  # never more than 5 requests in any one-second window
    # (only lower bounds on time: a loaded machine can make requests slower, never faster)


def test_without_rate_limit_requests_are_not_spaced():
    """No rate: no limiter at all (no thread that could space requests), whatever the clock says."""
    before = _leakers()
    with respx.mock() as mock, VendorClient(_policy()) as client:
        route = mock.get(URL).mock(return_value=_ok())
        for _ in range(10):
            client.get(URL)
        assert _leakers() == before
    assert route.call_count == 10


def _leakers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == LEAKER and t.is_alive()}


def test_closing_the_client_stops_the_rate_limiter_thread():
    """The limiter's thread ends once the client is closed (joined, not polled against a clock)."""
    before = _leakers()
    with respx.mock() as mock:
        mock.get(URL).mock(return_value=_ok())
        client = VendorClient(_policy(rate_per_second=5))
        client.get(URL)
        started = _leakers() - before
        assert len(started) == 1
        client.close()
    (thread,) = started
    thread.join(timeout=120)  # generous: only a leaked thread gets anywhere near it
    assert not thread.is_alive()


@pytest.mark.parametrize(
    ("field", "value"),
    [("backoff_jitter", 1.5), ("timeout_s", 0), ("max_retries", -1), ("rate_per_second", 0), ("rate_per_second", 2.5)],
)
def test_policy_rejects_values_out_of_range(field, value):
    with pytest.raises(ValueError, match=rf"HttpPolicy\('yahoo'\): {field} must be"):
        HttpPolicy("yahoo", **{field: value})


# --------------------------------------------------------------------------- raw response store


def test_raw_store_round_trip_is_byte_exact(tmp_path):
    store = RawResponseStore(tmp_path, "yahoo")
    key = "chart/AAPL/2020-01-02_2020-01-03.json"
    assert store.get(key) is None
    path = store.put(key, BODY_BYTES)
    assert path == tmp_path / "yahoo" / "chart" / "AAPL" / "2020-01-02_2020-01-03.json"
    assert store.get(key) == BODY_BYTES
    assert store.keys() == [key] and store.keys("chart/AAPL") == [key] and store.keys("chart/MSFT") == []


def test_raw_store_put_replaces_atomically_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    store = RawResponseStore(tmp_path, "yahoo")
    key = "chart/NVDA/2021-02-01_2022-01-31.json"
    store.put(key, b"first")
    store.put(key, BODY_BYTES)
    assert store.get(key) == BODY_BYTES

    def crash(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr("domain.files.os.replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        store.put(key, b"half written")
    assert store.get(key) == BODY_BYTES  # the old file is untouched
    assert [p.name for p in (tmp_path / "yahoo" / "chart" / "NVDA").iterdir()] == ["2021-02-01_2022-01-31.json"]


def test_raw_store_keys_stay_inside_the_vendor_folder(tmp_path):
    store = RawResponseStore(tmp_path, "yahoo")
    assert store.path_for("chart/../../etc/passwd") == tmp_path / "yahoo" / "chart" / "etc" / "passwd"
    assert store.path_for("chart/^GSPC/a b.json") == tmp_path / "yahoo" / "chart" / "_GSPC" / "a_b.json"
    assert store.path_for("chart/.hidden") == tmp_path / "yahoo" / "chart" / "_hidden"
    with pytest.raises(ValueError, match="empty raw-store key"):
        store.path_for("../..")

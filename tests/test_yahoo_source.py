"""The Yahoo chart client (``pipelines.sources.yahoo``) on real recorded responses.

respx replays the bodies recorded in ``data/sample/fixtures/yahoo/`` (see ``data/README.md``):
parsing to frames (trade dates in the exchange's time zone, events, split basis), the body
checks, the raw store (a second run makes no HTTP call), and 404 handling.
"""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, timezone

import httpx
import polars as pl
import pytest
import respx

from pipelines.lib.http import RawResponseStore, VendorHTTPError, VendorResponseError
from pipelines.sources.yahoo import (
    ACTION_SCHEMA,
    BAR_SCHEMA,
    YahooChartSource,
    chart_params,
    chart_url,
    check_chart_body,
    fetch_window,
    parse_chart,
    raw_key,
    recorded_body,
    stored_actions,
    yahoo_policy,
    yahoo_symbol,
)
from tests.data_files import sample_fixture

YAHOO = sample_fixture("yahoo")
NVDA_FILE = YAHOO / "historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json"
MSFT_FILE = YAHOO / "historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.csv.json"
AAPL_FILE = YAHOO / "chart-AAPL-2020-08-31-to-2020-11-07.json"
WEEKEND_FILE = YAHOO / "chart-AAPL-2025-02-01-to-2025-02-02-includePrePost-false-interval-1m.json"
FIRST, END = date(2021, 2, 1), date(2022, 1, 31)
AFTER_THE_WINDOW = datetime(2025, 2, 22, 10, 1, 31, tzinfo=timezone.utc)  # when NVDA/MSFT were recorded


def _body(path) -> dict:
    return json.loads(recorded_body(path))


def _source(tmp_path, now: datetime = AFTER_THE_WINDOW) -> YahooChartSource:
    return YahooChartSource(RawResponseStore(tmp_path, "yahoo"), policy=yahoo_policy(), now=lambda: now)


def test_request_shape():
    assert chart_url("NVDA") == "https://query2.finance.yahoo.com/v8/finance/chart/NVDA"
    assert chart_url("BRK.B") == "https://query2.finance.yahoo.com/v8/finance/chart/BRK-B"
    assert yahoo_symbol(" brk.b ") == "BRK-B"
    # the recorded request used exactly these period bounds
    assert chart_params(FIRST, END) == {
        "period1": "1612137600",
        "period2": "1643587200",
        "interval": "1d",
        "events": "div|split",
        "includeAdjustedClose": "true",
    }
    assert "period1=1612137600&period2=1643587200" in json.loads(NVDA_FILE.read_text())["request"]["url"]
    assert raw_key("nvda", FIRST, END) == "chart/NVDA/2021-02-01_2022-01-31.json"
    policy = yahoo_policy()
    assert (policy.rate_per_second, policy.max_retries, policy.vendor) == (2, 4, "yahoo")


def test_parse_nvda_bars_dates_and_split():
    chart = parse_chart("NVDA", _body(NVDA_FILE))
    bars = chart.bars
    assert bars.schema == pl.Schema(BAR_SCHEMA)
    assert bars.height == 252
    assert bars["trade_date"].min() == date(2021, 2, 1) and bars["trade_date"].max() == date(2022, 1, 28)
    assert bars["trade_date"].is_unique().all()
    assert bars["source_line"].to_list() == list(range(1, 253))
    assert chart.split_basis_date == date(2025, 2, 21)  # regularMarketTime 1740171601 = 16:00 New York
    assert chart.exchange_timezone == "America/New_York"
    row = bars.filter(pl.col("trade_date") == date(2021, 7, 19)).row(0, named=True)
    # already divided by the 4:1 (2021) and 10:1 (2024) splits: the traded close was ~750
    assert row["close"] == pytest.approx(18.77975082397461, abs=1e-12)
    assert row["volume"] == 749_060_000
    assert row["adj_close"] == pytest.approx(18.742971420288086, abs=1e-12)
    first = bars.row(0, named=True)
    assert (first["open"], first["high"], first["low"], first["close"], first["volume"]) == pytest.approx(
        (13.053250312805176, 13.270750045776367, 12.902750015258789, 13.237000465393066, 217_204_000)
    )
    assert chart.actions.schema == pl.Schema(ACTION_SCHEMA)
    assert chart.actions.rows() == [("NVDA", date(2021, 7, 20), "split", 4.0, 1.0, None, date(2025, 2, 21))]


def test_parse_msft_dividends_and_aapl_split_with_dividend():
    msft = parse_chart("MSFT", _body(MSFT_FILE)).actions
    assert msft.select("ex_date", "action_type", "cash_amount").rows() == [
        (date(2021, 2, 17), "dividend", 0.56),
        (date(2021, 5, 19), "dividend", 0.56),
        (date(2021, 8, 18), "dividend", 0.56),
        (date(2021, 11, 17), "dividend", 0.62),
    ]
    aapl = parse_chart("AAPL", _body(AAPL_FILE))
    assert aapl.actions.select("ex_date", "action_type", "split_numerator", "split_denominator", "cash_amount").rows() == [
        (date(2020, 8, 31), "split", 4.0, 1.0, None),
        (date(2020, 11, 6), "dividend", None, None, 0.205),
    ]
    assert aapl.bars.height == 49 and aapl.split_basis_date == date(2025, 2, 19)


def test_a_window_without_sessions_parses_to_no_rows():
    body = _body(WEEKEND_FILE)
    assert "timestamp" not in body["chart"]["result"][0]
    assert check_chart_body(body, "AAPL") is None
    chart = parse_chart("AAPL", body)
    assert chart.bars.height == 0 and chart.actions.height == 0


def _broken(mutate) -> dict:
    body = copy.deepcopy(_body(NVDA_FILE))
    mutate(body)
    return body


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda b: b["chart"].update(error={"code": "Not Found", "description": "No data found, symbol may be delisted"}),
         "Yahoo error 'Not Found': 'No data found, symbol may be delisted'"),
        (lambda b: b["chart"].update(result=None), "chart.result is missing or empty"),
        (lambda b: b["chart"].update(result=[]), "chart.result is missing or empty"),
        (lambda b: b["chart"]["result"][0].pop("meta"), "chart.result[0].meta is missing"),
        (lambda b: b["chart"]["result"][0]["meta"].pop("exchangeTimezoneName"),
         "chart.result[0].meta lacks exchangeTimezoneName"),
        (lambda b: b["chart"]["result"][0]["meta"].update(currency="EUR"), "meta.currency is 'EUR', expected 'USD'"),
        (lambda b: b["chart"]["result"][0]["meta"].update(symbol="AMD"), "meta.symbol is 'AMD', expected 'NVDA'"),
        (lambda b: b["chart"]["result"][0].pop("indicators"), "chart.result[0].indicators.quote is missing"),
        (lambda b: b["chart"]["result"][0].pop("timestamp"),
         "chart.result[0].timestamp is missing but indicators.quote has values"),
        (lambda b: b["chart"]["result"][0]["indicators"]["quote"][0]["close"].pop(),
         "chart.result[0].indicators.quote[0].close has 251 values for 252 timestamps"),
        (lambda b: b["chart"]["result"][0]["indicators"]["quote"][0].pop("volume"),
         "chart.result[0].indicators.quote[0].volume is missing"),
        (lambda b: b["chart"]["result"][0]["indicators"]["quote"][0]["high"].__setitem__(3, "13.9"),
         "chart.result[0].indicators.quote[0].high has non-numeric values such as '13.9'"),
        (lambda b: b["chart"]["result"][0]["indicators"]["quote"][0]["volume"].__setitem__(0, 217204000.5),
         "chart.result[0].indicators.quote[0].volume has fractional values such as 217204000.5"),
        (lambda b: b["chart"]["result"][0]["events"]["splits"]["1626787800"].pop("numerator"),
         "chart.result[0].events.splits['1626787800'] lacks a numeric date / numerator / denominator"),
        (lambda b: b["chart"]["result"][0]["events"]["splits"]["1626787800"].update(denominator=0),
         "chart.result[0].events.splits['1626787800'] has a non-positive value"),
        (lambda b: b.pop("chart"), "no 'chart' object in the body"),
    ],
)
def test_check_names_what_is_wrong(mutate, problem):
    assert check_chart_body(_body(NVDA_FILE), "NVDA") is None
    assert check_chart_body(_broken(mutate), "NVDA").startswith(problem)


def test_fetch_then_rerun_reads_the_raw_store_without_http(tmp_path):
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(chart_url("NVDA")).mock(return_value=httpx.Response(200, content=recorded_body(NVDA_FILE)))
        with _source(tmp_path) as source:
            first = source.chart("NVDA", FIRST, END)
        assert route.call_count == 1
        assert route.calls.last.request.url.params["events"] == "div|split"
        stored = tmp_path / "yahoo" / "chart" / "NVDA" / "2021-02-01_2022-01-31.json"
        assert stored.read_bytes() == recorded_body(NVDA_FILE)  # byte for byte what came over the wire
        with _source(tmp_path) as source:
            again = source.chart("NVDA", FIRST, END)
            assert source.log.reused == ["chart/NVDA/2021-02-01_2022-01-31.json"] and source.log.fetched == []
        assert route.call_count == 1  # no second HTTP call
    assert again.bars.equals(first.bars) and again.actions.equals(first.actions)


def test_a_window_that_has_not_closed_is_not_stored(tmp_path):
    during_the_last_session = datetime(2022, 1, 28, 15, 0, tzinfo=timezone.utc)  # 10:00 in New York
    with respx.mock() as mock:
        route = mock.get(chart_url("NVDA")).mock(return_value=httpx.Response(200, content=recorded_body(NVDA_FILE)))
        with _source(tmp_path, now=during_the_last_session) as source:
            source.chart("NVDA", FIRST, END)
            source.chart("NVDA", FIRST, END)
            assert source.log.not_stored == ["chart/NVDA/2021-02-01_2022-01-31.json"] * 2
    assert route.call_count == 2
    assert RawResponseStore(tmp_path, "yahoo").keys() == []


def test_a_friday_window_fetched_that_evening_is_stored(tmp_path):
    """The window ends on Monday 2022-01-31 (exclusive); its last session is Friday 2022-01-28."""
    friday_evening = datetime(2022, 1, 28, 23, 30, tzinfo=timezone.utc)  # 18:30 in New York (the schedule)
    with respx.mock() as mock:
        mock.get(chart_url("NVDA")).mock(return_value=httpx.Response(200, content=recorded_body(NVDA_FILE)))
        with _source(tmp_path, now=friday_evening) as source:
            source.chart("NVDA", FIRST, END)
            assert source.log.fetched == ["chart/NVDA/2021-02-01_2022-01-31.json"] and source.log.not_stored == []


def test_a_stored_body_that_is_not_a_chart_is_an_error_naming_the_file(tmp_path):
    store = RawResponseStore(tmp_path, "yahoo")
    store.put(raw_key("NVDA", FIRST, END), recorded_body(NVDA_FILE)[:5000])
    with respx.mock(assert_all_called=False) as mock, _source(tmp_path) as source:
        route = mock.get(chart_url("NVDA"))
        with pytest.raises(VendorResponseError, match=r"stored chart/NVDA/2021-02-01_2022-01-31.json\): body is not JSON"):
            source.chart("NVDA", FIRST, END)
    assert route.call_count == 0


def test_fetch_window_skips_unknown_symbols_and_raises_on_other_errors(tmp_path):
    with respx.mock() as mock, _source(tmp_path) as source:
        mock.get(chart_url("NVDA")).mock(return_value=httpx.Response(200, content=recorded_body(NVDA_FILE)))
        mock.get(chart_url("MSFT")).mock(return_value=httpx.Response(200, content=recorded_body(MSFT_FILE)))
        mock.get(chart_url("PCLN")).mock(
            return_value=httpx.Response(404, text='{"chart":{"result":null,"error":{"code":"Not Found"}}}')
        )
        window = fetch_window(source, ["MSFT", "NVDA", "PCLN"], FIRST, END)
    assert window.bars.height == 504
    assert window.bars.group_by("ticker").len().sort("ticker").rows() == [("MSFT", 252), ("NVDA", 252)]
    assert window.bars["source_file"].unique().sort().to_list() == [
        "chart/MSFT/2021-02-01_2022-01-31.json",
        "chart/NVDA/2021-02-01_2022-01-31.json",
    ]
    assert window.actions.height == 5
    assert list(window.not_found) == ["PCLN"] and "HTTP 404 after 1 attempt(s)" in window.not_found["PCLN"]

    with respx.mock() as mock, _source(tmp_path / "other") as source:
        mock.get(chart_url("NVDA")).mock(return_value=httpx.Response(403, text="Forbidden"))
        with pytest.raises(VendorHTTPError, match="HTTP 403"):
            fetch_window(source, ["NVDA"], FIRST, END)


def test_stored_actions_reads_every_response_and_keeps_the_latest_basis(tmp_path):
    store = RawResponseStore(tmp_path, "yahoo")
    assert stored_actions(store).height == 0
    store.put(raw_key("NVDA", FIRST, END), recorded_body(NVDA_FILE))
    store.put(raw_key("MSFT", FIRST, END), recorded_body(MSFT_FILE))
    store.put(raw_key("AAPL", date(2020, 8, 31), date(2020, 11, 9)), recorded_body(AAPL_FILE))
    store.put(raw_key("AAPL", date(2025, 2, 1), date(2025, 2, 3)), recorded_body(WEEKEND_FILE))  # no events
    # the same AAPL window as if fetched earlier (a basis before the split): the later fetch wins
    older = _body(AAPL_FILE)
    older["chart"]["result"][0]["meta"]["regularMarketTime"] = 1598644800  # 2020-08-28 16:00 New York
    store.put(raw_key("AAPL", date(2020, 8, 3), date(2020, 11, 9)), json.dumps(older).encode())
    actions = stored_actions(store)
    assert actions.select("ticker", "ex_date", "action_type", "split_basis_date", "source_file").rows() == [
        ("AAPL", date(2020, 8, 31), "split", date(2025, 2, 19), "chart/AAPL/2020-08-31_2020-11-09.json"),
        ("AAPL", date(2020, 11, 6), "dividend", date(2025, 2, 19), "chart/AAPL/2020-08-31_2020-11-09.json"),
        ("MSFT", date(2021, 2, 17), "dividend", date(2025, 2, 21), "chart/MSFT/2021-02-01_2022-01-31.json"),
        ("MSFT", date(2021, 5, 19), "dividend", date(2025, 2, 21), "chart/MSFT/2021-02-01_2022-01-31.json"),
        ("MSFT", date(2021, 8, 18), "dividend", date(2025, 2, 21), "chart/MSFT/2021-02-01_2022-01-31.json"),
        ("MSFT", date(2021, 11, 17), "dividend", date(2025, 2, 21), "chart/MSFT/2021-02-01_2022-01-31.json"),
        ("NVDA", date(2021, 7, 20), "split", date(2025, 2, 21), "chart/NVDA/2021-02-01_2022-01-31.json"),
    ]

"""Yahoo Finance v8 chart API: daily OHLCV, Yahoo's adjusted close, splits and dividends.

Endpoint (unofficial, undocumented, no API key; shape as recorded in 2025, see
``data/README.md``, recorded responses)::

    GET https://query2.finance.yahoo.com/v8/finance/chart/{symbol}
        ?period1=<unix s>&period2=<unix s>&interval=1d&events=div|split&includeAdjustedClose=true

    {"chart": {"error": null, "result": [{
        "meta": {"symbol", "currency", "exchangeTimezoneName", "regularMarketTime", ...},
        "timestamp": [<unix s of each session's open>, ...],
        "events": {"dividends": {"<ts>": {"amount", "date"}},
                   "splits": {"<ts>": {"date", "numerator", "denominator", "splitRatio"}}},
        "indicators": {"quote": [{"open": [...], "high": [...], "low": [...], "close": [...],
                                  "volume": [...]}],
                       "adjclose": [{"adjclose": [...]}]}}]}}

What the numbers are (checked on the recorded responses, and reported by users of the API:
quantmod issue #218, pandas-datareader issue #651):

* ``quote`` OHLC and volume are **split-adjusted as of the moment of the fetch** and not
  dividend-adjusted: NVDA's close of 2021-07-19, fetched in 2025, is 18.78 (its ~750 USD
  traded price divided by the 4:1 split of 2021-07-20 and the 10:1 split of 2024-06-10).
* ``adjclose`` is split- and dividend-adjusted (Yahoo: multiplicative CRSP-style factors).
* dividend ``amount`` is split-adjusted the same way (AAPL's 2014 dividend of 3.29 shows as 0.47).
* timestamps are the session's opening time in UTC; the trade date is that instant's date in
  ``meta.exchangeTimezoneName``; event timestamps likewise give the ex-date.

So each response records :attr:`YahooChart.split_basis_date`: the exchange-local date of
``meta.regularMarketTime`` (the last trade the response reflects). Splits with an ex-date after
it were not yet applied to these numbers; splits on or before it were. dbt uses that date to
put rows of different fetches (and the bundled CSV) on one basis.

Politeness and limits: the API is unofficial and throttles with 429; :func:`yahoo_policy`
sends at most ``YAHOO_RATE_PER_SECOND`` (2) requests per second and retries 429/5xx with
backoff (shared :class:`~pipelines.lib.http.HttpPolicy`). An unknown or delisted symbol
answers 404 (:class:`~pipelines.lib.http.VendorHTTPError`).

Raw responses are kept byte for byte in a :class:`~pipelines.lib.http.RawResponseStore`
(vendor ``yahoo``) under ``chart/<TICKER>/<first>_<end>.json`` (``end`` exclusive); a rerun of
the same window reads the stored body and makes no HTTP call. A response fetched before the
window's last session closed is not stored (it would freeze an intraday bar).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import polars as pl

from domain.calendar import previous_session_before
from pipelines.lib.http import (
    HttpPolicy,
    LazyVendorClient,
    RawResponseStore,
    VendorHTTPError,
)
from pipelines.lib.http.client import parse_json_body

VENDOR = "yahoo"
CHART_URL = "https://query2.finance.yahoo.com/v8/finance/chart/{symbol}"
YAHOO_RATE_PER_SECOND = 2
"""Client-side limit (requests per second): Yahoo publishes none and throttles bursts with 429."""
USER_AGENT = "Mozilla/5.0 (compatible; stock-screener-warehouse/0.1)"
"""Yahoo refuses some non-browser agents (empty 429s); this one names the project."""
SOURCE = "yahoo:chart"
"""Value of the ``source`` column of the rows loaded from this API."""
EXCHANGE_CLOSE_GRACE = time(17, 0)
"""A window is complete once the exchange clock passes this time on its last session."""

QUOTE_FIELDS = ("open", "high", "low", "close", "volume")

BAR_SCHEMA: dict[str, pl.DataType] = {
    "source_line": pl.Int64(),
    "ticker": pl.String(),
    "trade_date": pl.Date(),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Int64(),
    "adj_close": pl.Float64(),
    "split_basis_date": pl.Date(),
}
"""Columns of :attr:`YahooChart.bars`: one row per timestamp, in response order. ``source_line``
is the 1-based position in ``timestamp``; prices USD as Yahoo sends them (split-adjusted as of
``split_basis_date``, not dividend-adjusted); ``volume`` shares (split-adjusted likewise);
``adj_close`` Yahoo's split- and dividend-adjusted close. NULL where Yahoo sent null."""

ACTION_SCHEMA: dict[str, pl.DataType] = {
    "ticker": pl.String(),
    "ex_date": pl.Date(),
    "action_type": pl.String(),
    "split_numerator": pl.Float64(),
    "split_denominator": pl.Float64(),
    "cash_amount": pl.Float64(),
    "split_basis_date": pl.Date(),
}
"""Columns of :attr:`YahooChart.actions`: one row per event, ordered by ex_date and type.
``action_type`` is ``split`` (``split_numerator`` new shares for ``split_denominator`` old
ones, e.g. 4 and 1; ``cash_amount`` NULL) or ``dividend`` (``cash_amount`` USD per share as
Yahoo sends it, split-adjusted as of ``split_basis_date``; split columns NULL)."""


def yahoo_policy() -> HttpPolicy:
    """The HTTP policy for Yahoo: 2 requests/s, 4 retries with 1 s, 2 s, 4 s, 8 s backoff (jitter
    50 %), 20 s timeouts, a browser-compatible ``User-Agent``."""
    return HttpPolicy(
        vendor=VENDOR,
        user_agent=USER_AGENT,
        timeout_s=20.0,
        max_retries=4,
        backoff_factor=0.5,
        backoff_jitter=0.5,
        max_backoff_s=60.0,
        rate_per_second=YAHOO_RATE_PER_SECOND,
    )


def yahoo_symbol(ticker: str) -> str:
    """Yahoo's symbol of an exchange ticker: share classes use ``-`` (``BRK.B`` -> ``BRK-B``)."""
    return ticker.strip().upper().replace(".", "-")


def chart_url(ticker: str) -> str:
    """The chart URL of ``ticker`` (Yahoo symbol in the path)."""
    return CHART_URL.format(symbol=yahoo_symbol(ticker))


def chart_params(first: date, end: date) -> dict[str, str]:
    """Query of the daily chart for trade dates ``first <= d < end``: ``period1``/``period2`` are
    midnight UTC of ``first`` and ``end`` (US sessions open at 13:30/14:30 UTC, inside the day)."""
    return {
        "period1": str(_utc_midnight(first)),
        "period2": str(_utc_midnight(end)),
        "interval": "1d",
        "events": "div|split",
        "includeAdjustedClose": "true",
    }


def raw_key(ticker: str, first: date, end: date) -> str:
    """Raw-store key of the response for ``ticker`` and the window ``[first, end)``."""
    return f"chart/{ticker.strip().upper()}/{first.isoformat()}_{end.isoformat()}.json"


def _utc_midnight(day: date) -> int:
    return int(datetime.combine(day, time(), tzinfo=timezone.utc).timestamp())


# ---------------------------------------------------------------------------------------------
# body check (returns what is wrong, or None)


def check_chart_body(body: Any, expected_symbol: str | None = None) -> str | None:
    """What is wrong with a chart body (``None`` if nothing).

    Reports: ``chart.error`` set (Yahoo's code and description); no ``chart.result`` or an empty
    one; ``meta`` without ``exchangeTimezoneName`` (or an unknown zone), ``regularMarketTime``
    or ``currency``; a currency other than USD; another symbol than ``expected_symbol``; no
    ``indicators.quote``; quote values without ``timestamp``; a quote or adjclose array whose
    length differs from ``timestamp``; non-numeric values; malformed split or dividend events.
    A result with neither ``timestamp`` nor quote values is a window without sessions (valid).
    """
    if not isinstance(body, dict) or not isinstance(body.get("chart"), dict):
        return "no 'chart' object in the body"
    chart = body["chart"]
    error = chart.get("error")
    if error:
        if isinstance(error, dict):
            return f"Yahoo error {error.get('code')!r}: {error.get('description')!r}"
        return f"Yahoo error {error!r}"
    results = chart.get("result")
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        return "chart.result is missing or empty"
    result = results[0]
    meta = result.get("meta")
    if not isinstance(meta, dict):
        return "chart.result[0].meta is missing"
    missing = [key for key in ("exchangeTimezoneName", "regularMarketTime", "currency") if meta.get(key) is None]
    if missing:
        return f"chart.result[0].meta lacks {', '.join(missing)}"
    try:
        ZoneInfo(str(meta["exchangeTimezoneName"]))
    except (ZoneInfoNotFoundError, ValueError):
        return f"meta.exchangeTimezoneName {meta['exchangeTimezoneName']!r} is not a time zone"
    if not _is_number(meta["regularMarketTime"]):
        return f"meta.regularMarketTime {meta['regularMarketTime']!r} is not a unix time"
    if meta["currency"] != "USD":
        return f"meta.currency is {meta['currency']!r}, expected 'USD'"
    if expected_symbol is not None and str(meta.get("symbol", "")).upper() != expected_symbol.upper():
        return f"meta.symbol is {meta.get('symbol')!r}, expected {expected_symbol!r}"
    indicators = result.get("indicators")
    quotes = indicators.get("quote") if isinstance(indicators, dict) else None
    if not isinstance(quotes, list) or not quotes or not isinstance(quotes[0], dict):
        return "chart.result[0].indicators.quote is missing"
    quote = quotes[0]
    timestamps = result.get("timestamp")
    if timestamps is None:
        if any(quote.get(name) for name in QUOTE_FIELDS):
            return "chart.result[0].timestamp is missing but indicators.quote has values"
        return None  # a window without sessions
    if not isinstance(timestamps, list) or not all(_is_number(t) for t in timestamps):
        return "chart.result[0].timestamp is not a list of unix times"
    arrays = {f"indicators.quote[0].{name}": quote.get(name) for name in QUOTE_FIELDS}
    adjclose = indicators.get("adjclose")
    if adjclose is not None:
        if not isinstance(adjclose, list) or not adjclose or not isinstance(adjclose[0], dict):
            return "chart.result[0].indicators.adjclose is not a list of objects"
        arrays["indicators.adjclose[0].adjclose"] = adjclose[0].get("adjclose")
    for path, values in arrays.items():
        if not isinstance(values, list):
            return f"chart.result[0].{path} is missing"
        if len(values) != len(timestamps):
            return f"chart.result[0].{path} has {len(values)} values for {len(timestamps)} timestamps"
        bad = [v for v in values if v is not None and not _is_number(v)]
        if bad:
            return f"chart.result[0].{path} has non-numeric values such as {bad[0]!r}"
    volumes = [v for v in quote["volume"] if v is not None and float(v) != int(v)]
    if volumes:
        return f"chart.result[0].indicators.quote[0].volume has fractional values such as {volumes[0]!r}"
    return _check_events(result.get("events"))


def _check_events(events: Any) -> str | None:
    if events is None:
        return None
    if not isinstance(events, dict):
        return "chart.result[0].events is not an object"
    for kind, required in (("dividends", ("date", "amount")), ("splits", ("date", "numerator", "denominator"))):
        entries = events.get(kind, {})
        if not isinstance(entries, dict):
            return f"chart.result[0].events.{kind} is not an object"
        for key, entry in entries.items():
            if not isinstance(entry, dict) or any(not _is_number(entry.get(name)) for name in required):
                return f"chart.result[0].events.{kind}[{key!r}] lacks a numeric {' / '.join(required)}"
            if any(entry[name] <= 0 for name in required[1:]):
                return f"chart.result[0].events.{kind}[{key!r}] has a non-positive value: {entry!r}"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


# ---------------------------------------------------------------------------------------------
# parsing


@dataclass(frozen=True)
class YahooChart:
    """One parsed chart response. Frames as :data:`BAR_SCHEMA` and :data:`ACTION_SCHEMA`."""

    ticker: str
    bars: pl.DataFrame
    actions: pl.DataFrame
    split_basis_date: date
    exchange_timezone: str


def parse_chart(ticker: str, body: dict) -> YahooChart:
    """Frames of a chart body that passed :func:`check_chart_body` (``ticker`` names the rows)."""
    result = body["chart"]["result"][0]
    meta = result["meta"]
    zone = ZoneInfo(meta["exchangeTimezoneName"])
    basis = _local_date(meta["regularMarketTime"], zone)
    timestamps = result.get("timestamp") or []
    quote = result["indicators"]["quote"][0]
    adjclose = (result["indicators"].get("adjclose") or [{}])[0].get("adjclose") or [None] * len(timestamps)
    n = len(timestamps)
    bars = pl.DataFrame(
        {
            "source_line": list(range(1, n + 1)),
            "ticker": [ticker] * n,
            "trade_date": [_local_date(t, zone) for t in timestamps],
            **{name: quote.get(name) or [None] * n for name in ("open", "high", "low", "close")},
            "volume": [None if v is None else int(v) for v in quote.get("volume") or [None] * n],
            "adj_close": adjclose,
            "split_basis_date": [basis] * n,
        },
        schema=BAR_SCHEMA,
    )
    events = result.get("events") or {}
    rows = [
        (ticker, _local_date(e["date"], zone), "dividend", None, None, float(e["amount"]), basis)
        for e in (events.get("dividends") or {}).values()
    ] + [
        (ticker, _local_date(e["date"], zone), "split", float(e["numerator"]), float(e["denominator"]), None, basis)
        for e in (events.get("splits") or {}).values()
    ]
    actions = pl.DataFrame(rows, schema=ACTION_SCHEMA, orient="row").sort("ex_date", "action_type")
    return YahooChart(ticker, bars, actions, basis, meta["exchangeTimezoneName"])


def _local_date(unix_seconds: float, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(unix_seconds, tz=zone).date()


# ---------------------------------------------------------------------------------------------
# fetching with the raw store


@dataclass
class FetchLog:
    """What a series of :meth:`YahooChartSource.chart` calls did (for run metadata)."""

    fetched: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    not_stored: list[str] = field(default_factory=list)


class YahooChartSource(LazyVendorClient):
    """Daily charts per ticker and window, from the raw store or over HTTP (then stored).

    Use as a context manager (closes the HTTP client). ``transport`` replaces the network
    (tests); ``now`` gives the current time (tests).
    """

    def __init__(
        self,
        store: RawResponseStore,
        *,
        policy: HttpPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        super().__init__(policy or yahoo_policy(), transport)
        self.store = store
        self._now = now
        self.log = FetchLog()

    def chart(self, ticker: str, first: date, end: date) -> YahooChart:
        """The daily chart of ``ticker`` for trade dates ``first <= d < end``.

        Reads ``raw_key(ticker, first, end)`` from the store if present (no HTTP call), else
        GETs it and stores the body (unless the window's last day has not closed yet).

        Raises:
            VendorHTTPError: 4xx (404 for an unknown or delisted symbol) at once; 429, 5xx,
                timeouts after the policy's retries.
            VendorResponseError: the body (fresh or stored) fails :func:`check_chart_body`.
        """
        key = raw_key(ticker, first, end)
        url = chart_url(ticker)
        params = chart_params(first, end)
        full_url = str(httpx.URL(url, params=params))
        symbol = yahoo_symbol(ticker)
        content = self.store.get(key)
        if content is not None:
            body = parse_json_body(VENDOR, f"{full_url} (stored {key})", content, _checker(symbol))
            self.log.reused.append(key)
        else:
            body, response = self.http().get_json(url, params, check=_checker(symbol))
            if self._window_closed(end, body):
                self.store.put(key, response.content)
                self.log.fetched.append(key)
            else:
                self.log.not_stored.append(key)
        return parse_chart(ticker, body)

    def _window_closed(self, end: date, body: dict) -> bool:
        """True when the window's last session (the XNYS session before ``end``) is over at the
        exchange (past :data:`EXCHANGE_CLOSE_GRACE` local time)."""
        zone = ZoneInfo(body["chart"]["result"][0]["meta"]["exchangeTimezoneName"])
        closed_at = datetime.combine(previous_session_before(end), EXCHANGE_CLOSE_GRACE, tzinfo=zone)
        return self._now() >= closed_at


def _checker(symbol: str) -> Callable[[Any], str | None]:
    return lambda body: check_chart_body(body, symbol)


@dataclass(frozen=True)
class YahooWindow:
    """Everything fetched for one window: bars and actions of every ticker found, the tickers
    Yahoo does not know (404, with the error text), and the fetch log."""

    bars: pl.DataFrame
    actions: pl.DataFrame
    not_found: dict[str, str]
    log: FetchLog
    source_files: dict[str, str]


def fetch_window(source: YahooChartSource, tickers: Iterable[str], first: date, end: date) -> YahooWindow:
    """Charts of ``tickers`` for ``[first, end)``. Bars get ``source_file`` (the raw-store key).

    A 404 (unknown or delisted symbol) is recorded in ``not_found`` and the ticker skipped: the
    completeness check of the price asset sees the gap. Every other error propagates.

    Raises:
        VendorHTTPError: other than 404, see :meth:`YahooChartSource.chart`.
        VendorResponseError: a body that is not a chart.
    """
    bars, actions, not_found, files = [], [], {}, {}
    for ticker in tickers:
        try:
            chart = source.chart(ticker, first, end)
        except VendorHTTPError as error:
            if error.status != 404:
                raise
            not_found[ticker] = str(error)
            continue
        key = raw_key(ticker, first, end)
        files[ticker] = key
        bars.append(chart.bars.with_columns(source_file=pl.lit(key)))
        actions.append(chart.actions)
    bar_schema = BAR_SCHEMA | {"source_file": pl.String()}
    return YahooWindow(
        bars=pl.concat(bars) if bars else pl.DataFrame(schema=bar_schema),
        actions=pl.concat(actions) if actions else pl.DataFrame(schema=ACTION_SCHEMA),
        not_found=not_found,
        log=source.log,
        source_files=files,
    )


def stored_actions(store: RawResponseStore) -> pl.DataFrame:
    """Every split and dividend in the stored chart responses (all tickers, all windows), one row
    per (ticker, ex_date, action_type): where several responses report the same event, the one
    with the latest ``split_basis_date`` wins (its amount reflects the most splits). Columns:
    :data:`ACTION_SCHEMA` plus ``source_file`` (the raw-store key it was read from).

    Raises:
        VendorResponseError: a stored file is not a chart body (names the file).
    """
    frames = []
    for key in store.keys("chart"):
        content = store.get(key)
        if content is None or b'"events"' not in content:  # no events: nothing to parse
            continue
        ticker = key.split("/")[1]
        body = parse_json_body(VENDOR, f"stored {key}", content, _checker(yahoo_symbol(ticker)))
        frames.append(parse_chart(ticker, body).actions.with_columns(source_file=pl.lit(key)))
    if not frames:
        return pl.DataFrame(schema=ACTION_SCHEMA | {"source_file": pl.String()})
    return (
        pl.concat(frames)
        .sort("ticker", "ex_date", "action_type", "split_basis_date", "source_file")
        .unique(subset=["ticker", "ex_date", "action_type"], keep="last", maintain_order=True)
    )


def recorded_body(path) -> bytes:
    """The body of a recorded response file (``{"request", "response": {"bodyJson"}}``) as the
    bytes the API sent (re-serialised JSON). Used by tests and benchmarks to replay recordings."""
    with open(path, encoding="utf-8") as handle:
        return json.dumps(json.load(handle)["response"]["bodyJson"]).encode()

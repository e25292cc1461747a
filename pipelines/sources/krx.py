"""KRX data portal (``data.krx.co.kr``): daily prices of the whole market, the listing, index
series and per-ticker valuation ratios, through the portal's JSON endpoint.

Endpoint (the portal's own web pages call it; undocumented, no API key; shapes as recorded in
2026, see ``data/README.md``, recorded KRX responses)::

    POST https://data.krx.co.kr/comm/bldAttendant/getJsonData.cmd
         Content-Type: application/x-www-form-urlencoded
         Referer: https://data.krx.co.kr/contents/MDC/MDI/outerLoader/index.cmd
         bld=dbms/MDC/STAT/standard/<screen>&<the screen's parameters>

    {"OutBlock_1" | "output": [{<column>: "<text>", ...}, ...], "CURRENT_DATETIME": "..."}

Every value is text; numbers carry thousands separators (``"83,000"``), ``"-"`` or ``""`` means
none; dates are ``YYYY/MM/DD``. Screens used here:

* ``MDCSTAT01501`` (``mktId``, ``trdDd``): every ticker's OHLCV and market cap on one day ->
  :meth:`KrxSource.daily_ohlcv`.
* ``MDCSTAT01901`` (``mktId``): the current listing master -> :meth:`KrxSource.listing`.
* ``MDCSTAT00301`` (``indIdx``, ``indIdx2``, ``strtDd``, ``endDd``): one index's daily series ->
  :meth:`KrxSource.index_ohlcv`.
* ``MDCSTAT03501`` (``mktId``, ``trdDd``): every ticker's EPS/PER/BPS/PBR/DPS/dividend yield on
  one day -> :meth:`KrxSource.valuation`.
* ``MDCSTAT03502`` (``isuCd``, ``strtDd``, ``endDd``): the same ratios of one ticker by day ->
  :meth:`KrxSource.valuation_history`.

Member login. Since early 2026 the portal answers these queries only inside a member session;
without one it sends an HTML page, a ``LOGOUT`` body or 401/403 instead of JSON
(:class:`KrxLoginRequiredError`). :meth:`KrxSource.login` opens a session with ``KRX_ID`` /
``KRX_PW`` (settings ``krx_id`` / ``krx_pw``): a GET of the login page (session cookie), then a
form POST of ``mbrId``, ``pw`` and ``skipDup=Y`` to ``MDCCOMS001D1.cmd``; the portal answers
JSON whose ``_error_code`` is ``CD001`` on success and keeps the session in its cookies, which
the HTTP client sends with every later request. This flow follows what users of the portal
published in 2026 (pykrx issue 276 and the clients derived from it); **no login exchange is
recorded, so it is tested only against replayed responses, not against the real portal.** A
query that meets a login page after a successful login logs in once more and repeats itself.
Login happens lazily, before the first query that goes over HTTP: reading stored responses needs
no credentials.

HTTP: the shared :class:`~pipelines.lib.http.HttpPolicy` (timeouts, retries of 429/5xx/connect
errors with backoff, :data:`KRX_RATE_PER_SECOND`), extended to retry these POSTs: they are
read-only queries. Failures raise :class:`KrxHTTPError` (a
:class:`~pipelines.lib.http.VendorHTTPError` naming the screen, the URL, status and attempts).

Raw responses are kept byte for byte in a :class:`~pipelines.lib.http.RawResponseStore`
(vendor ``krx``) under ``<screen>/<param>=<value>_....json`` (:func:`raw_key`); a rerun of the
same query reads the stored body and makes no HTTP call. A query about a day that has not ended
in Seoul (a session still trading) is not stored; the listing is a snapshot, stored per Seoul
date of the fetch (``asOf`` in the key).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import polars as pl

from pipelines.lib.http import HttpPolicy, LazyVendorClient, RawResponseStore, VendorClient, VendorHTTPError
from pipelines.lib.http.client import ATTEMPTS, parse_json_body
from pipelines.lib.http.errors import VendorResponseError

VENDOR = "krx"
JSON_URL = "https://data.krx.co.kr/comm/bldAttendant/getJsonData.cmd"
REFERER = "https://data.krx.co.kr/contents/MDC/MDI/outerLoader/index.cmd"
LOGIN_PAGE_URL = "https://data.krx.co.kr/contents/MDC/COMS/client/MDCCOMS001.cmd"
LOGIN_URL = "https://data.krx.co.kr/contents/MDC/COMS/client/MDCCOMS001D1.cmd"
LOGIN_OK = "CD001"
"""``_error_code`` of a successful login answer."""
BLD_PREFIX = "dbms/MDC/STAT/standard/"
USER_AGENT = "Mozilla/5.0 (compatible; stock-screener-warehouse/0.1)"
KRX_RATE_PER_SECOND = 2
"""Client-side limit (requests per second): KRX publishes none; the portal is a public web site."""
SEOUL = ZoneInfo("Asia/Seoul")

NO_PAR = "무액면"
"""``PARVAL`` of a no-par share ("no par value")."""

MARKET_IDS = {"ALL": "ALL", "KOSPI": "STK", "KOSDAQ": "KSQ", "KONEX": "KNX"}
"""``market`` argument -> the portal's ``mktId``."""

OHLCV_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "open": pl.Int64(),
    "high": pl.Int64(),
    "low": pl.Int64(),
    "close": pl.Int64(),
    "volume": pl.Int64(),
    "code": pl.String(),
    "name": pl.String(),
    "market": pl.String(),
}
"""Columns of :meth:`KrxSource.daily_ohlcv`: the product's KRX CSV layout
(``date,open,high,low,close,volume,code,name,market``). Prices KRW as traded that day (not
adjusted), volume shares; ``code`` the 6-character short code (leading zeros kept); ``name`` the
portal's short Korean name; ``market`` ``KOSPI``/``KOSDAQ``/``KONEX`` as KRX names it. A halted
ticker has open = high = low = 0 and volume 0, as KRX sends it."""

LISTING_SCHEMA: dict[str, pl.DataType] = {
    "code": pl.String(),
    "isin": pl.String(),
    "name": pl.String(),
    "full_name": pl.String(),
    "name_en": pl.String(),
    "listed_on": pl.Date(),
    "market": pl.String(),
    "security_group": pl.String(),
    "section": pl.String(),
    "share_kind": pl.String(),
    "par_value": pl.Float64(),
    "listed_shares": pl.Int64(),
}
"""Columns of :meth:`KrxSource.listing`: one row per listed security. ``market`` is KRX's
``KOSPI``, ``KOSDAQ``, ``KOSDAQ GLOBAL`` or ``KONEX``; ``par_value`` KRW (NULL for no-par
shares, which KRX marks ``무액면``); ``section`` KOSDAQ's division (empty for KOSPI)."""

INDEX_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Int64(),
    "amount": pl.Int64(),
    "market_cap": pl.Int64(),
}
"""Columns of :meth:`KrxSource.index_ohlcv`, ascending by date: index points; ``volume`` shares,
``amount`` traded value KRW and ``market_cap`` KRW of the constituents."""

VALUATION_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "code": pl.String(),
    "name": pl.String(),
    "close": pl.Int64(),
    "eps": pl.Float64(),
    "per": pl.Float64(),
    "bps": pl.Float64(),
    "pbr": pl.Float64(),
    "dps": pl.Float64(),
    "dividend_yield_pct": pl.Float64(),
}
"""Columns of :meth:`KrxSource.valuation` and :meth:`KrxSource.valuation_history`: ``close``
KRW; ``eps``, ``bps``, ``dps`` KRW per share; ``per``, ``pbr`` ratios; ``dividend_yield_pct`` in
percent (1.59 means 1.59 %). NULL where KRX sends ``-`` (e.g. no PER for a loss)."""


class KrxCredentialsError(ValueError):
    """A query must go over HTTP but ``KRX_ID`` / ``KRX_PW`` are not set."""


class KrxLoginError(RuntimeError):
    """The portal refused the login (its ``_error_code`` and ``_error_message``) or sent no JSON."""


class KrxLoginRequiredError(VendorResponseError):
    """The portal sent a login page, ``LOGOUT`` or 401/403 instead of a screen's JSON.
    Attributes: ``bld`` besides those of :class:`VendorResponseError`."""

    def __init__(self, bld: str, url: str, reason: str) -> None:
        self.bld = bld
        super().__init__(VENDOR, url, f"{bld}: {reason}; the portal requires a member login (set KRX_ID and KRX_PW)")


class KrxHTTPError(VendorHTTPError):
    """A KRX POST failed (4xx at once, 429/5xx/timeouts after the retries). Attributes: ``what``
    (the screen or ``login``) besides those of :class:`VendorHTTPError`."""

    def __init__(self, what: str, url: str, status: int | None, attempts: int, detail: str) -> None:
        super().__init__(VENDOR, url, status, attempts, detail)
        self.what = what
        result = f"HTTP {status}" if status is not None else "no response"
        self.args = (f"{VENDOR}: POST {url} ({what}) failed with {result} after {attempts} attempt(s): {detail}",)


def krx_policy() -> HttpPolicy:
    """KRX's HTTP policy: 2 requests/s, 4 retries with 1, 2, 4, 8 s backoff (jitter 50 %), 30 s
    timeouts (whole-market answers are about 1 MB), a browser-like agent and the portal's
    ``Referer`` (it refuses queries without one); its POSTs are retried too (read-only queries)."""
    # retries, backoff and jitter: HttpPolicy's defaults (4; 1, 2, 4, 8 s; 50 %)
    return HttpPolicy(
        vendor=VENDOR, user_agent=USER_AGENT, timeout_s=30.0, max_backoff_s=60.0,
        rate_per_second=KRX_RATE_PER_SECOND, headers={"Referer": REFERER}, retried_methods=("GET", "HEAD", "POST"),
    )  # fmt: skip


class KrxHttp(VendorClient):
    """:class:`VendorClient` with form POSTs; cookies (the member session) persist per client."""

    def post_form(self, url: str, data: Mapping[str, str], what: str) -> httpx.Response:
        """POST ``data`` form-encoded with the policy; returns a 2xx response.

        Raises:
            KrxHTTPError: 4xx at once, or 429/5xx/connect error/timeout after all retries
                (names ``what``, the URL, status and attempts).
        """
        request = self._client.build_request("POST", url, data=dict(data))
        try:
            response = self._client.send(request)
        except httpx.TransportError as exc:
            raise KrxHTTPError(what, url, None, request.extensions.get(ATTEMPTS, 0), repr(exc)) from exc
        if response.is_success:
            return response
        attempts = response.request.extensions.get(ATTEMPTS, request.extensions.get(ATTEMPTS, 1))
        detail = response.text[:200].strip() or response.reason_phrase
        raise KrxHTTPError(what, url, response.status_code, attempts, detail)


def market_id(market: str) -> str:
    """The portal's ``mktId`` of ``market`` (``ALL``, ``KOSPI``, ``KOSDAQ``, ``KONEX``).

    Raises:
        ValueError: another market (names the field and the choices).
    """
    key = str(market).strip().upper()
    if key not in MARKET_IDS:
        raise ValueError(f"market must be one of {', '.join(MARKET_IDS)}, got {market!r}")
    return MARKET_IDS[key]


def raw_key(screen: str, params: Mapping[str, str]) -> str:
    """Raw-store key of a query: ``<screen>/<name>=<value>_...json`` with parameters sorted."""
    return f"{screen}/" + "_".join(f"{name}={params[name]}" for name in sorted(params)) + ".json"


def parse_number(text: Any, column: str = "value") -> float | None:
    """A KRX number (``"2,976.21"``, ``"-92.84"``) as float; ``"-"``, ``""`` or None -> None.

    Raises:
        ValueError: anything else that is not a number (names ``column`` and the text).
    """
    if text is None:
        return None
    cleaned = str(text).replace(",", "").strip()
    if cleaned in ("", "-"):
        return None
    try:
        return float(cleaned)
    except ValueError:
        raise ValueError(f"{column}: {text!r} is not a number") from None


def parse_integer(text: Any, column: str = "value") -> int | None:
    """A KRX whole number (``"38,655,276"``) as int; ``"-"``/``""`` -> None.

    Raises:
        ValueError: not a whole number (names ``column`` and the text).
    """
    value = parse_number(text, column)
    if value is None:
        return None
    if value != int(value):
        raise ValueError(f"{column}: {text!r} is not a whole number")
    return int(value)


def parse_date(text: str, column: str = "date") -> date:
    """A KRX date ``YYYY/MM/DD`` (or ``YYYYMMDD``).

    Raises:
        ValueError: another format (names ``column``).
    """
    cleaned = str(text).strip().replace("/", "").replace("-", "").replace(".", "")
    try:
        return datetime.strptime(cleaned, "%Y%m%d").date()
    except ValueError:
        raise ValueError(f"{column}: {text!r} is not a date YYYY/MM/DD") from None


def parse_field(text: Any, dtype: pl.DataType, field: str) -> Any:
    """One portal value as the column type ``dtype``: Int64 -> :func:`parse_integer`, Float64 ->
    :func:`parse_number`, Date -> :func:`parse_date`, else the text without surrounding spaces;
    a text of :data:`NO_VALUE_TEXTS` for ``field`` -> None.

    Raises:
        ValueError: not of the column's type (names ``field`` and the text).
    """
    if text is not None and str(text).strip() in NO_VALUE_TEXTS.get(field, ()):
        return None
    if dtype == pl.Int64:
        return parse_integer(text, field)
    if dtype == pl.Float64:
        return parse_number(text, field)
    if dtype == pl.Date:
        return parse_date(text, field)
    return None if text is None else str(text).strip()


def screen_frame(
    rows: list[Mapping[str, Any]], schema: Mapping[str, pl.DataType], fields: Mapping[str, str],
    given: Mapping[str, Any] | None = None,
) -> pl.DataFrame:  # fmt: skip
    """A screen's rows as a frame of ``schema``, in the portal's order: each column parsed from its
    field of ``fields`` (:func:`parse_field`), or the value of ``given`` (the same on every row).

    Raises:
        ValueError: a value not of its column's type (names the field).
    """
    given = given or {}
    return pl.DataFrame(
        [
            tuple(
                given[column] if column in given else parse_field(row[fields[column]], dtype, fields[column])
                for column, dtype in schema.items()
            )
            for row in rows
        ],
        schema=dict(schema),
        orient="row",
    )


def rows_of(body: Any, block: str) -> list[dict[str, str]]:
    """The rows of a checked body (the list under ``block``)."""
    return body[block]


def check_body(body: Any, block: str, columns: tuple[str, ...]) -> str | None:
    """What is wrong with a screen's JSON (``None`` if nothing): not an object, no list under
    ``block``, rows that are not objects or lack one of ``columns`` (all missing ones named)."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    rows = body.get(block)
    if not isinstance(rows, list):
        return f"no {block!r} list in the body (keys: {', '.join(sorted(body)) or 'none'})"
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            return f"{block} row {number} is not an object"
        missing = [name for name in columns if name not in row]
        if missing:
            return f"{block} row {number} lacks {', '.join(missing)}"
    return None


def _login_page(content: bytes) -> str | None:
    """Why ``content`` is the portal's answer to a query without a session, or None."""
    head = content[:2000].strip()
    if head.upper() == b"LOGOUT":
        return "the portal answered 'LOGOUT' (no or expired session)"
    if head[:1] == b"<":
        return f"the portal answered an HTML page instead of JSON (starts with {head[:60]!r})"
    return None


@dataclass(frozen=True)
class Screen:
    """One ``getJsonData.cmd`` screen: its ``bld`` suffix, the list block and the columns used."""

    name: str
    block: str
    columns: tuple[str, ...]

    @property
    def bld(self) -> str:
        """The full ``bld`` parameter (``dbms/MDC/STAT/standard/<name>``)."""
        return BLD_PREFIX + self.name


#: Output column -> the portal's field, per screen (columns of the schema not named here are
#: given by the query: the day asked for, the code inside an ISIN). Each value is parsed by the
#: column's type in the schema (:func:`parse_field`).
DAILY_FIELDS = {"open": "TDD_OPNPRC", "high": "TDD_HGPRC", "low": "TDD_LWPRC", "close": "TDD_CLSPRC",
                "volume": "ACC_TRDVOL", "code": "ISU_SRT_CD", "name": "ISU_ABBRV", "market": "MKT_NM"}  # fmt: skip
LISTING_FIELDS = {"code": "ISU_SRT_CD", "isin": "ISU_CD", "name": "ISU_ABBRV", "full_name": "ISU_NM",
                  "name_en": "ISU_ENG_NM", "listed_on": "LIST_DD", "market": "MKT_TP_NM",
                  "security_group": "SECUGRP_NM", "section": "SECT_TP_NM", "share_kind": "KIND_STKCERT_TP_NM",
                  "par_value": "PARVAL", "listed_shares": "LIST_SHRS"}  # fmt: skip
INDEX_FIELDS = {"date": "TRD_DD", "open": "OPNPRC_IDX", "high": "HGPRC_IDX", "low": "LWPRC_IDX",
                "close": "CLSPRC_IDX", "volume": "ACC_TRDVOL", "amount": "ACC_TRDVAL",
                "market_cap": "MKTCAP"}  # fmt: skip
RATIO_FIELDS = {"close": "TDD_CLSPRC", "eps": "EPS", "per": "PER", "bps": "BPS", "pbr": "PBR", "dps": "DPS",
                "dividend_yield_pct": "DVD_YLD"}  # fmt: skip
VALUATION_FIELDS = {"code": "ISU_SRT_CD", "name": "ISU_ABBRV", **RATIO_FIELDS}
VALUATION_HISTORY_FIELDS = {"date": "TRD_DD", **RATIO_FIELDS}

#: Texts of a field that mean "no value" beyond ``-`` and empty (a no-par share's ``PARVAL``).
NO_VALUE_TEXTS = {"PARVAL": frozenset({NO_PAR})}

DAILY = Screen("MDCSTAT01501", "OutBlock_1", tuple(DAILY_FIELDS.values()))
LISTING = Screen("MDCSTAT01901", "OutBlock_1", tuple(LISTING_FIELDS.values()))
INDEX = Screen("MDCSTAT00301", "output", tuple(INDEX_FIELDS.values()))
VALUATION = Screen("MDCSTAT03501", "output", tuple(VALUATION_FIELDS.values()))
VALUATION_HISTORY = Screen("MDCSTAT03502", "output", tuple(VALUATION_HISTORY_FIELDS.values()))


@dataclass
class FetchLog:
    """What a :class:`KrxSource` did (for run metadata): raw-store keys fetched, reused, not stored."""

    fetched: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    not_stored: list[str] = field(default_factory=list)
    logins: int = 0


class KrxSource(LazyVendorClient):
    """Queries of the KRX portal, from the raw store or over HTTP (then stored).

    Use as a context manager (closes the HTTP client and so ends the session). ``krx_id`` /
    ``krx_pw`` are the member login (settings ``krx_id`` and ``krx_pw``: environment ``KRX_ID``,
    ``KRX_PW``); ``transport`` replaces the network (tests); ``now`` gives the current time.
    """

    def __init__(
        self,
        store: RawResponseStore,
        *,
        krx_id: str = "",
        krx_pw: str = "",
        policy: HttpPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(policy or krx_policy(), transport)
        self.store = store
        self._id = (krx_id or "").strip()
        self._pw = krx_pw or ""
        self._now = now
        self._logged_in = False
        self.log = FetchLog()

    def http(self) -> KrxHttp:
        """The policy's client (with form POSTs and a cookie jar), opened on first use."""
        if self._client is None:
            self._client = KrxHttp(self.policy, transport=self._transport)
        return self._client  # type: ignore[return-value]

    def close(self) -> None:
        """Close the HTTP client (the session is lost; the next query logs in again)."""
        super().close()
        self._logged_in = False

    # ------------------------------------------------------------------------- login

    def login(self) -> None:
        """Open a member session (see the module docstring; untested against the real portal).

        Raises:
            KrxCredentialsError: ``KRX_ID`` or ``KRX_PW`` is empty.
            KrxHTTPError: the login page or the login POST failed over HTTP.
            KrxLoginError: the portal refused the login (its code and message; never the password).
        """
        missing = [name for name, value in (("KRX_ID", self._id), ("KRX_PW", self._pw)) if not value]
        if missing:
            raise KrxCredentialsError(
                f"{' and '.join(missing)} not set: the KRX data portal requires a member login since early "
                "2026; set KRX_ID and KRX_PW to your data.krx.co.kr member id and password"
            )
        http = self.http()
        try:
            http.get(LOGIN_PAGE_URL)  # the session cookie the login is bound to
        except VendorHTTPError as error:
            raise KrxHTTPError("login page", LOGIN_PAGE_URL, error.status, error.attempts, str(error)) from error
        form = {"mbrNm": "", "telNo": "", "di": "", "certType": "", "mbrId": self._id, "pw": self._pw, "skipDup": "Y"}
        response = http.post_form(LOGIN_URL, form, "login")
        try:
            answer = parse_json_body(VENDOR, LOGIN_URL, response.content)
        except VendorResponseError as error:
            raise KrxLoginError(f"krx: login as {self._id!r} got no JSON answer: {error.reason}") from error
        code = answer.get("_error_code") if isinstance(answer, dict) else None
        if code != LOGIN_OK:
            message = answer.get("_error_message") if isinstance(answer, dict) else None
            raise KrxLoginError(f"krx: login as {self._id!r} refused: _error_code {code!r}, _error_message {message!r}")
        self._logged_in = True
        self.log.logins += 1

    # ------------------------------------------------------------------------- queries

    def query(self, screen: Screen, params: Mapping[str, str], *, store_key_params: Mapping[str, str] | None = None,
              storable: bool = True) -> list[dict[str, str]]:  # fmt: skip
        """The rows of ``screen`` for ``params``: from the raw store when there, else over HTTP
        (logging in first), stored when ``storable``. ``store_key_params`` extends the key.

        Raises:
            KrxCredentialsError: HTTP needed and no credentials.
            KrxLoginRequiredError: the portal answered a login page even after logging in.
            KrxHTTPError: the POST failed (see :class:`KrxHTTPError`).
            VendorResponseError: the body (fresh or stored) is not the screen's JSON (names the bld).
        """
        key = raw_key(screen.name, {**params, **(store_key_params or {})})
        form = {**params, "bld": screen.bld}
        url = f"{JSON_URL}?{urlencode(form)}"  # for messages: the form the POST sends
        content = self.store.get(key)
        if content is not None:
            body = self._parse(screen, f"{url} (stored {key})", content)
            self.log.reused.append(key)
            return rows_of(body, screen.block)
        content = self._post_logged_in(screen, form, url)
        body = self._parse(screen, url, content)
        if storable:
            self.store.put(key, content)
            self.log.fetched.append(key)
        else:
            self.log.not_stored.append(key)
        return rows_of(body, screen.block)

    def _post_logged_in(self, screen: Screen, form: Mapping[str, str], url: str) -> bytes:
        fresh_login = False
        if not self._logged_in:
            self.login()
            fresh_login = True
        for attempt in (1, 2):
            try:
                content = self.http().post_form(JSON_URL, form, screen.bld).content
            except KrxHTTPError as error:
                if error.status not in (401, 403):
                    raise
                reason: str | None = f"HTTP {error.status}"
            else:
                reason = _login_page(content)
                if reason is None:
                    return content
            if attempt == 2 or fresh_login:
                raise KrxLoginRequiredError(screen.bld, url, reason)
            self._logged_in = False  # the session expired: log in once more and repeat
            self.login()
        raise AssertionError("unreachable")  # pragma: no cover

    def _parse(self, screen: Screen, url: str, content: bytes) -> Any:
        reason = _login_page(content)
        if reason is not None:
            raise KrxLoginRequiredError(screen.bld, url, reason)
        return parse_json_body(VENDOR, f"{url} [{screen.bld}]", content,
                               lambda body: check_body(body, screen.block, screen.columns))  # fmt: skip

    def _day_over(self, day: date) -> bool:
        """True once ``day`` has ended in Seoul (its data no longer changes)."""
        return self._now().astimezone(SEOUL).date() > day

    def daily_ohlcv(self, day: date, market: str = "ALL") -> pl.DataFrame:
        """Every ticker's OHLCV on ``day`` (``MDCSTAT01501``), as :data:`OHLCV_SCHEMA`, in the
        portal's order. A day without a session gives rows with empty prices from KRX: those
        rows are NULL, not zero.

        Raises:
            ValueError: ``market`` is not ``ALL``/``KOSPI``/``KOSDAQ``/``KONEX``, or a value is not
                a number (names the column).
            KrxCredentialsError, KrxLoginRequiredError, KrxHTTPError, VendorResponseError: as
                :meth:`query`.
        """
        params = {"mktId": market_id(market), "trdDd": day.strftime("%Y%m%d")}
        rows = self.query(DAILY, params, storable=self._day_over(day))
        return screen_frame(rows, OHLCV_SCHEMA, DAILY_FIELDS, {"date": day})

    def listing(self, market: str = "ALL") -> pl.DataFrame:
        """The listing master now (``MDCSTAT01901``), as :data:`LISTING_SCHEMA`; stored per Seoul
        date of the fetch (a rerun the same day reads it back).

        Raises:
            ValueError, KrxCredentialsError, KrxLoginRequiredError, KrxHTTPError,
            VendorResponseError: as :meth:`daily_ohlcv`.
        """
        as_of = self._now().astimezone(SEOUL).date().isoformat()
        rows = self.query(LISTING, {"mktId": market_id(market)}, store_key_params={"asOf": as_of})
        return screen_frame(rows, LISTING_SCHEMA, LISTING_FIELDS)

    def index_ohlcv(self, index_group: str, index_code: str, first: date, last: date) -> pl.DataFrame:
        """Daily series of one index for sessions ``first <= d <= last`` (``MDCSTAT00301``), as
        :data:`INDEX_SCHEMA`, ascending. ``index_group`` is KRX's ``indIdx`` (``1`` KOSPI
        family, ``2`` KOSDAQ family), ``index_code`` its ``indIdx2`` (``001`` the main index):
        KOSPI is (``1``, ``001``), KOSPI 200 (``1``, ``028``), KOSDAQ (``2``, ``001``).

        Raises:
            ValueError: ``first`` after ``last``, or a value not a number (names the column).
            KrxCredentialsError, KrxLoginRequiredError, KrxHTTPError, VendorResponseError: as
                :meth:`query`.
        """
        if first > last:
            raise ValueError(f"first ({first}) is after last ({last})")
        params = {"indIdx": str(index_group), "indIdx2": str(index_code),
                  "strtDd": first.strftime("%Y%m%d"), "endDd": last.strftime("%Y%m%d")}  # fmt: skip
        rows = self.query(INDEX, params, storable=self._day_over(last))
        return screen_frame(rows, INDEX_SCHEMA, INDEX_FIELDS).sort("date")

    def valuation(self, day: date, market: str = "ALL") -> pl.DataFrame:
        """Every ticker's EPS, PER, BPS, PBR, DPS and dividend yield on ``day``
        (``MDCSTAT03501``), as :data:`VALUATION_SCHEMA`, in the portal's order.

        Raises:
            ValueError, KrxCredentialsError, KrxLoginRequiredError, KrxHTTPError,
            VendorResponseError: as :meth:`daily_ohlcv`.
        """
        params = {"mktId": market_id(market), "trdDd": day.strftime("%Y%m%d")}
        rows = self.query(VALUATION, params, storable=self._day_over(day))
        return screen_frame(rows, VALUATION_SCHEMA, VALUATION_FIELDS, {"date": day})

    def valuation_history(self, isin: str, first: date, last: date, market: str = "ALL") -> pl.DataFrame:
        """One ticker's ratios by day ``first <= d <= last`` (``MDCSTAT03502``), as
        :data:`VALUATION_SCHEMA` with ``code`` the 6-character code inside ``isin``
        (``KR7005930003`` -> ``005930``) and ``name`` NULL (the screen does not send it), ascending.

        Raises:
            ValueError: ``isin`` is not a 12-character KRX ISIN, ``first`` after ``last``, or as
                :meth:`daily_ohlcv`.
            KrxCredentialsError, KrxLoginRequiredError, KrxHTTPError, VendorResponseError: as
                :meth:`query`.
        """
        isin = str(isin).strip().upper()
        if len(isin) != 12 or not isin.startswith("KR"):
            raise ValueError(f"isin must be a 12-character KRX ISIN such as KR7005930003, got {isin!r}")
        if first > last:
            raise ValueError(f"first ({first}) is after last ({last})")
        params = {"mktId": market_id(market), "strtDd": first.strftime("%Y%m%d"),
                  "endDd": last.strftime("%Y%m%d"), "isuCd": isin}  # fmt: skip
        rows = self.query(VALUATION_HISTORY, params, storable=self._day_over(last))
        given = {"code": isin[3:9], "name": None}
        return screen_frame(rows, VALUATION_SCHEMA, VALUATION_HISTORY_FIELDS, given).sort("date")

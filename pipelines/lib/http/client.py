"""One HTTP policy shared by every vendor client (httpx + httpx-retries + pyrate-limiter).

Policy, per attempt: a client-side rate limit (``rate_per_second``, e.g. SEC asks <= 10/s), then
the request with a timeout; on connect errors, timeouts, 429 and 5xx (500, 502, 503, 504) the
request is retried up to ``max_retries`` times. The wait before retry ``n`` (1, 2, ...) is the
``Retry-After`` header when the response has one (seconds or an HTTP date), else the exponential
backoff ``backoff_factor * 2**n`` seconds times a random factor in ``[1 - backoff_jitter, 1]``
(httpx-retries' ``Retry.backoff_strategy``, called after its attempt counter is incremented);
either wait is capped at ``max_backoff_s``. Other 4xx fail at once, after one attempt.

Every failure raises :class:`~pipelines.lib.http.errors.VendorHTTPError` naming the URL, the
status (or ``None`` when no response came) and the number of attempts actually made (counted on
the wire, below the retry layer); a 200 whose body is not what the vendor documents raises
:class:`~pipelines.lib.http.errors.VendorResponseError` (:func:`parse_json_body`).

Limits: ``timeout_s`` bounds each connect, read, write and pool wait, not a whole request (a
server trickling bytes keeps a read alive); a ``Retry-After`` longer than ``max_backoff_s`` is
cut to it (a retry may then come early and be refused again).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_retries import Retry, RetryTransport
from pyrate_limiter import Duration, Limiter, Rate

from pipelines.lib.http.errors import VendorHTTPError, VendorResponseError

RETRY_STATUSES = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class HttpPolicy:
    """How one vendor is called.

    Attributes:
        vendor: short name used in errors and raw-store folders (``yahoo``, ``sec``, ``rss``).
        user_agent: ``User-Agent`` header (SEC requires a name and contact e-mail).
        timeout_s: connect/read/write/pool timeout in seconds.
        max_retries: retries after the first attempt (attempts = max_retries + 1).
        backoff_factor: seconds; the wait before retry ``n`` is ``backoff_factor * 2**n`` (so
            1, 2, 4, 8 s for 0.5) before jitter, when the response has no ``Retry-After``.
        backoff_jitter: fraction in ``[0, 1]``: each backoff is multiplied by a random factor in
            ``[1 - backoff_jitter, 1]`` (0 = no jitter).
        max_backoff_s: cap of one wait, including a ``Retry-After`` wait.
        rate_per_second: client-side limit of requests (every attempt, retries included) per
            second, as a sliding one-second window; ``None`` = none.
        headers: extra headers sent with every request.
        retried_methods: HTTP methods whose failures are retried (default GET and HEAD; a vendor
            whose read-only queries are POSTs, such as KRX's portal, adds POST).

    Raises:
        ValueError: a value out of range (names the field).
    """

    vendor: str
    user_agent: str = "stock-screener-warehouse/0.1"
    timeout_s: float = 20.0
    max_retries: int = 4
    backoff_factor: float = 0.5
    backoff_jitter: float = 0.5
    max_backoff_s: float = 30.0
    rate_per_second: int | None = None
    headers: Mapping[str, str] | None = None
    retried_methods: tuple[str, ...] = ("GET", "HEAD")

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be {rule}, got {value!r}"
            for name, value, ok, rule in (
                ("timeout_s", self.timeout_s, self.timeout_s > 0, "> 0"),
                ("max_retries", self.max_retries, self.max_retries >= 0, ">= 0"),
                ("backoff_factor", self.backoff_factor, self.backoff_factor >= 0, ">= 0"),
                ("backoff_jitter", self.backoff_jitter, 0 <= self.backoff_jitter <= 1, "in [0, 1]"),
                ("max_backoff_s", self.max_backoff_s, self.max_backoff_s > 0, "> 0"),
                (
                    "rate_per_second",
                    self.rate_per_second,
                    self.rate_per_second is None or (isinstance(self.rate_per_second, int) and self.rate_per_second >= 1),
                    "None or an integer >= 1",
                ),
            )
            if not ok
        ]
        if problems:
            raise ValueError(f"HttpPolicy({self.vendor!r}): " + "; ".join(problems))

    def retry(self) -> Retry:
        """The httpx-retries configuration of this policy."""
        return Retry(
            total=self.max_retries,
            allowed_methods=list(self.retried_methods),
            status_forcelist=RETRY_STATUSES,
            retry_on_exceptions=(httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError),
            backoff_factor=self.backoff_factor,
            backoff_jitter=self.backoff_jitter,
            max_backoff_wait=self.max_backoff_s,
            respect_retry_after_header=True,
        )


ATTEMPTS = "vendor_attempts"  # request extension: attempts sent so far (set by AttemptCounter)


class RateLimitedTransport(httpx.BaseTransport):
    """Waits for a pyrate-limiter slot before each attempt, then delegates to ``inner``."""

    def __init__(self, inner: httpx.BaseTransport, rate_per_second: int) -> None:
        self._inner = inner
        self._limiter = Limiter(Rate(rate_per_second, Duration.SECOND))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self._limiter.try_acquire("http", blocking=True):
            raise RuntimeError(f"rate limiter refused a request to {request.url}")  # cannot happen for weight 1
        return self._inner.handle_request(request)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._limiter.close()  # stops the limiter's leaker thread


class AttemptCounter(httpx.BaseTransport):
    """Counts the attempts of each request in ``request.extensions[ATTEMPTS]`` (the retry layer
    re-sends the same request object), then delegates to ``inner``."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.extensions[ATTEMPTS] = request.extensions.get(ATTEMPTS, 0) + 1
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class VendorClient:
    """A synchronous httpx client that applies an :class:`HttpPolicy`.

    Use as a context manager. ``transport`` replaces the network (tests pass respx or
    ``httpx.MockTransport``); retries and the rate limit still apply on top of it.
    """

    def __init__(self, policy: HttpPolicy, *, transport: httpx.BaseTransport | None = None) -> None:
        self.policy = policy
        inner: httpx.BaseTransport = transport or httpx.HTTPTransport()
        if policy.rate_per_second:
            inner = RateLimitedTransport(inner, policy.rate_per_second)
        inner = AttemptCounter(inner)
        self._client = httpx.Client(
            transport=RetryTransport(transport=inner, retry=policy.retry()),
            timeout=httpx.Timeout(policy.timeout_s),
            headers={"User-Agent": policy.user_agent, **dict(policy.headers or {})},
            follow_redirects=True,
        )

    def __enter__(self) -> VendorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, params: Mapping[str, Any] | None = None) -> httpx.Response:
        """GET with the policy; returns a 2xx response.

        Raises:
            VendorHTTPError: a 4xx, or 429/5xx/connect error/timeout still failing after all
                retries (names URL, status and the number of attempts).
        """
        request = self._client.build_request("GET", url, params=params)
        try:
            response = self._client.send(request)
        except httpx.TransportError as exc:
            attempts = request.extensions.get(ATTEMPTS, 0)
            raise VendorHTTPError(self.policy.vendor, str(request.url), None, attempts, repr(exc)) from exc
        if response.is_success:
            return response
        attempts = response.request.extensions.get(ATTEMPTS, request.extensions.get(ATTEMPTS, 1))
        detail = response.text[:200].strip() or response.reason_phrase
        raise VendorHTTPError(self.policy.vendor, str(response.request.url), response.status_code, attempts, detail)

    def get_json(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        check: Callable[[Any], str | None] | None = None,
    ) -> tuple[Any, httpx.Response]:
        """GET and parse a JSON body; ``check(body)`` returns ``None`` or what is wrong with it.

        Returns ``(parsed body, response)``; ``response.content`` holds the raw bytes to keep.

        Raises:
            VendorHTTPError: as :meth:`get`.
            VendorResponseError: the body is not JSON, or ``check`` reported a problem.
        """
        response = self.get(url, params)
        return parse_json_body(self.policy.vendor, str(response.request.url), response.content, check), response


def parse_json_body(vendor: str, url: str, content: bytes, check: Callable[[Any], str | None] | None = None) -> Any:
    """Parse ``content`` as JSON and run ``check``; used for fresh and for stored raw responses.

    ``check(body)`` returns ``None`` when the body has the documented shape, else a sentence
    saying what is wrong; if it raises ``KeyError``, ``IndexError``, ``TypeError`` or
    ``ValueError`` on an unexpected shape, that is reported the same way.

    Raises:
        VendorResponseError: not JSON (with the position and the first bytes), or ``check`` failed.
    """
    try:
        body = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise VendorResponseError(vendor, url, f"body is not JSON ({exc}); starts with {content[:80]!r}") from exc
    if check is not None:
        try:
            problem = check(body)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            problem = f"unexpected shape ({type(exc).__name__}: {exc})"
        if problem:
            raise VendorResponseError(vendor, url, problem)
    return body


class LazyVendorClient:
    """Base of the vendor sources: holds an :class:`HttpPolicy` and opens the
    :class:`VendorClient` only on the first request, so a rerun served entirely from the raw
    store opens no connection. Use as a context manager (closes the client)."""

    def __init__(self, policy: HttpPolicy, transport: httpx.BaseTransport | None = None) -> None:
        self.policy = policy
        self._transport = transport
        self._client: VendorClient | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client if one was opened (it is reopened on the next request)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def http(self) -> VendorClient:
        """The policy's client, opened on first use."""
        if self._client is None:
            self._client = VendorClient(self.policy, transport=self._transport)
        return self._client

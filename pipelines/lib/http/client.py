"""One HTTP policy shared by every vendor client (httpx + httpx-retries + pyrate-limiter).

Policy, per attempt: a client-side rate limit (``rate_per_second``, e.g. SEC asks <= 10/s), then
the request with a timeout; on connect errors, timeouts, 429 and 5xx the request is retried with
exponential backoff and jitter (``backoff_factor * 2**(attempt-1)`` seconds plus up to
``backoff_jitter`` seconds, capped at ``max_backoff_s``), honouring a ``Retry-After`` header
(seconds or HTTP date, also capped). Other 4xx fail at once. Every failure raises
:class:`~pipelines.lib.http.errors.VendorHTTPError` naming the URL, status and attempts.
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
        backoff_factor: first backoff in seconds; doubles per retry.
        backoff_jitter: up to this many random seconds added to each backoff.
        max_backoff_s: cap of one wait, including a ``Retry-After`` wait.
        rate_per_second: client-side limit of requests (attempts) per second; ``None`` = none.
        headers: extra headers sent with every request.
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

    def retry(self) -> Retry:
        """The httpx-retries configuration of this policy."""
        return Retry(
            total=self.max_retries,
            allowed_methods=["GET", "HEAD"],
            status_forcelist=RETRY_STATUSES,
            retry_on_exceptions=(httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError),
            backoff_factor=self.backoff_factor,
            backoff_jitter=self.backoff_jitter,
            max_backoff_wait=self.max_backoff_s,
            respect_retry_after_header=True,
        )


class RateLimitedTransport(httpx.BaseTransport):
    """Waits for a pyrate-limiter slot before each attempt, then delegates to ``inner``."""

    def __init__(self, inner: httpx.BaseTransport, rate_per_second: int) -> None:
        self._inner = inner
        self._limiter = Limiter(Rate(rate_per_second, Duration.SECOND))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._limiter.try_acquire("http", blocking=True)
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
        attempts = self.policy.max_retries + 1
        try:
            response = self._client.get(url, params=params)
        except httpx.TransportError as exc:
            raise VendorHTTPError(self.policy.vendor, _full_url(url, params), None, attempts, repr(exc)) from exc
        if response.is_success:
            return response
        retry = response.extensions.get("retry")
        made = (retry.attempts_made + 1) if retry is not None else 1
        detail = response.text[:200].strip() or response.reason_phrase
        raise VendorHTTPError(self.policy.vendor, str(response.request.url), response.status_code, made, detail)

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

    Raises:
        VendorResponseError: not JSON (with the position and the first bytes), or ``check`` failed.
    """
    try:
        body = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise VendorResponseError(vendor, url, f"body is not JSON ({exc}); starts with {content[:80]!r}") from exc
    if check is not None and (problem := check(body)):
        raise VendorResponseError(vendor, url, problem)
    return body


def _full_url(url: str, params: Mapping[str, Any] | None) -> str:
    return str(httpx.URL(url, params=params)) if params else url

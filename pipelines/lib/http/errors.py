"""Errors raised by vendor clients; each names the URL and what was wrong."""

from __future__ import annotations


class VendorHTTPError(RuntimeError):
    """The vendor answered with an error status (4xx at once, 429/5xx after all retries) or could
    not be reached (connect error, timeout) after all retries.

    Attributes: ``vendor``, ``url``, ``status`` (``None`` when no response came), ``attempts``.
    """

    def __init__(self, vendor: str, url: str, status: int | None, attempts: int, detail: str) -> None:
        self.vendor, self.url, self.status, self.attempts = vendor, url, status, attempts
        what = f"HTTP {status}" if status is not None else "no response"
        super().__init__(f"{vendor}: GET {url} failed with {what} after {attempts} attempt(s): {detail}")


class VendorResponseError(ValueError):
    """The vendor answered 200 but the body is not what its documentation says (not JSON, missing
    keys, wrong types). Attributes: ``vendor``, ``url``, ``reason``."""

    def __init__(self, vendor: str, url: str, reason: str) -> None:
        self.vendor, self.url, self.reason = vendor, url, reason
        super().__init__(f"{vendor}: unexpected body from {url}: {reason}")

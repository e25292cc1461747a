"""Shared HTTP policy for every vendor client: timeouts, retries, rate limit, clear errors, raw store.

A vendor module (``pipelines/sources/<vendor>.py``) builds one :class:`VendorClient` from an
:class:`HttpPolicy` and keeps what the vendor sent in a :class:`RawResponseStore`.
"""

from pipelines.lib.http.client import HttpPolicy, LazyVendorClient, VendorClient
from pipelines.lib.http.errors import VendorHTTPError, VendorResponseError
from pipelines.lib.http.raw_store import RawResponseStore

__all__ = ["HttpPolicy", "LazyVendorClient", "RawResponseStore", "VendorClient", "VendorHTTPError", "VendorResponseError"]

"""Canonical article links and article ids: the deduplication keys of ``raw.news_articles``.

:func:`canonical_link` normalises a URL so that the same article reached through different
feeds, schemes or tracking links gets one key:

* scheme ``http`` becomes ``https``; scheme and host are lower-cased; a leading ``www.`` and
  the default port are dropped;
* the fragment (``#...``) is dropped; a trailing ``/`` is dropped from a non-root path
  (path case is kept: paths are case-sensitive);
* **known tracking parameters** are dropped (:data:`TRACKING_PARAMS`, every ``utm_*``);
  all other query parameters are kept, sorted by name. Parameters are not dropped on
  suspicion: the bundled Benzinga partner file has two *different* Zacks articles whose
  links differ only in ``cid`` (a promotional landing page), so ``cid`` stays.

:func:`article_id` is a short stable hash of the deduplication key: ``link:<canonical link>``
when the item has a link, else ``<source>:id:<vendor id>``, else
``<source>:title:<title>|<published_at ISO>`` (the Benzinga ratings file has no links; the
same headline at the same minute for several tickers is one article).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: Query parameters that only identify the campaign, referrer or click, never the article:
#: Google Analytics (``utm_*`` by prefix), ad-click ids (Google, Microsoft, Facebook,
#: DoubleClick), Mailchimp, Yahoo's feed and consent parameters.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid", "gclid", "dclid", "msclkid", "gbraid", "wbraid", "yclid",
        "mc_cid", "mc_eid",
        ".tsrc", "tsrc", "ncid", "guccounter", "guce_referrer", "guce_referrer_sig", "soc_src", "soc_trk", "yptr",
    }
)  # fmt: skip
TRACKING_PREFIXES: tuple[str, ...] = ("utm_",)

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonical_link(url: str | None) -> str | None:
    """The canonical form of ``url`` (see module doc), or ``None`` for an empty or non-HTTP(S) URL.

    >>> canonical_link("http://www.Zacks.com/stock/news/1/a-b/?utm_source=x&cid=CS-1#top")
    'https://zacks.com/stock/news/1/a-b?cid=CS-1'
    """
    if url is None:
        return None
    url = url.strip()
    if not url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if host.startswith("www."):
        host = host[4:]
    if port is not None and port not in _DEFAULT_PORTS.values():
        host = f"{host}:{port}"
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    query = sorted(
        (name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(name)
    )
    return urlunsplit(("https", host, path, urlencode(query, safe="|:/,"), ""))


def dedupe_key(
    source: str, canonical: str | None, vendor_id: str | None, title: str, published_at: datetime | None
) -> str:
    """The deduplication key of an item (see module doc); ``published_at`` is naive UTC."""
    if canonical:
        return f"link:{canonical}"
    if vendor_id:
        return f"{source}:id:{vendor_id}"
    stamp = published_at.isoformat() if published_at is not None else ""
    return f"{source}:title:{title}|{stamp}"


def article_id(key: str) -> str:
    """First 20 hex digits of the SHA-256 of ``key`` (80 bits: no collision at any realistic scale)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]

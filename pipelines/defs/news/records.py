"""What every news source yields before validation: candidate items and unreadable records.

A reader (bundled CSV files in :mod:`pipelines.defs.news.bundled`, RSS/Atom feeds in
:mod:`pipelines.sources.rss`) returns one :class:`SourceBatch`: every input record is either a
:class:`NewsItem` (fields extracted, not yet validated) or a :class:`BrokenRecord` (could not be
split into fields; quarantined with its text). ``input_records = len(items) + len(broken)``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")


@dataclass(frozen=True)
class NewsItem:
    """One input record with its fields extracted (unvalidated).

    Attributes:
        source: logical source (``benzinga_analyst_ratings``, ``benzinga_partner_headlines``,
            ``yahoo_search``, ``rss``).
        source_uri: the file (``data/sample/news/<name>``) or feed URL it came from.
        source_line: 1-based line where the record starts in the file, or 1-based position of
            the entry in the feed.
        title: headline with runs of whitespace (line breaks, tabs) collapsed to one space;
            ``None`` when empty.
        published_at: publication time as naive **UTC**; ``None`` when missing or unparseable.
        publisher: who published it (``None`` when unknown).
        link: the article URL as given (``None`` when absent).
        vendor_id: the vendor's id of the article (Yahoo ``uuid``, RSS ``guid``), else ``None``.
        vendor_tickers: symbols the vendor attached, as given (may be empty).
        raw_payload: the record's fields as JSON text (what the vendor sent, unmodified).
    """

    source: str
    source_uri: str
    source_line: int
    title: str | None
    published_at: datetime | None
    publisher: str | None
    link: str | None
    vendor_id: str | None
    vendor_tickers: tuple[str, ...]
    raw_payload: str


@dataclass(frozen=True)
class BrokenRecord:
    """An input record that could not be read into fields (e.g. a CSV row split by a bare line
    break): quarantined with ``reason`` and its raw text."""

    source: str
    source_uri: str
    source_line: int
    reason: str
    raw_record: str


@dataclass
class SourceBatch:
    """Everything read from one file or feed."""

    source: str
    source_uri: str
    items: list[NewsItem] = field(default_factory=list)
    broken: list[BrokenRecord] = field(default_factory=list)

    @property
    def input_records(self) -> int:
        return len(self.items) + len(self.broken)


def clean_title(value: str | None) -> str | None:
    """Collapse whitespace runs (incl. line breaks and tabs) to one space; ``None`` if empty."""
    text = " ".join((value or "").split())
    return text or None


def to_utc_naive(moment: datetime, assume: ZoneInfo = NEW_YORK) -> datetime:
    """``moment`` in UTC without tzinfo; a naive ``moment`` is read in ``assume`` first."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=assume)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def payload_json(fields: dict[str, Any]) -> str:
    """The record's fields as JSON text (keys in input order, non-ASCII kept)."""
    return json.dumps(fields, ensure_ascii=False, default=str)

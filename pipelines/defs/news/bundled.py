"""Readers of the bundled real headline files in ``data/sample/news/`` (provenance:
``data/README.md``; ``make data`` materialises them from ``data/manifest.toml``). Each returns a
:class:`~pipelines.defs.news.records.SourceBatch`.

Timezones (``published_at`` is stored as UTC):

* ``benzinga_analyst_ratings_processed_sample.csv``: ``2020-06-05 10:30:00-04:00`` carries its
  UTC offset (New York time, -04:00 in summer, -05:00 in winter): converted with that offset.
* ``benzinga_raw_partner_headlines_sample.csv``: ``6/1/2020 0:00``, no zone, always ``0:00``:
  read as midnight **New York** time (Benzinga is a US vendor and its other file is in New York
  time), i.e. 04:00 or 05:00 UTC of the same calendar date, so the UTC date is the file's date.
* ``yahoo_search_news_2025.csv``: ISO 8601 with ``+00:00`` (UTC).

Records whose field count differs from the header's (the 4 pieces of the 2 Benzinga rows split
by a bare line break) are :class:`~pipelines.defs.news.records.BrokenRecord`\\ s. Quoted line
breaks inside a title are legal CSV; the title's whitespace is collapsed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from domain.datasets import require_file
from domain.settings import REPO_ROOT, SAMPLE_DIR
from pipelines.defs.news.records import (
    BrokenRecord,
    NewsItem,
    SourceBatch,
    clean_title,
    payload_json,
    to_utc_naive,
)

BUNDLED_NEWS_DIR = SAMPLE_DIR / "news"
BENZINGA_RATINGS_CSV = BUNDLED_NEWS_DIR / "benzinga_analyst_ratings_processed_sample.csv"
BENZINGA_PARTNER_CSV = BUNDLED_NEWS_DIR / "benzinga_raw_partner_headlines_sample.csv"
YAHOO_SEARCH_CSV = BUNDLED_NEWS_DIR / "yahoo_search_news_2025.csv"


@dataclass(frozen=True)
class CsvRecord:
    """One CSV record: its fields, first line (1-based) and raw text."""

    fields: list[str]
    line: int
    text: str


def csv_records(path: Path) -> tuple[list[str], Iterator[CsvRecord]]:
    """The header and the records of a UTF-8 CSV file, with the line each record starts on.

    Raises:
        ValueError: the file is empty (no header).
    """
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError(f"{path}: empty file, expected a header row") from None

    def records() -> Iterator[CsvRecord]:
        previous_end = reader.line_num
        for fields in reader:
            start, end = previous_end + 1, reader.line_num
            previous_end = end
            if not fields:
                continue  # blank line
            yield CsvRecord(fields, start, "".join(lines[start - 1 : end]).rstrip("\r\n"))

    return header, records()


def _uri(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _read(
    path: Path, source: str, to_item: Callable[[dict[str, str], CsvRecord, str], NewsItem]
) -> SourceBatch:
    header, records = csv_records(path)
    batch = SourceBatch(source, _uri(path))
    for record in records:
        if len(record.fields) != len(header):
            batch.broken.append(
                BrokenRecord(
                    source,
                    batch.source_uri,
                    record.line,
                    f"field_count: {len(record.fields)} fields, the header has {len(header)} "
                    "(a row broken across lines?)",
                    record.text,
                )
            )
            continue
        batch.items.append(to_item(dict(zip(header, record.fields, strict=True)), record, batch.source_uri))
    return batch


def _parse(value: str, parse: Callable[[str], datetime]) -> datetime | None:
    try:
        return to_utc_naive(parse(value.strip()))
    except (ValueError, TypeError):
        return None


def read_benzinga_ratings(path: Path = BENZINGA_RATINGS_CSV) -> SourceBatch:
    """``,title,date,stock``: Benzinga headlines, one row per (headline, ticker); publisher
    ``Benzinga``, no link; ``stock`` is the vendor ticker; the first column is the source
    dataset's row index (kept in the payload only)."""

    def item(row: dict[str, str], record: CsvRecord, uri: str) -> NewsItem:
        return NewsItem(
            source="benzinga_analyst_ratings",
            source_uri=uri,
            source_line=record.line,
            title=clean_title(row["title"]),
            published_at=_parse(row["date"], datetime.fromisoformat),
            publisher="Benzinga",
            link=None,
            vendor_id=None,
            vendor_tickers=tuple(s for s in [row["stock"].strip()] if s),
            raw_payload=payload_json(row),
        )

    return _read(path, "benzinga_analyst_ratings", item)


def read_benzinga_partner(path: Path = BENZINGA_PARTNER_CSV) -> SourceBatch:
    """``,headline,url,publisher,date,stock``: partner headlines syndicated by Benzinga (Zacks,
    Seeking Alpha, GuruFocus…); ``date`` ``M/D/YYYY H:MM`` in New York time; ``stock`` is the
    vendor ticker."""

    def item(row: dict[str, str], record: CsvRecord, uri: str) -> NewsItem:
        return NewsItem(
            source="benzinga_partner_headlines",
            source_uri=uri,
            source_line=record.line,
            title=clean_title(row["headline"]),
            published_at=_parse(row["date"], lambda s: datetime.strptime(s, "%m/%d/%Y %H:%M")),
            publisher=clean_title(row["publisher"]),
            link=row["url"].strip() or None,
            vendor_id=None,
            vendor_tickers=tuple(s for s in [row["stock"].strip()] if s),
            raw_payload=payload_json(row),
        )

    return _read(path, "benzinga_partner_headlines", item)


def read_yahoo_search(path: Path = YAHOO_SEARCH_CSV) -> SourceBatch:
    """``uuid,title,publisher,link,published_at,type,related_tickers,query,fixture``: news items
    of Yahoo Finance search responses (the same story appears once per search that returned
    it); ``uuid`` is the vendor id, ``related_tickers`` ``|``-separated vendor tickers."""

    def item(row: dict[str, str], record: CsvRecord, uri: str) -> NewsItem:
        return NewsItem(
            source="yahoo_search",
            source_uri=uri,
            source_line=record.line,
            title=clean_title(row["title"]),
            published_at=_parse(row["published_at"], datetime.fromisoformat),
            publisher=clean_title(row["publisher"]),
            link=row["link"].strip() or None,
            vendor_id=row["uuid"].strip() or None,
            vendor_tickers=tuple(s.strip() for s in row["related_tickers"].split("|") if s.strip()),
            raw_payload=payload_json(row),
        )

    return _read(path, "yahoo_search", item)


#: The bundled files in ingestion order (the first occurrence of an article wins).
BUNDLED_READERS: tuple[tuple[Path, Callable[[Path], SourceBatch]], ...] = (
    (BENZINGA_RATINGS_CSV, read_benzinga_ratings),
    (BENZINGA_PARTNER_CSV, read_benzinga_partner),
    (YAHOO_SEARCH_CSV, read_yahoo_search),
)


def read_bundled() -> list[SourceBatch]:
    """All bundled files, in :data:`BUNDLED_READERS` order."""
    return [reader(require_file(path)) for path, reader in BUNDLED_READERS]

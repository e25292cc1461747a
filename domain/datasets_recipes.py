"""How the files of ``data/manifest.toml`` are rebuilt from their public sources when no mirror
holds them: one builder per ``[file.source] kind`` (see the manifest's header for the kinds).

Standard library only. A builder gets the entry's ``source`` table and a :class:`RecipeContext`
(how to download a URL, where the mirror is, how to get another manifest file materialised) and
returns the file's bytes; the caller checks them against the manifest's sha256 and writes them.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

KINDS = ("url", "gzip", "concat_csv", "cut", "yahoo_search_news", "mirror_only")


class DataFileError(Exception):
    """A data file of the manifest could not be materialised (base of the errors below)."""


class ManifestError(DataFileError):
    """``data/manifest.toml`` is malformed (a missing key, an unknown source kind)."""


class SourceUnavailableError(DataFileError):
    """A file's public source cannot give it: no network, an HTTP error, a missing tool, or a
    file that only the mirror holds."""


@dataclass(frozen=True)
class RecipeContext:
    """What a builder may use.

    Attributes:
        fetch: downloads a URL and returns its body (raises :class:`SourceUnavailableError`).
        mirror: the mirror folder, or None.
        parent: materialises another manifest file (by its ``path``) and returns where it is.
        log: progress messages (one line each).
    """

    fetch: Callable[[str], bytes]
    mirror: Path | None
    parent: Callable[[str], Path]
    log: Callable[[str], None]


def build(source: Mapping[str, Any], ctx: RecipeContext) -> bytes:
    """The bytes of a file rebuilt from its ``[file.source]`` table.

    Raises:
        ManifestError: unknown ``kind`` or a key the kind needs is missing.
        SourceUnavailableError: a download failed, a tool is missing, or the kind is
            ``mirror_only``.
    """
    kind = source.get("kind")
    builder = _BUILDERS.get(kind)
    if builder is None:
        raise ManifestError(f"unknown source kind {kind!r} (known: {', '.join(KINDS)})")
    try:
        return builder(source, ctx)
    except KeyError as missing:
        raise ManifestError(f"source of kind {kind!r} lacks the key {missing}") from None


def describe(source: Mapping[str, Any]) -> str:
    """One phrase saying how a file is obtained without the mirror (for error messages)."""
    kind = source.get("kind")
    if kind == "url":
        return f"downloads it from {source.get('url')}"
    if kind == "gzip":
        return f"downloads {source.get('url')} and gzips it ({_gzip_summary(source.get('gzip', {}))})"
    if kind == "concat_csv":
        return (
            f"builds it from the {len(source.get('members', ()))} CSV files {source.get('url_pattern')} "
            f"(recipe in data/manifest.toml)"
        )
    if kind == "cut":
        return f"cuts it from data/sample/{source.get('parent')} ({_cut_summary(source)})"
    if kind == "yahoo_search_news":
        return (
            f"builds it from the {len(source.get('members', ()))} Yahoo search responses "
            f"{source.get('url_pattern')} (recipe in data/manifest.toml)"
        )
    if kind == "mirror_only":
        return f"cannot rebuild it: no public URL serves these bytes ({source.get('recipe', 'see data/manifest.toml')})"
    return f"has an unknown source kind {kind!r}"


# ----------------------------------------------------------------------------- kinds


def _url(source: Mapping[str, Any], ctx: RecipeContext) -> bytes:
    return ctx.fetch(source["url"])


def _gzip(source: Mapping[str, Any], ctx: RecipeContext) -> bytes:
    return compress(ctx.fetch(source["url"]), source["gzip"])


def _concat_csv(source: Mapping[str, Any], ctx: RecipeContext) -> bytes:
    header = source["header"].encode("utf-8")
    drop_header = bool(source.get("drop_member_header", True))
    members = list(source["members"])
    parts = [header + b"\n"]
    for number, member in enumerate(members, start=1):
        body = ctx.fetch(source["url_pattern"].format(member=quote(member)))
        if drop_header:
            first, _, rest = body.partition(b"\n")
            if first.rstrip(b"\r").lower() == header.lower():
                body = rest
        if body and not body.endswith(b"\n"):
            body += b"\n"
        parts.append(body)
        if number % 50 == 0 or number == len(members):
            ctx.log(f"  {number}/{len(members)} member files")
    content = b"".join(parts)
    return compress(content, source["gzip"]) if "gzip" in source else content


def _cut(source: Mapping[str, Any], ctx: RecipeContext) -> bytes:
    parent = ctx.parent(source["parent"])
    raw = parent.read_bytes()
    text = (gzip.decompress(raw) if parent.name.endswith(".gz") else raw).decode("utf-8")
    lines = text.splitlines(keepends=True)
    header = lines[0]
    columns = _split(header)
    tickers = set(source.get("tickers", ()))
    ticker_at = columns.index(source.get("ticker_column", "Name")) if tickers else None
    date_at = columns.index(source.get("date_column", "date"))
    date_from, date_to = source.get("date_from"), source.get("date_to")
    missing_at = [columns.index(c) for c in source.get("missing_any", ())]
    kept = [header]
    for line in lines[1:]:
        row = _split(line)
        if ticker_at is not None and row[ticker_at] not in tickers:
            continue
        if date_from is not None and row[date_at] < date_from:
            continue
        if date_to is not None and row[date_at] > date_to:
            continue
        if missing_at and all(row[i] != "" for i in missing_at):
            continue
        kept.append(line)
    return "".join(kept).encode("utf-8")


def _yahoo_search_news(source: Mapping[str, Any], ctx: RecipeContext) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["uuid", "title", "publisher", "link", "published_at", "type", "related_tickers", "query", "fixture"]
    )
    for member in source["members"]:
        recording = json.loads(_member_bytes(source, member, ctx))
        url = recording["request"]["url"]
        query = next((p.split("=", 1)[1] for p in urlsplit(url).query.split("&") if p.startswith("q=")), "")
        for item in recording["response"]["bodyJson"].get("news", []):
            published = datetime.fromtimestamp(item["providerPublishTime"], UTC).isoformat()
            writer.writerow(
                [
                    item["uuid"], item["title"], item["publisher"], item["link"], published, item["type"],
                    "|".join(item.get("relatedTickers", [])), query, member,
                ]
            )  # fmt: skip
    return out.getvalue().encode("utf-8")


def _mirror_only(source: Mapping[str, Any], ctx: RecipeContext) -> bytes:
    raise SourceUnavailableError(
        "no public URL serves these bytes, so it must come from the mirror (how it was made: "
        f"{source.get('recipe', 'see data/manifest.toml')})"
    )


_BUILDERS: dict[str, Callable[[Mapping[str, Any], RecipeContext], bytes]] = {
    "url": _url,
    "gzip": _gzip,
    "concat_csv": _concat_csv,
    "cut": _cut,
    "yahoo_search_news": _yahoo_search_news,
    "mirror_only": _mirror_only,
}


# ----------------------------------------------------------------------------- helpers


def compress(data: bytes, settings: Mapping[str, Any]) -> bytes:
    """``data`` as a gzip file made exactly as ``settings`` (a ``[file.source.gzip]`` table) says.

    ``compressor = "zlib"``: Python's zlib with ``level``, ``mem_level`` and a header holding
    ``filename`` (optional), ``mtime`` (seconds since the epoch, default 0), ``os`` (default 3,
    Unix) and ``xfl`` (default 2 at level 9, 4 at level 1, else 0). ``compressor = "gnu-gzip"``:
    the ``gzip`` program with ``args`` (e.g. ``["-9n"]``).

    Raises:
        ManifestError: unknown compressor.
        SourceUnavailableError: ``gnu-gzip`` is asked for and no ``gzip`` program is on PATH.
    """
    compressor = settings.get("compressor", "zlib")
    if compressor == "zlib":
        level = int(settings.get("level", 9))
        filename = settings.get("filename")
        xfl = int(settings.get("xfl", 2 if level == 9 else 4 if level == 1 else 0))
        header = (
            b"\x1f\x8b\x08"
            + bytes([0x08 if filename else 0])
            + struct.pack("<I", int(settings.get("mtime", 0)))
            + bytes([xfl, int(settings.get("os", 3))])
            + (filename.encode("latin-1") + b"\0" if filename else b"")
        )
        deflate = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, int(settings.get("mem_level", 8)))
        body = deflate.compress(data) + deflate.flush()
        return header + body + struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)
    if compressor == "gnu-gzip":
        program = shutil.which("gzip")
        if program is None:
            raise SourceUnavailableError("recompressing needs the GNU gzip program, which is not on PATH")
        done = subprocess.run(
            [program, *settings.get("args", ["-9n"]), "-c"], input=data, capture_output=True, check=False
        )
        if done.returncode != 0:
            raise SourceUnavailableError(f"gzip failed: {done.stderr.decode(errors='replace').strip()}")
        return done.stdout
    raise ManifestError(f"unknown gzip compressor {compressor!r} (known: zlib, gnu-gzip)")


def _member_bytes(source: Mapping[str, Any], member: str, ctx: RecipeContext) -> bytes:
    """A recipe input: from the mirror when it holds it (``mirror_pattern``), else downloaded."""
    pattern = source.get("mirror_pattern")
    if ctx.mirror is not None and pattern:
        candidate = ctx.mirror / pattern.format(member=member)
        if candidate.is_file():
            return candidate.read_bytes()
    return ctx.fetch(source["url_pattern"].format(member=quote(member)))


def _split(line: str) -> list[str]:
    """The fields of one CSV line (a fast path for lines without quotes)."""
    line = line.rstrip("\r\n")
    return line.split(",") if '"' not in line else next(csv.reader([line]))


def _gzip_summary(settings: Mapping[str, Any]) -> str:
    if settings.get("compressor") == "gnu-gzip":
        return "gzip " + " ".join(settings.get("args", ["-9n"]))
    return f"zlib level {settings.get('level', 9)}"


def _cut_summary(source: Mapping[str, Any]) -> str:
    parts = []
    if source.get("tickers"):
        parts.append(", ".join(source["tickers"]))
    if source.get("date_from") or source.get("date_to"):
        parts.append(f"{source.get('date_from', '…')}..{source.get('date_to', '…')}")
    if source.get("missing_any"):
        parts.append("rows with an empty " + "/".join(source["missing_any"]))
    return "; ".join(parts) or "all rows"

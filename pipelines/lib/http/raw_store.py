"""Raw vendor responses kept on disk, so a rerun rebuilds without refetching and an analyst can
read exactly what the vendor sent.

Layout: ``<root>/<vendor>/<key>`` where ``key`` is a relative path chosen by the vendor module
(for example ``chart/NVDA/2021-02-01_2022-01-31.json``). Bodies are stored byte for byte, written
to a temporary file first and renamed, so a crash never leaves half a file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_SAFE = re.compile(r"[^A-Za-z0-9._=-]+")


class RawResponseStore:
    """Files of one vendor under ``root/vendor``."""

    def __init__(self, root: Path, vendor: str) -> None:
        self.directory = Path(root) / vendor

    def path_for(self, key: str) -> Path:
        """The file of ``key``; each path segment is made filesystem-safe (``^`` -> ``_``)."""
        parts = [_SAFE.sub("_", part) for part in key.split("/") if part not in ("", ".", "..")]
        if not parts:
            raise ValueError(f"empty raw-store key {key!r}")
        return self.directory.joinpath(*parts)

    def get(self, key: str) -> bytes | None:
        """The stored body of ``key``, or ``None``."""
        path = self.path_for(key)
        return path.read_bytes() if path.exists() else None

    def put(self, key: str, body: bytes) -> Path:
        """Store ``body`` under ``key`` atomically; returns the path."""
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(body)
        os.replace(tmp, path)
        return path

    def keys(self, prefix: str = "") -> list[str]:
        """Stored keys under ``prefix`` (sorted)."""
        base = self.path_for(prefix) if prefix else self.directory
        if not base.exists():
            return []
        return sorted(
            str(p.relative_to(self.directory)) for p in base.rglob("*") if p.is_file() and not p.name.startswith(".")
        )

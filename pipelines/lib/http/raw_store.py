"""Raw vendor responses kept on disk, so a rerun rebuilds without refetching and an analyst can
read exactly what the vendor sent.

Layout: ``<root>/<vendor>/<key>`` where ``key`` is a relative path chosen by the vendor module
(for example ``chart/NVDA/2021-02-01_2022-01-31.json``). Bodies are stored byte for byte: written
to a temporary file in the same folder, flushed and fsynced, then renamed over the target
(``os.replace``), so a reader or a crash sees the old file or the whole new one, never half a file.
Temporary files start with ``.`` and are not listed by :meth:`RawResponseStore.keys`.
"""

from __future__ import annotations

import re
from pathlib import Path

from domain.files import write_atomically

_SAFE = re.compile(r"[^A-Za-z0-9._=-]+")


class RawResponseStore:
    """Files of one vendor under ``root/vendor``."""

    def __init__(self, root: Path, vendor: str) -> None:
        self.directory = Path(root) / vendor

    def path_for(self, key: str) -> Path:
        """The file of ``key``; each path segment is made filesystem-safe (``^`` -> ``_``; a leading
        ``.`` -> ``_`` so no key can hide among the temporary files; ``..`` segments are dropped).

        Raises:
            ValueError: the key has no usable segment.
        """
        parts = [_SAFE.sub("_", part) for part in key.split("/") if part not in ("", ".", "..")]
        parts = ["_" + part[1:] if part.startswith(".") else part for part in parts]
        if not parts:
            raise ValueError(f"empty raw-store key {key!r}")
        return self.directory.joinpath(*parts)

    def get(self, key: str) -> bytes | None:
        """The stored body of ``key``, or ``None``."""
        path = self.path_for(key)
        return path.read_bytes() if path.exists() else None

    def put(self, key: str, body: bytes) -> Path:
        """Store ``body`` under ``key`` atomically; returns the path."""
        return write_atomically(self.path_for(key), body)

    def keys(self, prefix: str = "") -> list[str]:
        """Stored keys under ``prefix`` (sorted)."""
        base = self.path_for(prefix) if prefix else self.directory
        if not base.exists():
            return []
        return sorted(
            str(p.relative_to(self.directory)) for p in base.rglob("*") if p.is_file() and not p.name.startswith(".")
        )

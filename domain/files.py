"""Atomic file writes shared by the raw HTTP response store, the portfolio files the app
writes and the alert rules file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one, never a
    part: a temporary file in the same folder (``.<name>.<random>.tmp``, which ``*.csv`` /
    ``*.yml`` globs and the raw store's listing skip), fsynced, then ``os.replace``-d over
    ``path``. Creates the folder. The temporary file is removed on any error.

    Raises:
        OSError: the folder or file cannot be written (``path`` is then unchanged).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    finally:
        Path(partial).unlink(missing_ok=True)
    return path

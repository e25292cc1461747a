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

    The file gets the mode of the file it replaces, or, for a new file, the mode a plain
    ``open()`` would give (0666 less the umask): not the 0600 of the temporary file, so the app
    and the Dagster daemon may run as different users.

    Raises:
        OSError: the folder or file cannot be written (``path`` is then unchanged).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask()
    handle, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    finally:
        Path(partial).unlink(missing_ok=True)
    return path


def _umask() -> int:
    """The process's umask (read by setting and restoring it; there is no read-only call)."""
    current = os.umask(0o022)
    os.umask(current)
    return current

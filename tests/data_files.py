"""The third-party data files tests read: materialised by ``make data`` from ``data/manifest.toml``
into ``data/sample/`` (fixtures under ``data/sample/fixtures/``), never committed.

Paths go through :func:`domain.datasets.bundled_path`, so a missing file fails with what to run
and where the file comes from, instead of a bare ``FileNotFoundError`` deep in a reader.
"""

from __future__ import annotations

from pathlib import Path

from domain.datasets import DEFAULT_TARGET, bundled_path

#: ``data/sample/`` and its test fixtures folder (paths only: use the functions to check them).
SAMPLE_DIR = DEFAULT_TARGET
SAMPLE_FIXTURES = SAMPLE_DIR / "fixtures"


def sample_file(relative: str) -> Path:
    """``data/sample/<relative>`` (a file, or a folder of manifest files).

    Raises:
        domain.datasets.MissingDataFileError: it (or a manifest file under it) is missing.
    """
    return bundled_path(relative)


def sample_fixture(relative: str) -> Path:
    """``data/sample/fixtures/<relative>`` (a file, or a folder such as ``yahoo``).

    Raises:
        domain.datasets.MissingDataFileError: it (or a manifest file under it) is missing.
    """
    return bundled_path(f"fixtures/{relative}")

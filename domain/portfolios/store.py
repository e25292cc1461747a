"""The folder of portfolio transaction files (``PORTFOLIOS_DIR``): listing, fingerprints, and the
validated atomic write the app's upload/edit form uses (rules: :mod:`domain.portfolios.transactions`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import polars as pl

from domain.files import write_atomically
from domain.portfolios.transactions import (
    FILE_NAME_PATTERN,
    PortfolioFileError,
    PriceHistory,
    portfolios_in,
    read_transactions,
    validate_transactions,
)


def transaction_files(directory: Path) -> list[Path]:
    """The transaction files of ``directory``: regular ``*.csv`` files not starting with ``.``,
    by name (none when the folder does not exist). Symbolic links are not followed (a link could
    bring in any file of the machine): see :func:`ignored_links`."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.csv")
                  if not p.is_symlink() and p.is_file() and not p.name.startswith("."))  # fmt: skip


def ignored_links(directory: Path) -> list[Path]:
    """The ``*.csv`` symbolic links of ``directory``, which :func:`transaction_files` leaves out."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.csv") if p.is_symlink())


def file_sha256(data: bytes) -> str:
    """Hex SHA-256 of a file's bytes (its fingerprint in the tables and the sensor cursor)."""
    return hashlib.sha256(data).hexdigest()


def other_files_portfolios(directory: Path, except_file: str) -> dict[str, str]:
    """``{portfolio: file name}`` of the readable transaction files of ``directory`` other than
    ``except_file`` (unreadable files are skipped: they hold no loadable portfolio)."""
    found: dict[str, str] = {}
    for path in transaction_files(directory):
        if path.name == except_file:
            continue
        try:
            frame = read_transactions(path, path.name)
        except PortfolioFileError:
            continue
        for name in portfolios_in(frame):
            found.setdefault(name, path.name)
    return found


def write_portfolio_file(
    portfolios_dir: Path, file_name: str, data: pl.DataFrame | pd.DataFrame | bytes, history: PriceHistory
) -> Path:
    """Validate a transaction file and write it to ``portfolios_dir/file_name`` atomically.

    ``data``: the CSV bytes (written unchanged) or a polars/pandas frame with the eight columns
    (written as CSV: header line, ISO dates). It is read and validated exactly as the ingest
    asset will (:func:`read_transactions`, :func:`validate_transactions`, portfolios of the
    other files of the folder included), then written to a temporary file in the folder
    (``.<file_name>.<pid>.tmp``, not matched by ``*.csv``), fsynced and ``os.replace``-d over
    the target, so the sensor never sees a half-written file. Replaces an existing file of
    that name (an edit). Returns the written path.

    Raises:
        ValueError: ``file_name`` is not ``<letters, digits, _ or ->.csv`` (no folders).
        PortfolioFileError: the content fails validation (``errors`` lists every problem);
            nothing is written.
    """
    if not FILE_NAME_PATTERN.fullmatch(file_name):
        raise ValueError(
            f"file name {file_name!r} must be letters, digits, '_' or '-' ending in .csv (e.g. my_portfolio.csv)"
        )
    if isinstance(data, pd.DataFrame):
        data = pl.from_pandas(data)
    content = data if isinstance(data, bytes) else data.write_csv(date_format="%Y-%m-%d").encode("utf-8")
    directory = Path(portfolios_dir)
    frame = read_transactions(content, file_name)
    errors = validate_transactions(frame, file_name, history, other_files_portfolios(directory, file_name))
    if errors:
        raise PortfolioFileError(errors)
    return write_atomically(directory / file_name, content)

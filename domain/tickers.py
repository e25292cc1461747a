"""The warehouse's ticker convention, applied to every input that names a US stock.

A ticker is stored **upper case, without surrounding spaces, with ``.`` before a share class**
(the S&P 500 files' spelling: ``BRK.B``, ``BF.B``). Other spellings of the same symbol are
normalised when a file is read: ``brk.b`` → ``BRK.B``; Yahoo's and SEC's ``BRK-B``, and
``BRK/B`` or ``BRK B``, → ``BRK.B`` (a share class is one or two letters after the separator;
``BAC-PL`` → ``BAC.PL``). Nothing else is changed (Korean six-digit codes and crypto pairs such
as ``BTCUSDT`` have no separator).
"""

from __future__ import annotations

import re

import polars as pl

#: Separator between a symbol and its share class in the warehouse spelling.
SHARE_CLASS_SEPARATOR = "."
_CLASS_PATTERN = r"^([A-Z0-9]+)[-/ ]([A-Z]{1,2})$"
_CLASS = re.compile(_CLASS_PATTERN)


def normalize_ticker(ticker: str) -> str:
    """``ticker`` in the warehouse spelling (see the module docstring), e.g. ``brk-b`` → ``BRK.B``."""
    return _CLASS.sub(rf"\1{SHARE_CLASS_SEPARATOR}\2", ticker.strip().upper())


def normalized_ticker(column: str | pl.Expr) -> pl.Expr:
    """:func:`normalize_ticker` as a polars expression over a text column (NULL stays NULL)."""
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.str.strip_chars().str.to_uppercase().str.replace(_CLASS_PATTERN, rf"${{1}}{SHARE_CLASS_SEPARATOR}${{2}}")

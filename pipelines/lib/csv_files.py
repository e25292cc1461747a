"""Strict, typed reading of vendor CSV files (optionally gzip).

:func:`read_typed_csv` reads every field as text, then casts each declared column.
Empty fields become NULL (an incomplete row is data for validation to quarantine).
A missing column or a present-but-unparsable value raises :class:`MalformedFileError`
naming the file, the 1-based line (the header is line 1) and the field, so the caller
can stop before writing anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

FieldType = Literal["str", "date", "float", "int"]


class MalformedFileError(ValueError):
    """A file cannot be parsed; ``path``, ``line`` and ``field`` say where."""

    def __init__(self, path: Path, message: str, line: int | None = None, field: str | None = None):
        self.path = Path(path)
        self.line = line
        self.field = field
        where = str(self.path)
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Column:
    """How to read one CSV column: its output name and type (dates are ``YYYY-MM-DD``)."""

    name: str
    type: FieldType = "str"
    required: bool = False  # an empty value is a malformed file, not a NULL


def _cast(text: pl.Series, field_type: FieldType) -> pl.Series:
    if field_type == "date":
        return text.str.to_date("%Y-%m-%d", strict=False)
    if field_type == "float":
        return text.cast(pl.Float64, strict=False)
    if field_type == "int":
        as_float = text.cast(pl.Float64, strict=False)
        whole = as_float.is_finite() & (as_float == as_float.round(0))
        return pl.select(pl.when(whole).then(as_float).otherwise(None).cast(pl.Int64)).to_series()
    return text


_EXPECTED = {"date": "a date (YYYY-MM-DD)", "float": "a number", "int": "a whole number"}


def read_typed_csv(path: Path | str, columns: Mapping[str, Column]) -> pl.DataFrame:
    """Read ``path`` and return a frame with one column per entry of ``columns``, in file order.

    ``columns`` maps the header name in the file to the :class:`Column` to produce.
    The result has an extra first column ``source_line`` (Int64, 1-based file line).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        MalformedFileError: unreadable file, missing column, empty required value,
            or a value that does not parse as its declared type.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"file not found: {path}")
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise MalformedFileError(path, f"cannot be read as CSV ({exc})") from exc
    missing = [name for name in columns if name not in raw.columns]
    if missing:
        raise MalformedFileError(
            path, f"missing column(s) {missing}; expected columns {list(columns)}", line=1
        )
    out: dict[str, pl.Series] = {
        "source_line": pl.int_range(2, raw.height + 2, eager=True, dtype=pl.Int64)
    }
    for header, column in columns.items():
        text = raw[header].str.strip_chars().replace("", None)
        if column.required and text.is_null().any():
            line = int(text.is_null().arg_true()[0]) + 2
            raise MalformedFileError(path, "value is empty", line, header)
        values = _cast(text, column.type)
        bad = text.is_not_null() & values.is_null()
        if bad.any():
            index = int(bad.arg_true()[0])
            raise MalformedFileError(
                path, f"{text[index]!r} is not {_EXPECTED[column.type]}", index + 2, header
            )
        out[column.name] = values.alias(column.name)
    return pl.DataFrame(out)

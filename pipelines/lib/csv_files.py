"""Strict, typed reading of vendor CSV files (optionally gzip).

:func:`read_typed_csv` reads every field as text, then casts each declared column (a file
whose number columns all parse takes a fast path with the same result, see
:func:`_read_well_formed`).
Empty fields, and in number and date columns the common missing-value tokens
(:data:`MISSING_TOKENS`: ``null``, ``NaN``, ``NA``, ``N/A``, ``None``…), become NULL: an
incomplete row is data for validation to quarantine, not a broken file. Column names match
case-insensitively (``Date`` reads as ``date``); other columns are ignored. A missing column or a
present-but-unparsable value raises :class:`MalformedFileError` naming the file, the 1-based
line (the header is line 1) and the field, and every other bad line of the file up to
:data:`MAX_REPORTED` (with the count of the rest), so the caller can stop before writing
anything and the user can fix the file in one go. Whole numbers are read exactly up to 2^53
(integers beyond that, or beyond 64 bits, are not whole numbers a float can hold exactly: a
malformed value, never silently rounded).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

FieldType = Literal["str", "date", "float", "int"]

#: Spellings of "no value" in number and date columns (compared case-insensitively).
MISSING_TOKENS = frozenset({"null", "nan", "na", "n/a", "none", "nil", "#n/a"})

#: Bad lines named in one :class:`MalformedFileError` (the rest are counted).
MAX_REPORTED = 20

_EXACT_INT_LIMIT = 2**53  # larger floats are not whole numbers held exactly


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
        exact = text.cast(pl.Int64, strict=False)  # digits only: exact to 2^63
        as_float = text.cast(pl.Float64, strict=False)  # "1.0", "1e3": exact to 2^53 only
        whole = as_float.is_finite() & (as_float == as_float.round(0)) & (as_float.abs() < _EXACT_INT_LIMIT)
        from_float = pl.select(pl.when(whole).then(as_float).otherwise(None).cast(pl.Int64)).to_series()
        return exact.fill_null(from_float)
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
    typed = _read_well_formed(path, columns)
    return typed if typed is not None else _read_as_text(path, columns)


def _read_as_text(path: Path, columns: Mapping[str, Column]) -> pl.DataFrame:
    """:func:`read_typed_csv` by reading every field as text: names every bad line."""
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise MalformedFileError(path, f"cannot be read as CSV ({exc})") from exc
    raw = raw.rename(_header_mapping(path, raw.columns, list(columns)))
    out: dict[str, pl.Series] = {
        "source_line": pl.int_range(2, raw.height + 2, eager=True, dtype=pl.Int64)
    }
    problems: list[tuple[int, str, str]] = []  # (line, field, message)
    for header, column in columns.items():
        text = _text_values(raw[header], column.type)
        if column.required:
            problems += [(int(i) + 2, header, "value is empty") for i in text.is_null().arg_true()]
        values = _cast(text, column.type)
        bad = text.is_not_null() & values.is_null()
        problems += [(int(i) + 2, header, f"{text[int(i)]!r} is not {_EXPECTED[column.type]}") for i in bad.arg_true()]
        out[column.name] = values.alias(column.name)
    if problems:
        raise _malformed(path, sorted(problems))
    return pl.DataFrame(out)


_NUMBER_TYPES = {"float": pl.Float64, "int": pl.Int64}


def _read_well_formed(path: Path, columns: Mapping[str, Column]) -> pl.DataFrame | None:
    """The fast path of :func:`read_typed_csv`, for a file whose number columns parse as
    numbers: polars parses them while reading (no text copy of every field; at 24 M price rows
    about 8x faster and a third of the memory). Returns None, for the text path to read the file
    and name every problem, at the first sign of anything else: a number field polars cannot
    parse (a missing-value token, a fractional volume, stray text), a NaN or an infinity (the
    text path turns ``nan`` into NULL), an empty required field. Text and date columns are read
    as text and converted exactly as the text path does, so both paths give the same frame.

    Raises:
        MalformedFileError: a missing or ambiguous column (as the text path).
    """
    try:
        found = pl.read_csv(path, n_rows=0, infer_schema=False).columns
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError):
        return None
    mapping = _header_mapping(path, found, list(columns))
    header_of = {expected: header for header, expected in mapping.items()}
    dtypes = {header_of[name]: _NUMBER_TYPES.get(column.type, pl.Utf8) for name, column in columns.items()}
    try:
        raw = pl.read_csv(path, columns=list(dtypes), schema_overrides=dtypes).rename(mapping)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError):
        return None
    out: dict[str, pl.Series] = {"source_line": pl.int_range(2, raw.height + 2, eager=True, dtype=pl.Int64)}
    for header, column in columns.items():
        values = raw[header]
        if column.type in _NUMBER_TYPES:
            if column.type == "float" and (values.is_nan() | values.is_infinite()).any():
                return None
        elif column.type == "date":
            # a field that parses as a date is neither empty, nor padded, nor a missing-value
            # token: when every non-empty field parses, the text path's clean-up changes nothing
            parsed = _cast(values, "date")
            if parsed.null_count() != values.null_count():
                return None
            values = parsed
        else:
            values = _text_values(values, column.type)
        if column.required and values.null_count():
            return None
        out[column.name] = values.alias(column.name)
    # one chunk per column: the parallel reader leaves hundreds, and later eager operations on
    # a frame whose columns are chunked differently copy the whole frame to align them
    return pl.DataFrame(out).rechunk()


def _text_values(text: pl.Series, field_type: FieldType) -> pl.Series:
    """A column read as text, stripped; empty fields (and, in number and date columns, the
    missing-value tokens) as NULL."""
    text = text.str.strip_chars().replace("", None)
    if field_type != "str":
        text = pl.select(pl.when(text.str.to_lowercase().is_in(list(MISSING_TOKENS))).then(None)
                         .otherwise(text)).to_series().alias(text.name)  # fmt: skip
    return text


def _header_mapping(path: Path, found: list[str], expected: list[str]) -> dict[str, str]:
    """File column → expected name for the columns that match one of ``expected`` exactly or,
    failing that, case-insensitively and ignoring surrounding spaces (``Date`` or `` date`` for
    ``date``); other file columns are ignored.

    Raises:
        MalformedFileError: an expected column is missing or matched by more than one column;
            the message names the header found and the header expected.
    """
    mapping: dict[str, str] = {}
    missing, ambiguous = [], []
    for name in expected:
        if name in found:
            mapping[name] = name
            continue
        candidates = [c for c in found if c.strip().casefold() == name.casefold()]
        if len(candidates) == 1:
            mapping[candidates[0]] = name
        elif candidates:
            ambiguous.append(f"{name!r} matches {candidates}")
        else:
            missing.append(name)
    if missing or ambiguous:
        problem = f"missing column(s) {missing}" if missing else ""
        problem += ("; " if problem and ambiguous else "") + "; ".join(ambiguous)
        raise MalformedFileError(
            path,
            f"{problem}; header found: {','.join(found)}; header expected: {','.join(expected)} "
            "(column names match case-insensitively; other columns are ignored)",
            line=1,
        )
    return mapping


def _malformed(path: Path, problems: list[tuple[int, str, str]]) -> MalformedFileError:
    """One error for every bad line (the first :data:`MAX_REPORTED` named), the first in front."""
    line, field, message = problems[0]
    if len(problems) > 1:
        shown = "; ".join(f"line {n}, field '{f}': {m}" for n, f, m in problems[1:MAX_REPORTED])
        rest = len(problems) - MAX_REPORTED
        message += f" (also {shown}" + (f"; and {rest} more bad values" if rest > 0 else "") + ")"
    return MalformedFileError(path, message, line, field)

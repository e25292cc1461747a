"""PostgreSQL results as pandas frames with DuckDB's ``fetch_df`` dtypes, so a page gives the
same frame on both backends: floating and ``numeric`` columns as ``float64``, integers as
``int64`` (``Int64`` if the result has NULLs), booleans as ``bool`` (``boolean`` with NULLs),
dates as ``datetime64[us]``, timestamps with time zone as UTC ``datetime64[us, UTC]``, text as
pandas strings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import psycopg


def _pg_oids(*names: str) -> frozenset[int]:
    return frozenset(psycopg.postgres.types[n].oid for n in names)


_PG_FLOAT = _pg_oids("float4", "float8", "numeric")
_PG_INT = _pg_oids("int2", "int4", "int8", "oid")
_PG_BOOL = _pg_oids("bool")
_PG_DATE = _pg_oids("date")
_PG_TIMESTAMP = _pg_oids("timestamp")
_PG_TIMESTAMPTZ = _pg_oids("timestamptz")
_PG_TEXT = _pg_oids("text", "varchar", "bpchar", "name")


def _pg_column(values: Sequence[Any], oid: int) -> Any:
    """One result column as the array DuckDB's ``fetch_df`` would give for that type."""
    has_null = any(v is None for v in values)
    if oid in _PG_FLOAT:  # numeric arrives as float (FloatLoader)
        return np.array(values, dtype="float64")
    if oid in _PG_INT:
        return pd.array(values, dtype="Int64") if has_null else np.array(values, dtype="int64")
    if oid in _PG_BOOL:
        return pd.array(values, dtype="boolean") if has_null else np.array(values, dtype="bool")
    if oid in _PG_DATE:
        return np.array(values, dtype="datetime64[D]").astype("datetime64[us]")
    if oid in _PG_TIMESTAMP:
        return np.array(values, dtype="datetime64[us]")
    if oid in _PG_TIMESTAMPTZ:
        return pd.to_datetime(pd.Series(values, dtype=object), utc=True).dt.as_unit("us").array
    if oid in _PG_TEXT:
        return pd.Series(list(values)).array if values else np.array([], dtype=object)
    return np.array(values, dtype=object)


def frame_from_cursor(cur: psycopg.Cursor) -> pd.DataFrame:
    """The cursor's result as a DataFrame with DuckDB's dtypes (see module doc)."""
    description = cur.description or []
    rows = cur.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in description]
    data = {i: _pg_column(values, d.type_code) for i, (d, values) in enumerate(zip(description, columns, strict=True))}
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
    frame.columns = [d.name for d in description]
    return frame



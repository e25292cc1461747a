"""The backend-neutral warehouse interface the pipelines write (and read) through."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from domain.warehouse.sql import Dialect, TableNames, text_order


@dataclass(frozen=True)
class Replacement:
    """Rows of ``table`` matching ``delete_where`` (``?`` placeholders, ``params``) are
    replaced by ``frame`` (inserted by column name)."""

    table: str
    frame: pl.DataFrame
    delete_where: str = "true"
    params: Sequence[Any] = ()


class Warehouse(ABC):
    """One open connection to the warehouse. SQL uses ``?`` placeholders on both backends;
    table names come from :meth:`table` (the configured schema prefix)."""

    backend: Dialect

    def __init__(self, names: TableNames) -> None:
        self.names = names

    def table(self, layer: str, name: str) -> str:
        """Qualified name of ``name`` in ``layer``'s schema, e.g. ``raw.prices_daily``."""
        return self.names.table(layer, name)

    def schema(self, layer: str) -> str:
        """The schema name of ``layer`` (with the prefix)."""
        return self.names.schema(layer)

    def text_order(self, column: str) -> str:
        """A sort key that orders text by code point on this backend."""
        return text_order(column, self.backend)

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement (``?`` placeholders) outside any explicit transaction."""

    @abstractmethod
    def fetch_frame(self, sql: str, params: Sequence[Any] = ()) -> pl.DataFrame:
        """Run a query and return its rows as a polars frame."""

    @abstractmethod
    def replace_rows(self, replacements: Sequence[Replacement]) -> None:
        """Apply all replacements in ONE transaction: delete the matching rows, insert the
        frames. On any error everything is rolled back: a partition is never half written,
        and a rerun leaves identical rows."""

    @abstractmethod
    def publish(self, run_id: str, built_at: datetime) -> dict[str, Any]:
        """Make the completed build visible to readers; returns metadata to record."""

    def row_count(self, table: str) -> int:
        """``count(*)`` of ``table`` (a qualified name from :meth:`table`)."""
        return int(self.fetch_frame(f"select count(*) as n from {table}")["n"][0])

    def ensure_schema(self, layer: str) -> None:
        """Create the (prefixed) schema of ``layer`` if missing."""
        self.execute(f"create schema if not exists {self.schema(layer)}")

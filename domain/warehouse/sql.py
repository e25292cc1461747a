"""SQL text helpers written once for both backends: identifiers, table names, parameter style
and text ordering.

Every statement in the product is written with DuckDB's ``?`` placeholders;
:func:`to_pyformat` turns it into psycopg's ``%s`` style for PostgreSQL. Table names are built
by :class:`TableNames` from the configured schema prefix, never from user input. Text sort keys
get ``COLLATE "C"`` on PostgreSQL (:func:`text_order`), so both backends order text by code
point whatever the database's collation is (DuckDB orders by code point already).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

#: SQL dialects of the two warehouses.
Dialect = Literal["duckdb", "postgres"]

#: Layers readers get: the DuckDB snapshot holds exactly these (plus ``meta``); on PostgreSQL
#: the app's role ``app_reader`` reads them, BI's ``bi_reader`` only ``marts``.
PUBLISHED_LAYERS = ("marts", "portfolios", "alerts", "backtests")

#: Published tables the DuckDB snapshot updates row-wise, as ``(layer, table)``: one row per
#: ``ticker`` and ``trade_date`` with a ``computed_at`` stamp per dbt run (see
#: :mod:`domain.warehouse.snapshot_sync`); every other published table is copied whole.
ROW_SYNCED_TABLES = (("marts", "fct_daily_indicators"),)

#: PostgreSQL: the app's read-only role (reads :data:`PUBLISHED_LAYERS` and ``meta``).
APP_READER_ROLE = "app_reader"

#: PostgreSQL: the read-only BI role (dbt var ``bi_reader_role``, created by the on-run-end hook
#: ``grant_bi_reader``; its password is set by the build, see ``set_role_password``).
BI_READER_ROLE = "bi_reader"

_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def quote_identifier(name: str) -> str:
    """``name`` as an SQL identifier: as is when it is a plain lower-case identifier, else
    double-quoted with inner quotes doubled.

    Raises:
        ValueError: empty, or contains a NUL character.
    """
    if not name or "\x00" in name:
        raise ValueError(f"invalid SQL identifier {name!r}")
    return name if _PLAIN_IDENTIFIER.fullmatch(name) else '"' + name.replace('"', '""') + '"'


def string_literal(text: str) -> str:
    """``text`` as an SQL string literal (quotes doubled), for statements that take no
    parameters (DuckDB ``ATTACH``); never used with user input."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class TableNames:
    """Qualified names of warehouse tables for one schema prefix.

    ``TableNames("t_").table("marts", "dim_companies")`` is ``t_marts.dim_companies``.
    """

    prefix: str = ""

    def schema(self, layer: str) -> str:
        """The (unquoted) schema name of ``layer`` with the prefix."""
        return f"{self.prefix}{layer}"

    def table(self, layer: str, name: str) -> str:
        """``schema.table`` with both parts quoted where needed (:func:`quote_identifier`)."""
        return f"{quote_identifier(self.schema(layer))}.{quote_identifier(name)}"


def text_order(column: str, dialect: Dialect) -> str:
    """A text sort key ordered by code point on both backends (``COLLATE "C"`` on PostgreSQL).

    Raises:
        ValueError: unknown dialect.
    """
    if dialect == "postgres":
        return f'{column} COLLATE "C"'
    if dialect == "duckdb":
        return column
    raise ValueError(f"unknown SQL dialect {dialect!r}")


_PLACEHOLDER_TOKENS = re.compile(
    r"""
      '(?:[^']|'')*'                      # string literal ('' escapes a quote)
    | "(?:[^"]|"")*"                      # quoted identifier
    | --[^\n]*                            # line comment
    | /\*.*?\*/                           # block comment
    | \$(?P<tag>[A-Za-z_][A-Za-z0-9_]*)?\$.*?\$(?P=tag)?\$   # dollar-quoted string
    | [?%]
    """,
    re.VERBOSE | re.DOTALL,
)


def to_pyformat(sql: str) -> str:
    """Convert DuckDB-style ``?`` placeholders to psycopg's ``%s``.

    A ``?`` inside a string literal, quoted identifier, comment or dollar-quoted string is left
    alone; every literal ``%`` (anywhere: psycopg scans the whole text) is doubled to ``%%``.
    ``E'...'`` strings with backslash-escaped quotes are not supported (the product uses none).
    """

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        return token.replace("%", "%%")

    return _PLACEHOLDER_TOKENS.sub(replace, sql)

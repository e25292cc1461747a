"""DDL of the raw price tables (the warehouse contract for later issues and BI).

``raw.prices_daily`` — one row per (ticker, trade_date) that passed validation:
``ticker``, ``trade_date`` (exchange session date), ``open/high/low/close`` (USD for the
bundled file, split-adjusted, not dividend-adjusted), ``volume`` (shares), ``source``
(``csv:<file name>``), ``loaded_at`` (UTC timestamp of the load).

``raw.rejected_prices`` — quarantined input rows: the parsed row (``ticker``,
``trade_date``, prices, ``volume``; NULL where the field was empty), ``source_line``
(1-based line in the file), ``reason`` (failed rule names joined by ``"; "``, see
:mod:`pipelines.defs.prices.validation`), ``source_file``, ``loaded_at``.
"""

from __future__ import annotations

import duckdb

PRICES_TABLE = "raw.prices_daily"
REJECTED_TABLE = "raw.rejected_prices"

DDL = (
    "create schema if not exists raw",
    f"""create table if not exists {PRICES_TABLE} (
        ticker varchar not null,
        trade_date date not null,
        open double not null,
        high double not null,
        low double not null,
        close double not null,
        volume bigint not null,
        source varchar not null,
        loaded_at timestamp not null
    )""",
    f"""create table if not exists {REJECTED_TABLE} (
        ticker varchar,
        trade_date date,
        open double,
        high double,
        low double,
        close double,
        volume bigint,
        source_line bigint not null,
        reason varchar not null,
        source_file varchar not null,
        loaded_at timestamp not null
    )""",
)


def ensure_price_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw price tables if they do not exist (idempotent)."""
    for statement in DDL:
        con.execute(statement)

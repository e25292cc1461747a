"""DDL of the raw price tables (the warehouse contract for later issues and BI).

``<prefix>raw.prices_daily`` — one row per (ticker, trade_date) that passed validation:
``ticker``, ``trade_date`` (exchange session date), ``open/high/low/close`` (USD for the
bundled file, split-adjusted, not dividend-adjusted), ``volume`` (shares), ``source``
(``csv:<file name>``), ``loaded_at`` (UTC timestamp of the load).

``<prefix>raw.rejected_prices`` — quarantined input rows: the parsed row (``ticker``,
``trade_date``, prices, ``volume``; NULL where the field was empty), ``source_line``
(1-based line in the file), ``reason`` (failed rule names joined by ``"; "``, see
:mod:`pipelines.defs.prices.validation`), ``source_file``, ``loaded_at``.

The DDL is valid on DuckDB and PostgreSQL alike.
"""

from __future__ import annotations

from pipelines.lib.warehouse import Warehouse, table_name


def prices_table() -> str:
    """Qualified name of the loaded prices table."""
    return table_name("raw", "prices_daily")


def rejected_table() -> str:
    """Qualified name of the quarantine table."""
    return table_name("raw", "rejected_prices")


def ensure_price_tables(warehouse: Warehouse) -> None:
    """Create the raw schema and price tables if they do not exist (idempotent)."""
    warehouse.ensure_schema("raw")
    warehouse.execute(
        f"""create table if not exists {prices_table()} (
            ticker varchar not null,
            trade_date date not null,
            open double precision not null,
            high double precision not null,
            low double precision not null,
            close double precision not null,
            volume bigint not null,
            source varchar not null,
            loaded_at timestamp not null
        )"""
    )
    warehouse.execute(
        f"""create table if not exists {rejected_table()} (
            ticker varchar,
            trade_date date,
            open double precision,
            high double precision,
            low double precision,
            close double precision,
            volume bigint,
            source_line bigint not null,
            reason varchar not null,
            source_file varchar not null,
            loaded_at timestamp not null
        )"""
    )

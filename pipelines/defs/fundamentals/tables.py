"""DDL of the raw SEC tables (valid on DuckDB and PostgreSQL).

``<prefix>raw.sec_facts`` — one row per distinct XBRL fact (unique ``cik, taxonomy, concept,
unit, period_start, period_end, accn``): ``cik`` (10-digit zero-padded text), ``taxonomy``,
``concept``, ``unit``, ``period_start`` (date, NULL for instant facts), ``period_end`` (date),
``fy`` (fiscal year of the *filing*, nullable), ``fp`` (fiscal period of the filing, nullable),
``form``, ``filed`` (date the filing reached SEC), ``frame`` (SEC's calendar frame, nullable),
``accn`` (accession number), ``value`` (double precision, in ``unit``), ``source``
(``bundled:<file>`` or ``sec:<url>``), ``loaded_at`` (UTC), ``ticker`` (the CIK's ticker in
the warehouse spelling, ``BRK.B``; for a CIK with several share classes the alphabetically first,
e.g. ``GOOG`` for Alphabet: all of them are in ``raw.sec_company_tickers``; NULL when SEC's map
has none).

``<prefix>raw.rejected_sec_facts`` — quarantined facts: ``cik``, ``taxonomy``, ``concept``,
``unit``, ``period_start``, ``period_end``, ``accn``, ``value`` (NULL where unparseable),
``fact_json`` (the fact exactly as SEC sent it), ``reason`` (``unparseable: ...`` or
``conflicting_values: ...``), ``source``, ``loaded_at``.

``<prefix>raw.sec_company_tickers`` — SEC's ticker map, one row per ticker: ``cik``, ``ticker``
(SEC spelling: ``BRK-B``), ``title``, ``source``, ``loaded_at``.

On PostgreSQL the two fact tables get an index on ``cik`` (each CIK is replaced on its own).
"""

from __future__ import annotations

from domain.warehouse import Warehouse


def facts_table(warehouse: Warehouse) -> str:
    """Qualified name of the loaded facts table."""
    return warehouse.table("raw", "sec_facts")


def rejected_facts_table(warehouse: Warehouse) -> str:
    """Qualified name of the quarantined facts table."""
    return warehouse.table("raw", "rejected_sec_facts")


def tickers_table(warehouse: Warehouse) -> str:
    """Qualified name of the ticker map."""
    return warehouse.table("raw", "sec_company_tickers")


def ensure_sec_tables(warehouse: Warehouse) -> None:
    """Create the raw schema and the three SEC tables if missing (idempotent)."""
    warehouse.ensure_schema("raw")
    warehouse.execute(
        f"""create table if not exists {facts_table(warehouse)} (
            cik varchar not null,
            taxonomy varchar not null,
            concept varchar not null,
            unit varchar not null,
            period_start date,
            period_end date not null,
            fy integer,
            fp varchar,
            form varchar not null,
            filed date not null,
            frame varchar,
            accn varchar not null,
            value double precision not null,
            source varchar not null,
            loaded_at timestamp not null,
            ticker varchar
        )"""
    )
    # tables created before the ticker column existed
    warehouse.execute(f"alter table {facts_table(warehouse)} add column if not exists ticker varchar")
    warehouse.execute(
        f"""create table if not exists {rejected_facts_table(warehouse)} (
            cik varchar not null,
            taxonomy varchar,
            concept varchar,
            unit varchar,
            period_start date,
            period_end date,
            accn varchar,
            value double precision,
            fact_json varchar not null,
            reason varchar not null,
            source varchar not null,
            loaded_at timestamp not null
        )"""
    )
    warehouse.execute(
        f"""create table if not exists {tickers_table(warehouse)} (
            cik varchar not null,
            ticker varchar not null,
            title varchar not null,
            source varchar not null,
            loaded_at timestamp not null
        )"""
    )
    if warehouse.backend == "postgres":
        warehouse.execute(f"create index if not exists sec_facts_cik_idx on {facts_table(warehouse)} (cik)")
        warehouse.execute(f"create index if not exists rejected_sec_facts_cik_idx on {rejected_facts_table(warehouse)} (cik)")

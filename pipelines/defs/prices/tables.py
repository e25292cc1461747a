"""DDL of the raw price tables (the warehouse contract for later issues and BI).

``<prefix>raw.prices_daily`` — one row per (ticker, trade_date) that passed validation, for
every market: ``ticker`` (unique across markets: US symbols, 6-character KRX codes),
``market`` (``US``, ``KOSPI``, ``KOSDAQ``: a market of the markets seed), ``trade_date`` (session
date on the market's calendar), ``open/high/low/close`` (the market's currency, USD or KRW, as
the vendor sent them: split-adjusted as of ``split_basis_date``, not dividend-adjusted),
``volume`` (shares; the US file's split-adjusted likewise, the KRX file's not), ``is_halted``
(a trading-halt row: open = high = low = 0, volume 0, close = the previous close; not a price
bar, left out of the bars by dbt), ``adj_close`` (USD: the vendor's split- and
dividend-adjusted close; Yahoo rows only, NULL for the CSV), ``split_basis_date`` (the day as
of which the vendor had applied splits: the CSV's last trade date, 2018-02-07 for the bundled
file; for Yahoo the exchange date of the response's last trade; NULL only in rows loaded before
the column existed), ``source`` (``csv:<file name>`` or ``yahoo:chart``), ``loaded_at`` (UTC
timestamp of the load). Adjusted prices are derived in dbt (``int_prices_daily_adjusted``).

``<prefix>raw.rejected_prices`` — quarantined input rows: the parsed row (``ticker``,
``market``, ``trade_date``, prices, ``volume``; NULL where the field was empty), ``price_feed``
(``us``, ``krx``: the feed whose run owns the row), ``source_line``
(1-based line in the file, or position in the Yahoo response), ``reason`` (failed rule names
joined by ``"; "``, see :mod:`pipelines.defs.prices.validation`), ``source_file`` (the CSV
path, or the raw-store key of the Yahoo response), ``loaded_at``.

``<prefix>raw.price_load_reconciliation`` — one row per price run and category of source row
and feed (see :mod:`pipelines.defs.prices.reconciliation`): ``run_id`` (Dagster run),
``price_feed`` (``us``, ``krx``), ``source`` (file path or Yahoo window), ``window_start``/``window_end`` (the run's ``[first, end)``, calendar
days), ``category``, ``row_count``, ``reason`` (what happened to those rows),
``recorded_at`` (UTC). The categories of a run add up to its source's rows.

``<prefix>raw.corporate_actions`` — one row per (ticker, ex_date, action_type) from the stored
Yahoo chart responses (empty when none are stored, e.g. the bundled build): ``action_type``
``split`` (``split_numerator`` new shares for ``split_denominator`` old ones, e.g. 4 and 1) or
``dividend`` (``cash_amount``, USD per share, split-adjusted as of ``split_basis_date``);
``split_basis_date``, ``source`` (``yahoo:chart``), ``source_file`` (raw-store key),
``loaded_at``.

The DDL is valid on DuckDB and PostgreSQL alike; columns added after a table was first created
are added by :func:`ensure_price_tables` (``alter table ... add column if not exists``; rows
stored before ``market`` / ``price_feed`` existed are US rows and get ``US`` / ``us``).
"""

from __future__ import annotations

from domain.warehouse import Warehouse


def prices_table(warehouse: Warehouse) -> str:
    """Qualified name of the loaded prices table."""
    return warehouse.table("raw", "prices_daily")


def rejected_table(warehouse: Warehouse) -> str:
    """Qualified name of the quarantine table."""
    return warehouse.table("raw", "rejected_prices")


def reconciliation_table(warehouse: Warehouse) -> str:
    """Qualified name of the per-run row accounting table."""
    return warehouse.table("raw", "price_load_reconciliation")


def corporate_actions_table(warehouse: Warehouse) -> str:
    """Qualified name of the splits and dividends table."""
    return warehouse.table("raw", "corporate_actions")


def ensure_price_tables(warehouse: Warehouse) -> None:
    """Create the raw schema and price tables if they do not exist, and add the columns of
    later versions to existing ones (idempotent)."""
    warehouse.ensure_schema("raw")
    warehouse.execute(
        f"""create table if not exists {prices_table(warehouse)} (
            ticker varchar not null,
            trade_date date not null,
            open double precision not null,
            high double precision not null,
            low double precision not null,
            close double precision not null,
            volume bigint not null,
            source varchar not null,
            loaded_at timestamp not null,
            adj_close double precision,
            split_basis_date date
        )"""
    )
    prices = prices_table(warehouse)
    for column, sql_type in (("adj_close", "double precision"), ("split_basis_date", "date"),
                             ("market", "varchar"), ("is_halted", "boolean")):  # fmt: skip
        warehouse.execute(f"alter table {prices} add column if not exists {column} {sql_type}")
    warehouse.execute(f"update {prices} set market = 'US' where market is null")
    warehouse.execute(f"update {prices} set is_halted = false where is_halted is null")
    warehouse.execute(
        f"""create table if not exists {rejected_table(warehouse)} (
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
    for column in ("market", "price_feed"):
        warehouse.execute(f"alter table {rejected_table(warehouse)} add column if not exists {column} varchar")
    warehouse.execute(f"update {rejected_table(warehouse)} set price_feed = 'us' where price_feed is null")
    warehouse.execute(
        f"""create table if not exists {reconciliation_table(warehouse)} (
            run_id varchar not null,
            source varchar not null,
            window_start date not null,
            window_end date not null,
            category varchar not null,
            row_count bigint not null,
            reason varchar not null,
            recorded_at timestamp not null
        )"""
    )
    warehouse.execute(f"alter table {reconciliation_table(warehouse)} add column if not exists price_feed varchar")
    warehouse.execute(f"update {reconciliation_table(warehouse)} set price_feed = 'us' where price_feed is null")


def ensure_corporate_actions_table(warehouse: Warehouse) -> None:
    """Create ``raw.corporate_actions`` if it does not exist (idempotent)."""
    warehouse.ensure_schema("raw")
    warehouse.execute(
        f"""create table if not exists {corporate_actions_table(warehouse)} (
            ticker varchar not null,
            ex_date date not null,
            action_type varchar not null,
            split_numerator double precision,
            split_denominator double precision,
            cash_amount double precision,
            split_basis_date date not null,
            source varchar not null,
            source_file varchar not null,
            loaded_at timestamp not null
        )"""
    )

"""The raw Korean reference tables and their quarantine tables (DDL valid on DuckDB and PostgreSQL).

``<prefix>raw.market_indices`` — one row per (index_code, trade_date): ``index_code`` (``KS11``
KOSPI, ``KQ11`` KOSDAQ, ``KS200`` KOSPI 200), ``trade_date`` (the exchange's date), ``open``,
``high``, ``low`` (index points; NULL where not published), ``close`` (index points),
``volume`` (shares traded in the constituents), ``amount`` (their trading value, KRW),
``market_cap`` (the constituents' market capitalisation, KRW; NULL where not published).

``<prefix>raw.krx_listing`` — one row per ticker of the KRX listing file (2022-05-16 for the
bundled one): ``ticker`` (6-character KRX short code, text: ``005930``), ``company_name`` (as
published, Korean, e.g. ``삼성전자``), ``market`` (``KOSPI``, ``KOSDAQ``, ``KONEX``).

``<prefix>raw.krx_industry`` — one row per ticker of the KRX industry file (2026-03-22 for the
bundled one): ``ticker``, ``company_name``, ``market`` (``KOSPI``, ``KOSDAQ``, ``KOSDAQ GLOBAL``,
``KONEX``: as of that file), ``kosdaq_division`` (KOSDAQ's division, e.g. ``우량기업부``; NULL on
KOSPI), ``industry`` (KSIC industry name, Korean), ``products``, ``listing_date``,
``fiscal_year_end_month`` (1..12), ``home_page``, ``region``.

All three carry ``source_file`` (the file's name) and ``loaded_at`` (UTC). Their quarantine
tables ``raw.rejected_market_indices``, ``raw.rejected_krx_listing`` and
``raw.rejected_krx_industry`` hold every row the row suite rejected: the parsed row (NULL where
the field was empty), ``source_line`` (1-based line of the file, header = 1), ``reason`` (failed
rules joined by ``"; "``, see :mod:`pipelines.defs.markets.validation`), ``source_file``,
``loaded_at``.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.warehouse import Warehouse


@dataclass(frozen=True)
class RawTable:
    """A loaded table and its quarantine table: ``name`` in the raw schema, ``columns``
    ``(name, SQL type, required)`` of the data (``source_file`` and ``loaded_at`` follow)."""

    name: str
    columns: tuple[tuple[str, str, bool], ...]

    @property
    def rejected_name(self) -> str:
        return f"rejected_{self.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        """Data columns, then ``source_file``, ``loaded_at``."""
        return (*(c for c, _, _ in self.columns), "source_file", "loaded_at")

    @property
    def rejected_column_names(self) -> tuple[str, ...]:
        """``source_line``, the data columns, ``reason``, ``source_file``, ``loaded_at``."""
        return ("source_line", *(c for c, _, _ in self.columns), "reason", "source_file", "loaded_at")

    def ensure(self, warehouse: Warehouse) -> tuple[str, str]:
        """Create the raw schema and both tables if missing; their qualified names."""
        warehouse.ensure_schema("raw")
        loaded, rejected = warehouse.table("raw", self.name), warehouse.table("raw", self.rejected_name)
        fields = [f"{c} {t}{' not null' if required else ''}" for c, t, required in self.columns]
        tail = ["source_file varchar not null", "loaded_at timestamp not null"]
        warehouse.execute(f"create table if not exists {loaded} ({', '.join(fields + tail)})")
        quarantined = [
            "source_line bigint not null",
            *(f"{c} {t}" for c, t, _ in self.columns),
            "reason varchar not null",
        ]
        warehouse.execute(f"create table if not exists {rejected} ({', '.join(quarantined + tail)})")
        return loaded, rejected


MARKET_INDICES = RawTable(
    "market_indices",
    (
        ("index_code", "varchar", True), ("trade_date", "date", True), ("open", "double precision", False),
        ("high", "double precision", False), ("low", "double precision", False), ("close", "double precision", True),
        ("volume", "bigint", False), ("amount", "bigint", False), ("market_cap", "bigint", False),
    ),
)  # fmt: skip
KRX_LISTING = RawTable(
    "krx_listing", (("ticker", "varchar", True), ("company_name", "varchar", True), ("market", "varchar", True))
)
KRX_INDUSTRY = RawTable(
    "krx_industry",
    (
        ("ticker", "varchar", True), ("company_name", "varchar", True), ("market", "varchar", True),
        ("kosdaq_division", "varchar", False), ("industry", "varchar", False), ("products", "varchar", False),
        ("listing_date", "date", False), ("fiscal_year_end_month", "smallint", False), ("home_page", "varchar", False),
        ("region", "varchar", False),
    ),
)  # fmt: skip

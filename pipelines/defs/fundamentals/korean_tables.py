"""DDL of the raw Korean fundamentals tables (valid on DuckDB and PostgreSQL).

``<prefix>raw.dart_key_accounts`` — DART annual key accounts that passed the row suite
(:mod:`pipelines.defs.fundamentals.korean_validation`), one row per (``stock_code``,
``fiscal_year``): ``corp_name`` (Korean name), ``stock_code`` (6-character KRX code, text with
its leading zeros: ``005930``), ``market`` (``KOSPI``/``KOSDAQ``), ``corp_code`` (DART's 8-digit
company code), ``fiscal_year``, ``period_end`` (date: last day of the fiscal year), ``revenue``,
``operating_income``, ``net_income`` (consolidated, non-controlling interests included),
``net_income_owners`` (attributable to owners of the parent), ``total_equity`` (non-controlling
interests included), ``total_assets`` — all KRW (bigint, NULL where the statement has no such
line) — ``eps_basic`` (basic EPS, KRW per share, as filed; NULL for many company-years),
``fs_label`` (statement kind as the export names it, ``('연결재무제표',)`` = consolidated),
``source_file`` (file name), ``source_line`` (1-based line, header = 1), ``loaded_at`` (UTC).

``<prefix>raw.rejected_dart_key_accounts`` — quarantined rows: the same columns (all nullable)
plus ``reason`` (failed rule names joined by ``"; "``).

``<prefix>raw.krx_vendor_valuation`` — KRX's own per-ticker ratios from stored portal responses,
one row per (``ticker``, ``trade_date``): ``company_name`` (KRX short name; NULL from screen
03502), ``close`` (KRW, the close KRX computed the ratios with), ``eps``, ``bps``, ``dps`` (KRW
per share), ``per``, ``pbr`` (ratios), ``dividend_yield_pct`` (PERCENT as KRX publishes it: 1.59
= 1.59 %), NULL where KRX sends ``-`` (no PER for a loss), ``screen`` (``MDCSTAT03501`` whole
market on one day, ``MDCSTAT03502`` one ticker by day), ``source_file`` (``raw/krx/<key>`` for
the raw store under ``RAW_RESPONSES_DIR``, ``sample/fixtures/krx/<file>`` for a bundled
recording), ``loaded_at``.

``<prefix>raw.rejected_krx_vendor_valuation`` — quarantined vendor rows: the same columns (all
nullable) plus ``reason``.
"""

from __future__ import annotations

from domain.warehouse import Warehouse

DART_VALUE_COLUMNS = (
    "corp_name", "stock_code", "market", "corp_code", "fiscal_year", "period_end", "revenue",
    "operating_income", "net_income", "net_income_owners", "total_equity", "total_assets", "eps_basic",
    "fs_label",
)  # fmt: skip
"""Columns of a DART row as read from the file (both tables), in file order."""

VENDOR_VALUE_COLUMNS = (
    "ticker", "trade_date", "company_name", "close", "eps", "per", "bps", "pbr", "dps", "dividend_yield_pct",
    "screen", "source_file",
)  # fmt: skip
"""Columns of a KRX vendor ratio row (both tables)."""

_DART_TYPES = {
    "corp_name": "varchar", "stock_code": "varchar", "market": "varchar", "corp_code": "varchar",
    "fiscal_year": "integer", "period_end": "date", "revenue": "bigint", "operating_income": "bigint",
    "net_income": "bigint", "net_income_owners": "bigint", "total_equity": "bigint", "total_assets": "bigint",
    "eps_basic": "bigint", "fs_label": "varchar",
}  # fmt: skip
_DART_KEYS = ("corp_name", "stock_code", "market", "corp_code", "fiscal_year", "period_end")
_VENDOR_TYPES = {
    "ticker": "varchar", "trade_date": "date", "company_name": "varchar", "close": "bigint",
    "eps": "double precision", "per": "double precision", "bps": "double precision", "pbr": "double precision",
    "dps": "double precision", "dividend_yield_pct": "double precision", "screen": "varchar",
    "source_file": "varchar",
}  # fmt: skip
_VENDOR_KEYS = ("ticker", "trade_date", "screen", "source_file")


def dart_accounts_table(warehouse: Warehouse) -> str:
    """Qualified name of the loaded DART accounts table."""
    return warehouse.table("raw", "dart_key_accounts")


def rejected_dart_accounts_table(warehouse: Warehouse) -> str:
    """Qualified name of the quarantined DART rows."""
    return warehouse.table("raw", "rejected_dart_key_accounts")


def vendor_valuation_table(warehouse: Warehouse) -> str:
    """Qualified name of the loaded KRX vendor ratios."""
    return warehouse.table("raw", "krx_vendor_valuation")


def rejected_vendor_valuation_table(warehouse: Warehouse) -> str:
    """Qualified name of the quarantined KRX vendor rows."""
    return warehouse.table("raw", "rejected_krx_vendor_valuation")


def _columns(types: dict[str, str], required: tuple[str, ...]) -> list[str]:
    return [f"{name} {sql_type}{' not null' if name in required else ''}" for name, sql_type in types.items()]


def ensure_dart_tables(warehouse: Warehouse) -> None:
    """Create the raw schema and both DART tables if missing (idempotent)."""
    warehouse.ensure_schema("raw")
    loaded = _columns(_DART_TYPES, _DART_KEYS) + [
        "source_file varchar not null", "source_line bigint not null", "loaded_at timestamp not null"]  # fmt: skip
    rejected = _columns(_DART_TYPES, ()) + [
        "reason varchar not null", "source_file varchar not null", "source_line bigint not null",
        "loaded_at timestamp not null"]  # fmt: skip
    warehouse.execute(f"create table if not exists {dart_accounts_table(warehouse)} ({', '.join(loaded)})")
    warehouse.execute(f"create table if not exists {rejected_dart_accounts_table(warehouse)} ({', '.join(rejected)})")


def ensure_vendor_valuation_tables(warehouse: Warehouse) -> None:
    """Create the raw schema and both KRX vendor ratio tables if missing (idempotent)."""
    warehouse.ensure_schema("raw")
    loaded = _columns(_VENDOR_TYPES, _VENDOR_KEYS) + ["loaded_at timestamp not null"]
    rejected = _columns(_VENDOR_TYPES, ("screen", "source_file")) + [
        "reason varchar not null", "loaded_at timestamp not null"]  # fmt: skip
    warehouse.execute(f"create table if not exists {vendor_valuation_table(warehouse)} ({', '.join(loaded)})")
    warehouse.execute(
        f"create table if not exists {rejected_vendor_valuation_table(warehouse)} ({', '.join(rejected)})"
    )

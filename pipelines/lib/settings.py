"""The one typed place where configuration is read from environment variables.

Every other module asks :func:`get_settings` instead of reading ``os.environ``.
Paths are resolved to absolute paths against the repository root, so the
pipelines, dbt (through ``WAREHOUSE_PATH`` in its profile) and the Streamlit app
agree on the same files whatever their working directory.

Environment variables (all optional):

``WAREHOUSE_PATH``
    DuckDB file the build writes (default ``data/warehouse.duckdb``).
``WAREHOUSE_SNAPSHOT_PATH``
    Read-only copy published after each completed build, read by the app
    (default: ``WAREHOUSE_PATH`` with ``.snapshot`` before the suffix, e.g.
    ``data/warehouse.snapshot.duckdb``).
``PRICES_CSV``
    Daily OHLCV CSV (``date,open,high,low,close,volume,Name``, optionally gzip)
    used instead of the bundled ``data/sample/sp500_all_stocks_5yr.csv.gz``.
``WAREHOUSE_URL``
    ``postgresql://user:password@host:port/dbname``: switches the whole product
    (pipelines, dbt, app) to that PostgreSQL database. Unset: the DuckDB file.
``WAREHOUSE_SCHEMA_PREFIX``
    Prefix of every warehouse schema (``raw``, ``staging``, ``intermediate``, ``marts``),
    e.g. ``dev_`` gives ``dev_marts`` (default: none).
``DBT_TARGET``
    dbt target name in ``dbt_project/profiles.yml`` (default ``duckdb``, or ``postgres``
    when ``WAREHOUSE_URL`` is set).
``PRICE_SOURCE``
    ``file`` (default: ``PRICES_CSV``) or ``yahoo`` (Yahoo Finance v8 chart API over HTTP).
``YAHOO_TICKERS``
    Comma-separated tickers fetched by the ``yahoo`` price source (default: the company table's
    tickers).
``FUNDAMENTALS_SOURCE``
    ``bundled`` (default: the SEC companyfacts files in ``data/sample/sec/``) or ``sec``
    (``data.sec.gov`` per CIK for the universe).
``SEC_USER_AGENT``
    ``User-Agent`` sent to the SEC (it asks for a name and a contact e-mail), e.g.
    ``"Example Research ops@example.com"``. Required when ``FUNDAMENTALS_SOURCE=sec``.
``NEWS_FEEDS``
    Comma-separated RSS/Atom feed URLs polled by the news asset (default: none; the bundled
    headline files are always ingested).
``NEWS_POLL_MINUTES``
    Interval of the sensor that polls ``NEWS_FEEDS`` (default 30 minutes; the sensor is
    switched on by default only when ``NEWS_FEEDS`` is set).
``RAW_RESPONSES_DIR``
    Where raw HTTP responses are kept, one folder per vendor (default ``data/raw``).
``PORTFOLIOS_DIR``
    Folder of portfolio transaction CSV files (default ``data/portfolios``), watched by a sensor.
``PORTFOLIO_BENCHMARK``
    Benchmark of every portfolio: ``EQUAL_WEIGHT`` (default: the equal-weighted index of the
    bundled universe, rebalanced daily) or a ticker of the universe (e.g. ``AAPL``).
``RISK_FREE_RATE``
    Annual risk-free rate as a fraction used by Sharpe and Sortino (default ``0``: no
    risk-free rate), e.g. ``0.02`` for 2 % a year.
``ALERT_RULES_FILE``
    YAML file of alert rules, also written by the app (default ``data/alerts/rules.yml``).
``ALERT_WEBHOOK_URL``
    URL that receives alert events as JSON by HTTP POST (channel ``webhook``; default: none).
``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_USER``, ``SMTP_PASSWORD``, ``SMTP_STARTTLS``
    SMTP server for the ``email`` channel (port default 587; ``SMTP_STARTTLS`` ``true``/``false``,
    default ``true``; user and password optional).
``ALERT_EMAIL_FROM``, ``ALERT_EMAIL_TO``
    Sender address and comma-separated recipients of alert e-mails.
``ALERT_RETRY_MINUTES``
    Minutes between delivery retries of notifications that failed (default 5).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"

BUNDLED_PRICES_CSV = SAMPLE_DIR / "sp500_all_stocks_5yr.csv.gz"
BUNDLED_CONSTITUENTS_CSV = SAMPLE_DIR / "constituents_2018-04-02.csv"
BUNDLED_FINANCIALS_CSV = SAMPLE_DIR / "constituents-financials_2018-02-08.csv"


def _path_from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    path = Path(value) if value else default
    return path if path.is_absolute() else (REPO_ROOT / path).resolve()


@dataclass(frozen=True)
class PostgresConnection:
    """Where the PostgreSQL warehouse is (parsed from ``WAREHOUSE_URL``)."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    @classmethod
    def from_url(cls, url: str) -> PostgresConnection:
        """Parse ``postgresql://user:password@host:port/dbname`` (any ``postgresql+driver`` scheme).

        Raises:
            ValueError: not a PostgreSQL URL, or no database name.
        """
        parts = urlsplit(url)
        if not parts.scheme.startswith(("postgresql", "postgres")):
            raise ValueError(f"WAREHOUSE_URL must be a postgresql:// URL, got scheme {parts.scheme!r}")
        dbname = unquote(parts.path.lstrip("/"))
        if not dbname:
            raise ValueError("WAREHOUSE_URL names no database (postgresql://user@host:port/DBNAME)")
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=dbname,
        )

    def conninfo(self) -> str:
        """libpq connection string for psycopg."""
        from psycopg.conninfo import make_conninfo

        return make_conninfo(
            host=self.host, port=self.port, user=self.user, dbname=self.dbname, password=self.password or None
        )


@dataclass(frozen=True)
class SmtpSettings:
    """SMTP server and addresses of the ``email`` alert channel (set when ``SMTP_HOST`` is)."""

    host: str
    port: int = 587
    user: str = ""
    password: str = ""
    starttls: bool = True
    sender: str = ""
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    """Resolved configuration (absolute paths)."""

    warehouse_path: Path
    snapshot_path: Path
    prices_csv: Path
    constituents_csv: Path
    financials_csv: Path
    dbt_project_dir: Path
    dbt_target: str
    postgres: PostgresConnection | None = None
    schema_prefix: str = ""
    price_source: Literal["file", "yahoo"] = "file"
    yahoo_tickers: tuple[str, ...] = ()
    fundamentals_source: Literal["bundled", "sec"] = "bundled"
    sec_user_agent: str = ""
    news_feeds: tuple[str, ...] = ()
    news_poll_minutes: int = 30
    raw_responses_dir: Path = REPO_ROOT / "data" / "raw"
    portfolios_dir: Path = REPO_ROOT / "data" / "portfolios"
    portfolio_benchmark: str = "EQUAL_WEIGHT"
    risk_free_rate: float = 0.0
    alert_rules_file: Path = REPO_ROOT / "data" / "alerts" / "rules.yml"
    alert_webhook_url: str = ""
    smtp: SmtpSettings | None = None
    alert_retry_minutes: int = 5

    @property
    def live_sources(self) -> bool:
        """True when any source fetches over HTTP (enables the feed-polling schedule)."""
        return self.price_source == "yahoo" or self.fundamentals_source == "sec" or bool(self.news_feeds)

    @property
    def backend(self) -> Literal["duckdb", "postgres"]:
        """Which warehouse the product uses."""
        return "postgres" if self.postgres else "duckdb"

    def schema(self, layer: str) -> str:
        """The schema name of a layer (``raw``, ``staging``, ``intermediate``, ``marts``, ``meta``)."""
        return f"{self.schema_prefix}{layer}"

    def dbt_env(self) -> dict[str, str]:
        """Environment variables the dbt profile reads."""
        env = {
            "WAREHOUSE_PATH": str(self.warehouse_path),
            "WAREHOUSE_SCHEMA_PREFIX": self.schema_prefix,
            "WAREHOUSE_DBT_TARGET": self.dbt_target,  # read by the dbt resource at run time
            "PORTFOLIO_BENCHMARK": self.portfolio_benchmark,
            "RISK_FREE_RATE": repr(self.risk_free_rate),
        }
        if self.postgres:
            env |= {
                "WAREHOUSE_PG_HOST": self.postgres.host,
                "WAREHOUSE_PG_PORT": str(self.postgres.port),
                "WAREHOUSE_PG_USER": self.postgres.user,
                "WAREHOUSE_PG_PASSWORD": self.postgres.password,
                "WAREHOUSE_PG_DBNAME": self.postgres.dbname,
            }
        return env


def load_settings() -> Settings:
    """Read the environment now (tests call this after ``monkeypatch.setenv``)."""
    warehouse = _path_from_env("WAREHOUSE_PATH", REPO_ROOT / "data" / "warehouse.duckdb")
    url = os.environ.get("WAREHOUSE_URL", "").strip()
    postgres = PostgresConnection.from_url(url) if url else None
    snapshot_default = warehouse.with_name(f"{warehouse.stem}.snapshot{warehouse.suffix or '.duckdb'}")
    return Settings(
        warehouse_path=warehouse,
        snapshot_path=_path_from_env("WAREHOUSE_SNAPSHOT_PATH", snapshot_default),
        prices_csv=_path_from_env("PRICES_CSV", BUNDLED_PRICES_CSV),
        constituents_csv=BUNDLED_CONSTITUENTS_CSV,
        financials_csv=BUNDLED_FINANCIALS_CSV,
        dbt_project_dir=DBT_PROJECT_DIR,
        dbt_target=os.environ.get("DBT_TARGET") or ("postgres" if postgres else "duckdb"),
        postgres=postgres,
        schema_prefix=os.environ.get("WAREHOUSE_SCHEMA_PREFIX", ""),
        price_source=_choice("PRICE_SOURCE", ("file", "yahoo")),
        yahoo_tickers=_csv_list("YAHOO_TICKERS", upper=True),
        fundamentals_source=_choice("FUNDAMENTALS_SOURCE", ("bundled", "sec")),
        sec_user_agent=os.environ.get("SEC_USER_AGENT", "").strip(),
        news_feeds=_csv_list("NEWS_FEEDS"),
        news_poll_minutes=_positive_int("NEWS_POLL_MINUTES", 30),
        raw_responses_dir=_path_from_env("RAW_RESPONSES_DIR", REPO_ROOT / "data" / "raw"),
        portfolios_dir=_path_from_env("PORTFOLIOS_DIR", REPO_ROOT / "data" / "portfolios"),
        portfolio_benchmark=(os.environ.get("PORTFOLIO_BENCHMARK", "").strip().upper() or "EQUAL_WEIGHT"),
        risk_free_rate=_fraction("RISK_FREE_RATE", 0.0),
        alert_rules_file=_path_from_env("ALERT_RULES_FILE", REPO_ROOT / "data" / "alerts" / "rules.yml"),
        alert_webhook_url=os.environ.get("ALERT_WEBHOOK_URL", "").strip(),
        smtp=_smtp_settings(),
        alert_retry_minutes=_positive_int("ALERT_RETRY_MINUTES", 5),
    )


def _fraction(name: str, default: float) -> float:
    """A number in [0, 1) from env var ``name`` (``default`` when unset or empty).

    Raises:
        ValueError: not a number in [0, 1) (names the variable).
    """
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a fraction such as 0.02 (2 %); got {value!r}") from None
    if not 0 <= number < 1:
        raise ValueError(f"{name} must be a fraction in [0, 1) such as 0.02 (2 %); got {value!r}")
    return number


def _smtp_settings() -> SmtpSettings | None:
    """The e-mail channel's settings, or None when ``SMTP_HOST`` is unset.

    Raises:
        ValueError: ``SMTP_STARTTLS`` is not true/false (names the variable).
    """
    host = os.environ.get("SMTP_HOST", "").strip()
    if not host:
        return None
    starttls = os.environ.get("SMTP_STARTTLS", "true").strip().lower()
    if starttls not in {"true", "false", "1", "0", "yes", "no"}:
        raise ValueError(f"SMTP_STARTTLS must be true or false; got {starttls!r}")
    return SmtpSettings(
        host=host,
        port=_positive_int("SMTP_PORT", 587),
        user=os.environ.get("SMTP_USER", "").strip(),
        password=os.environ.get("SMTP_PASSWORD", ""),
        starttls=starttls in {"true", "1", "yes"},
        sender=os.environ.get("ALERT_EMAIL_FROM", "").strip(),
        recipients=_csv_list("ALERT_EMAIL_TO"),
    )


def _choice(name: str, allowed: tuple[str, ...]):
    """An enumerated env var; the first allowed value is the default.

    Raises:
        ValueError: the value is not one of ``allowed`` (names the variable).
    """
    value = os.environ.get(name, "").strip().lower() or allowed[0]
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _positive_int(name: str, default: int) -> int:
    """A whole number >= 1 from env var ``name`` (``default`` when unset or empty).

    Raises:
        ValueError: not a whole number >= 1 (names the variable).
    """
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a whole number >= 1; got {value!r}")
    return int(value)


def _csv_list(name: str, *, upper: bool = False) -> tuple[str, ...]:
    items = [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]
    return tuple(item.upper() for item in items) if upper else tuple(items)


@cache
def get_settings() -> Settings:
    """Settings read once per process."""
    return load_settings()

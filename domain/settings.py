"""The product's configuration as one typed value (pydantic-settings).

:class:`Settings` is read from environment variables once, where a process starts (the Dagster
code location in ``pipelines/definitions.py``, the command-line build, the Streamlit app), and
then passed on as a value: Dagster resources get its fields (visible in the UI), dbt gets them
through its profile and ``--vars``, the app's reader gets the warehouse fields. No module reads or
writes ``os.environ`` for configuration. Tests build ``Settings(...)`` with the values they need.

Relative paths are resolved against the repository root, so the pipelines, dbt and the app agree
on the same files whatever their working directory.

Environment variables (all optional; the field name is the variable's name in lower case unless
said otherwise):

``WAREHOUSE_PATH``
    DuckDB file the build writes (default ``data/warehouse.duckdb``).
``WAREHOUSE_SNAPSHOT_PATH`` (field ``snapshot_path``)
    Read-only copy published after each completed build, read by the app (default:
    ``WAREHOUSE_PATH`` with ``.snapshot`` before the suffix).
``PRICES_CSV``
    Daily OHLCV CSV (``date,open,high,low,close,volume,Name``, optionally gzip), default the
    bundled ``data/sample/sp500_all_stocks_5yr.csv.gz``.
``KRX_PRICES_CSV``
    Korean daily OHLCV CSV (``date,open,high,low,close,volume,code,name,market``, KRW, optionally
    gzip; ``code`` the 6-character KRX code, ``market`` KOSPI or KOSDAQ), default the bundled
    ``data/sample/krx/krx_daily_ohlcv_20180102_20220516.csv.gz``.
``KRX_LISTING_CSV``
    KRX listing (``Symbol,Name,Market``), default the bundled 2022-05-16 listing.
``KRX_INDUSTRY_CSV``
    KRX listing with KSIC industry (``Code,Name,Market,Sector,Industry,ListingDate,...``),
    default the bundled 2026-03-22 file.
``KRX_INDEX_CSV``
    Daily KOSPI / KOSDAQ / KOSPI 200 series (``index_code,Date,Close,...``), default the bundled
    ``krx_index_daily_KS11_KQ11_KS200.csv.gz``.
``DART_ACCOUNTS_CSV``
    DART annual key accounts per company-year (KRW), default the bundled
    ``data/sample/dart/dart_key_accounts_annual.csv``.
``HISTORY_START``
    First day a price may be dated, ``YYYY-MM-DD`` (default 2013-02-08, the bundled file's first
    session; not before 1995-01-03). Earlier rows are quarantined with a reason.
``WAREHOUSE_URL``
    ``postgresql://user:password@host:port/dbname``: switches the whole product (pipelines, dbt,
    app) to that PostgreSQL database. Unset: the DuckDB file.
``APP_WAREHOUSE_URL``
    PostgreSQL: the app's own read-only connection, as the role ``app_reader``
    (``postgresql://app_reader:<APP_READER_PASSWORD>@host:port/dbname``). Unset: the app uses
    ``WAREHOUSE_URL``.
``WAREHOUSE_SCHEMA_PREFIX`` (field ``schema_prefix``)
    Prefix of every warehouse schema, e.g. ``dev_`` gives ``dev_marts`` (default: none).
``DUCKDB_MEMORY_LIMIT``
    DuckDB's ``memory_limit`` for the dbt models (default ``6GB``; DuckDB spills to disk
    beyond it): keeps a 25 M-row build under 8 GB of RAM.
``DBT_TARGET``
    dbt target of ``dbt_project/profiles.yml`` (default ``duckdb``, or ``postgres`` with
    ``WAREHOUSE_URL``).
``PRICE_SOURCE``
    ``file`` (default: ``PRICES_CSV``) or ``yahoo`` (Yahoo Finance v8 chart API over HTTP).
``PRICE_FEEDS``
    Comma-separated price feeds the build loads (default ``us,krx``): ``us`` (market US,
    ``PRICE_SOURCE``) and ``krx`` (KOSPI and KOSDAQ, ``KRX_PRICES_CSV``).
``YAHOO_TICKERS``
    Comma-separated tickers fetched by the ``yahoo`` price source (default: the company table's).
``FUNDAMENTALS_SOURCE``
    ``bundled`` (default: the SEC companyfacts files in ``data/sample/sec/``) or ``sec``
    (``data.sec.gov`` per CIK of the universe).
``SEC_USER_AGENT``
    ``User-Agent`` sent to the SEC (a name and a contact e-mail); required with
    ``FUNDAMENTALS_SOURCE=sec``.
``KRX_ID``, ``KRX_PW``
    Member login of KRX's data portal (``data.krx.co.kr``), which needs a member session since
    early 2026; required by the live KRX client (``pipelines/sources/krx.py``), unused otherwise
    (default: none).
``NEWS_FEEDS``
    Comma-separated RSS/Atom feed URLs polled by the news sensor (default: none).
``NEWS_POLL_MINUTES``
    Interval of the news feed polls, minutes (default 30).
``RAW_RESPONSES_DIR``
    Raw HTTP responses, one folder per vendor (default ``data/raw``).
``PORTFOLIOS_DIR``
    Folder of portfolio transaction CSV files (default ``data/portfolios``).
``PORTFOLIO_BENCHMARK``
    Empty (default): each portfolio against its market's benchmark (the markets seed: US
    ``EQUAL_WEIGHT``, KOSPI ``KS11``, KOSDAQ ``KQ11``); or ``EQUAL_WEIGHT`` (the equal-weighted
    index of each currency's universe, rebalanced daily), an index (``KS11``, ``KQ11``, ``KS200``)
    or a ticker, applied to the portfolios in its currency.
``RISK_FREE_RATE``
    Annual risk-free rate as a fraction in [0, 1) for Sharpe and Sortino (default 0).
``ALERT_RULES_FILE``
    YAML file of alert rules, also written by the app (default ``data/alerts/rules.yml``, not
    tracked by git). While it does not exist, the rules of its example beside it
    (``rules.example.yml``, tracked) are in force; the app copies the example on first use.
``STRATEGIES_DIR``
    Folder of backtest strategy files, ``*.yml`` (default ``data/strategies``, with the shipped
    examples; the app's Backtest page saves edited strategies there). See docs/backtests.md.
``ALERT_WEBHOOK_URL``
    URL that receives alert events as JSON by HTTP POST (default: none).
``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_USER``, ``SMTP_PASSWORD``, ``SMTP_STARTTLS``
    SMTP server of the ``email`` channel (port 587, STARTTLS on by default).
``ALERT_EMAIL_FROM``, ``ALERT_EMAIL_TO``
    Sender and comma-separated recipients of alert e-mails.
``ALERT_RETRY_MINUTES``
    Base of the delivery retry backoff, minutes (default 5).
``BI_READER_PASSWORD``, ``APP_READER_PASSWORD``
    PostgreSQL: passwords of the read-only roles ``bi_reader`` (BI tools: market data) and
    ``app_reader`` (the app: also portfolios and alerts) (default: none, for trust
    authentication). The build sends only their SCRAM-SHA-256 verifiers to the server.

Longer than ~300 lines only because every variable is documented here, once.

Invalid values raise :class:`pydantic.ValidationError` naming the variable, e.g.
``RISK_FREE_RATE: must be a fraction in [0, 1) such as 0.02 (2 %)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import (
    AliasChoices,
    Field,
    PositiveInt,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from domain.calendar import CALENDAR_START, HISTORY_START

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "data"
SAMPLE_DIR = DATA_DIR / "sample"
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"

BUNDLED_PRICES_CSV = SAMPLE_DIR / "sp500_all_stocks_5yr.csv.gz"
BUNDLED_CONSTITUENTS_CSV = SAMPLE_DIR / "constituents_2018-04-02.csv"
BUNDLED_FINANCIALS_CSV = SAMPLE_DIR / "constituents-financials_2018-02-08.csv"
BUNDLED_KRX_PRICES_CSV = SAMPLE_DIR / "krx" / "krx_daily_ohlcv_20180102_20220516.csv.gz"
BUNDLED_KRX_LISTING_CSV = SAMPLE_DIR / "krx" / "krx_listing_fdr_20220516.csv"
BUNDLED_KRX_INDUSTRY_CSV = SAMPLE_DIR / "krx" / "krx_listing_desc_sector_20260322.csv.gz"
BUNDLED_KRX_INDEX_CSV = SAMPLE_DIR / "krx" / "krx_index_daily_KS11_KQ11_KS200.csv.gz"
BUNDLED_DART_ACCOUNTS_CSV = SAMPLE_DIR / "dart" / "dart_key_accounts_annual.csv"

#: Schemas of the warehouse layers (each gets ``schema_prefix`` in front).
LAYERS = ("raw", "staging", "intermediate", "marts", "portfolios", "meta", "alerts")


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

    def url(self) -> str:
        """The ``postgresql://`` URL of this connection (with the password, if any)."""
        from urllib.parse import quote

        credentials = quote(self.user, safe="") + (f":{quote(self.password, safe='')}" if self.password else "")
        return f"postgresql://{credentials}@{self.host}:{self.port}/{quote(self.dbname, safe='')}"


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

    @classmethod
    def configured(cls, host: str, **fields: Any) -> SmtpSettings | None:
        """The channel's settings, or None when no ``host`` is set (no e-mail channel)."""
        return cls(host=host, **{**fields, "recipients": tuple(fields.get("recipients", ()))}) if host else None


CommaList = Annotated[tuple[str, ...], NoDecode]


def _resolve(path: Path) -> Path:
    path = Path(path).expanduser()
    return path if path.is_absolute() else (REPO_ROOT / path).resolve()


class Settings(BaseSettings):
    """Resolved configuration (absolute paths). Immutable and hashable: a value to pass on.

    Raises:
        pydantic.ValidationError: a variable has an invalid value (the error names it).
    """

    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", populate_by_name=True, env_ignore_empty=True, case_sensitive=False
    )

    warehouse_path: Path = Path("data/warehouse.duckdb")
    snapshot_path: Path | None = Field(default=None, validation_alias=AliasChoices("snapshot_path",
                                                                                  "WAREHOUSE_SNAPSHOT_PATH"))  # fmt: skip
    prices_csv: Path = BUNDLED_PRICES_CSV
    history_start: date = HISTORY_START
    constituents_csv: Path = BUNDLED_CONSTITUENTS_CSV
    financials_csv: Path = BUNDLED_FINANCIALS_CSV
    krx_prices_csv: Path = BUNDLED_KRX_PRICES_CSV
    krx_listing_csv: Path = BUNDLED_KRX_LISTING_CSV
    krx_industry_csv: Path = BUNDLED_KRX_INDUSTRY_CSV
    krx_index_csv: Path = BUNDLED_KRX_INDEX_CSV
    dart_accounts_csv: Path = BUNDLED_DART_ACCOUNTS_CSV
    dbt_project_dir: Path = DBT_PROJECT_DIR
    warehouse_url: SecretStr | None = None
    schema_prefix: str = Field(default="", validation_alias=AliasChoices("schema_prefix", "WAREHOUSE_SCHEMA_PREFIX"))
    dbt_target: str | None = None
    duckdb_memory_limit: str = "6GB"
    price_source: Literal["file", "yahoo"] = "file"
    price_feeds: CommaList = ("us", "krx")
    yahoo_tickers: CommaList = ()
    fundamentals_source: Literal["bundled", "sec"] = "bundled"
    sec_user_agent: str = ""
    krx_id: str = ""
    krx_pw: SecretStr = SecretStr("")
    news_feeds: CommaList = ()
    news_poll_minutes: PositiveInt = 30
    raw_responses_dir: Path = Path("data/raw")
    portfolios_dir: Path = Path("data/portfolios")
    portfolio_benchmark: str = ""
    risk_free_rate: float = 0.0
    alert_rules_file: Path = Path("data/alerts/rules.yml")
    strategies_dir: Path = Path("data/strategies")
    alert_webhook_url: str = ""
    smtp_host: str = ""
    smtp_port: PositiveInt = 587
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    bi_reader_password: SecretStr = SecretStr("")
    app_reader_password: SecretStr = SecretStr("")
    app_warehouse_url: SecretStr | None = None
    smtp_starttls: bool = True
    alert_email_from: str = ""
    alert_email_to: CommaList = ()
    alert_retry_minutes: PositiveInt = 5

    @field_validator("yahoo_tickers", "news_feeds", "alert_email_to", "price_feeds", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("yahoo_tickers")
    @classmethod
    def _upper_tickers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(item.upper() for item in value)

    @field_validator("price_source", "fundamentals_source", mode="before")
    @classmethod
    def _lower_choice(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("price_feeds")
    @classmethod
    def _price_feeds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        feeds = tuple(item.lower() for item in value)
        unknown = sorted(set(feeds) - {"us", "krx"})
        if unknown or not feeds:
            raise ValueError(f"PRICE_FEEDS must name one or more of us, krx; got {', '.join(value) or 'nothing'}")
        return feeds

    @field_validator("portfolio_benchmark", mode="before")
    @classmethod
    def _benchmark(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("sec_user_agent", "alert_webhook_url", "smtp_host", "smtp_user", "alert_email_from")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("history_start")
    @classmethod
    def _history_start(cls, value: date) -> date:
        if value < CALENDAR_START:
            raise ValueError(f"HISTORY_START must be on or after {CALENDAR_START} (the exchange calendar's start)")
        return value

    @field_validator("risk_free_rate")
    @classmethod
    def _fraction(cls, value: float) -> float:
        if not 0 <= value < 1:
            raise ValueError(f"must be a fraction in [0, 1) such as 0.02 (2 %); got {value!r}")
        return value

    @field_validator("warehouse_url", "app_warehouse_url")
    @classmethod
    def _url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        PostgresConnection.from_url(value.get_secret_value().strip())
        return SecretStr(value.get_secret_value().strip())

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        for name in ("warehouse_path", "prices_csv", "constituents_csv", "financials_csv", "dbt_project_dir",
                     "krx_prices_csv", "krx_listing_csv", "krx_industry_csv", "krx_index_csv", "dart_accounts_csv",
                     "raw_responses_dir", "portfolios_dir", "alert_rules_file", "strategies_dir"):  # fmt: skip
            object.__setattr__(self, name, _resolve(getattr(self, name)))
        warehouse = self.warehouse_path
        snapshot = self.snapshot_path or warehouse.with_name(f"{warehouse.stem}.snapshot{warehouse.suffix or '.duckdb'}")
        object.__setattr__(self, "snapshot_path", _resolve(snapshot))
        if self.dbt_target is None:
            object.__setattr__(self, "dbt_target", "postgres" if self.warehouse_url else "duckdb")
        return self

    # ------------------------------------------------------------------ derived values

    @property
    def postgres(self) -> PostgresConnection | None:
        """The PostgreSQL connection (``WAREHOUSE_URL``), or None for the DuckDB file."""
        if self.warehouse_url is None:
            return None
        return PostgresConnection.from_url(self.warehouse_url.get_secret_value())

    @property
    def app_postgres(self) -> PostgresConnection | None:
        """The app's PostgreSQL connection: ``APP_WAREHOUSE_URL`` (role ``app_reader``), else
        ``WAREHOUSE_URL``; None for the DuckDB snapshot."""
        if self.warehouse_url is None:
            return None
        return PostgresConnection.from_url((self.app_warehouse_url or self.warehouse_url).get_secret_value())

    @property
    def backend(self) -> Literal["duckdb", "postgres"]:
        """Which warehouse the product uses."""
        return "postgres" if self.warehouse_url is not None else "duckdb"

    @property
    def live_sources(self) -> bool:
        """True when any source fetches over HTTP."""
        return self.price_source == "yahoo" or self.fundamentals_source == "sec" or bool(self.news_feeds)

    @property
    def smtp(self) -> SmtpSettings | None:
        """The e-mail channel's settings, or None when ``SMTP_HOST`` is unset."""
        return SmtpSettings.configured(
            host=self.smtp_host,
            port=self.smtp_port,
            user=self.smtp_user,
            password=self.smtp_password.get_secret_value(),
            starttls=self.smtp_starttls,
            sender=self.alert_email_from,
            recipients=self.alert_email_to,
        )

    def schema(self, layer: str) -> str:
        """The schema name of a layer (``raw``, ``staging``, ``intermediate``, ``marts``, ``meta``,
        ``alerts``) with the prefix."""
        return f"{self.schema_prefix}{layer}"

    def with_values(self, **values: Any) -> Settings:
        """A copy with some fields replaced (validated again; reads no environment). Derived
        defaults follow the new values: ``snapshot_path`` the new ``warehouse_path`` and
        ``dbt_target`` the new ``warehouse_url``, unless they were set explicitly."""
        data = {name: getattr(self, name) for name in self.model_fields_set}
        data.update(values)
        return type(self).from_values(**data)

    @classmethod
    def environment_variables(cls) -> tuple[str, ...]:
        """Every environment variable :class:`Settings` reads (upper case), sorted."""
        names = set()
        for name, field in cls.model_fields.items():
            names.add(name.upper())
            names.update(str(choice).upper() for choice in getattr(field.validation_alias, "choices", ()))
        return tuple(sorted(names))

    @classmethod
    def from_values(cls, **values: Any) -> Settings:
        """Settings built from ``values`` only (defaults for the rest), ignoring the environment:
        what tests and tools use to get a known configuration."""
        return _ExplicitSettings(**values)


class _ExplicitSettings(Settings):
    """:class:`Settings` that read no environment variable (``from_values``)."""

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):  # fmt: skip
        return (init_settings,)

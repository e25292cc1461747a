"""The Dagster resources, declared once, with real fields (shown in the UI's resource pages).

:func:`build_resources` turns one :class:`~domain.settings.Settings` value into the resources the
assets, sensors and jobs ask for by name; tests build the resources they need directly with the
values they want (``WarehouseResource(duckdb_path=..., snapshot_path=...)``). Secrets
(``WAREHOUSE_URL``, ``SMTP_PASSWORD``) are bound as :class:`dagster.EnvVar` when they come from
the environment, so the UI shows the variable's name, not its value.

=====================  =============================================================================
resource key           what
=====================  =============================================================================
``warehouse``          :class:`WarehouseResource`: DuckDB file + snapshot, or PostgreSQL; schema prefix
``dbt``                :class:`DbtResource`: the dbt project, its target and the values dbt reads
                       (profile rendered from the fields, ``--vars``)
``raw_responses``      :class:`RawResponsesResource`: where raw HTTP responses are kept
``price_source``       :class:`PriceSourceResource`: the CSV file or Yahoo, and the Yahoo universe
``reference_data``     :class:`ReferenceDataResource`: constituents and vendor financials files
``fundamentals``       :class:`FundamentalsSourceResource`: bundled SEC files or ``data.sec.gov``
``news_feeds``         :class:`NewsFeedsResource`: RSS/Atom feeds and their polling interval
``portfolio_files``    :class:`PortfolioFilesResource`: the transaction files' folder
``alerts``             :class:`AlertsResource`: the rules file and the notification channels
=====================  =============================================================================

Longer than ~300 lines: every resource of the code location is declared here, once, with its
fields' descriptions (what the UI shows), next to the one function that builds them all.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import shutil
import stat
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import yaml
from dagster import ConfigurableResource, EnvVar
from dagster_dbt import DbtCliInvocation, DbtCliResource, DbtProject
from filelock import FileLock
from packaging import version
from pydantic import Field

from domain.settings import PostgresConnection, Settings, SmtpSettings
from domain.warehouse import Warehouse, connect, read_published
from domain.warehouse.sql import TableNames
from pipelines.lib.http import RawResponseStore

PROFILE_NAME = "stock_warehouse"


class WarehouseResource(ConfigurableResource):
    """The warehouse: the PostgreSQL database of ``postgres_url`` when set, else the DuckDB
    file ``duckdb_path`` whose published read-only copy is ``snapshot_path``."""

    duckdb_path: str = Field(description="DuckDB file the build writes (WAREHOUSE_PATH).")
    snapshot_path: str = Field(description="Read-only copy published after each build (WAREHOUSE_SNAPSHOT_PATH).")
    postgres_url: str | None = Field(
        default=None, description="postgresql://user:password@host:port/dbname (WAREHOUSE_URL); unset: DuckDB."
    )
    schema_prefix: str = Field(default="", description="Prefix of every schema (WAREHOUSE_SCHEMA_PREFIX).")
    duckdb_memory_limit: str = Field(default="", description="DUCKDB_MEMORY_LIMIT: DuckDB's memory_limit.")
    bi_reader_password: str = Field(
        default="", description="BI_READER_PASSWORD: password of the read-only bi_reader role (PostgreSQL)."
    )
    app_reader_password: str = Field(
        default="", description="APP_READER_PASSWORD: password of the app's read-only app_reader role (PostgreSQL)."
    )

    @property
    def postgres(self) -> PostgresConnection | None:
        """The PostgreSQL connection, or None for DuckDB."""
        return PostgresConnection.from_url(self.postgres_url) if self.postgres_url else None

    @property
    def backend(self) -> Literal["duckdb", "postgres"]:
        """``postgres`` or ``duckdb``."""
        return "postgres" if self.postgres_url else "duckdb"

    @property
    def names(self) -> TableNames:
        """Table names with this warehouse's schema prefix."""
        return TableNames(self.schema_prefix)

    def table(self, layer: str, name: str) -> str:
        """Qualified name of a warehouse table, e.g. ``t_marts.dim_companies``."""
        return self.names.table(layer, name)

    def schema(self, layer: str) -> str:
        """The schema name of ``layer`` with the prefix."""
        return self.names.schema(layer)

    @contextmanager
    def connect(self) -> Iterator[Warehouse]:
        """Yield an open read-write :class:`~domain.warehouse.Warehouse`; closed on exit."""
        with connect(
            duckdb_path=Path(self.duckdb_path),
            snapshot_path=Path(self.snapshot_path),
            postgres=self.postgres,
            schema_prefix=self.schema_prefix,
            duckdb_memory_limit=self.duckdb_memory_limit or None,
        ) as warehouse:
            yield warehouse

    @contextmanager
    def read_published(self) -> Iterator[Warehouse | None]:
        """A read-only view of the published warehouse (None before the first DuckDB snapshot)."""
        with read_published(
            snapshot_path=Path(self.snapshot_path), postgres=self.postgres, schema_prefix=self.schema_prefix
        ) as warehouse:
            yield warehouse


def dbt_executable() -> str:
    """The ``dbt`` next to this Python interpreter (the project venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


class DbtResource(ConfigurableResource):
    """The dbt project and every value dbt reads: the connection goes into a ``profiles.yml``
    rendered from these fields (in a private temporary folder), the model settings into
    ``--vars``. Nothing is passed through the environment."""

    project_dir: str = Field(description="The dbt project folder.")
    target: str = Field(default="duckdb", description="Output of the profile: duckdb or postgres (DBT_TARGET).")
    duckdb_path: str = Field(description="DuckDB file attached as the `warehouse` catalog (WAREHOUSE_PATH).")
    postgres_url: str | None = Field(default=None, description="PostgreSQL warehouse URL (WAREHOUSE_URL).")
    schema_prefix: str = Field(default="", description="Prefix of every schema (WAREHOUSE_SCHEMA_PREFIX).")
    portfolio_benchmark: str = Field(
        default="", description="PORTFOLIO_BENCHMARK: empty (each market's benchmark), EQUAL_WEIGHT, an index or a ticker."
    )
    risk_free_rate: float = Field(default=0.0, description="RISK_FREE_RATE: annual, fraction.")
    threads: int = Field(default=2, description="dbt threads.")
    duckdb_memory_limit: str = Field(
        default="6GB", description="DUCKDB_MEMORY_LIMIT: DuckDB's memory_limit in dbt (spills to disk beyond)."
    )

    def dbt_vars(self) -> dict[str, Any]:
        """The ``--vars`` every invocation gets (read by the models with ``var(...)``)."""
        return {
            "schema_prefix": self.schema_prefix,
            "portfolio_benchmark": self.portfolio_benchmark,
            "risk_free_rate": self.risk_free_rate,
        }

    def profile(self) -> dict[str, Any]:
        """The ``profiles.yml`` document for this configuration."""
        outputs: dict[str, Any] = {
            "duckdb": {
                "type": "duckdb",
                "path": ":memory:",
                "database": "warehouse",
                "attach": [{"path": self.duckdb_path, "alias": "warehouse"}],
                "threads": self.threads,
                "settings": {"memory_limit": self.duckdb_memory_limit},
            }
        }
        if self.postgres_url:
            pg = PostgresConnection.from_url(self.postgres_url)
            outputs["postgres"] = {
                "type": "postgres",
                "host": pg.host,
                "port": pg.port,
                "user": pg.user,
                "password": pg.password,
                "dbname": pg.dbname,
                "schema": f"{self.schema_prefix}public",
                "threads": self.threads,
            }
        return {PROFILE_NAME: {"target": self.target, "outputs": outputs}}

    def profiles_dir(self) -> Path:
        """A private folder (mode 0700, per configuration) holding the rendered ``profiles.yml``."""
        text = yaml.safe_dump(self.profile(), sort_keys=True)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        folder = Path(tempfile.gettempdir()) / f"stock-warehouse-dbt-{os.getuid()}-{digest}"
        profile = folder / "profiles.yml"
        if not profile.exists() or profile.read_text() != text:
            folder.mkdir(mode=stat.S_IRWXU, exist_ok=True)
            os.chmod(folder, stat.S_IRWXU)
            partial = folder / f".profiles.{os.getpid()}.tmp"
            partial.write_text(text)
            os.chmod(partial, stat.S_IRUSR | stat.S_IWUSR)
            os.replace(partial, profile)
        return folder

    def project(self) -> DbtProject:
        """The :class:`DbtProject` with this target, rendered profile and this process's target
        folder (:func:`dbt_target_path`)."""
        return DbtProject(
            project_dir=self.project_dir, profiles_dir=self.profiles_dir(), target=self.target,
            target_path=dbt_target_path(),
        )  # fmt: skip

    def _cli_resource(self) -> DbtCliResource:
        return _cli_resource(self.project_dir, str(self.profiles_dir()), self.target)

    def cli(self, args: Sequence[str], *, context: Any = None, **kwargs: Any) -> DbtCliInvocation:
        """Run ``dbt <args>`` with this configuration (``context``: the dbt assets' execution
        context, which selects the models of the run)."""
        full = [*args, "--vars", json.dumps(self.dbt_vars(), sort_keys=True)]
        return self._cli_resource().cli(full, context=context, **kwargs)

    def parse(self) -> None:
        """``dbt parse`` into the project's target folder (:func:`dbt_target_path`) with the same
        profile and vars as the build, so ``dbt build`` can reuse the parse (dbt re-parses
        everything when they change). Holds the folder's parse lock (:func:`parse_lock`) while
        it parses and records what it parsed with.

        Raises:
            filelock.Timeout: another process held the lock for :data:`PARSE_LOCK_TIMEOUT` s.
            DbtCliInvocation's error: the parse failed (the folder keeps its previous files).
        """
        project = self.project()
        target = project_target_dir(project)
        with parse_lock(target):
            parse_atomically(lambda scratch: self.cli(["parse", "--quiet"], target_path=scratch), target)
            stamp = self._parse_stamp(project)
            partial = stamp.with_name(f".{stamp.name}.{os.getpid()}.tmp")
            partial.write_text(self._parse_inputs())
            os.replace(partial, stamp)

    def parse_if_needed(self) -> bool:
        """:meth:`parse` unless the manifest and the partial-parse state are newer than every
        project file and were parsed with this configuration's profile and vars (about 9 s saved
        per build); True if it parsed. Checked again under the parse lock, so of two processes
        that find the parse stale at once, only the first parses."""
        project = self.project()
        if self._parse_is_fresh(project):
            return False
        with parse_lock(project_target_dir(project)):
            if self._parse_is_fresh(project):
                return False
            self.parse()
        return True

    def parse_is_current(self) -> bool:
        """Whether :meth:`parse_if_needed` would skip the parse now (no project file newer than the
        last parse, made with this profile and vars)."""
        return self._parse_is_fresh(self.project())

    def _parse_is_fresh(self, project: DbtProject) -> bool:
        stamp = self._parse_stamp(project)
        partial = project_target_dir(project) / "partial_parse.msgpack"
        return (
            not manifest_is_stale(project)
            and not artifact_is_stale(partial, Path(project.project_dir))
            and stamp.exists()
            and stamp.read_text() == self._parse_inputs()
        )

    def _parse_inputs(self) -> str:
        """What the last parse was made with: this configuration, and the partial-parse file it
        left (another dbt invocation writing ``target/`` changes it and forces a new parse)."""
        profile = hashlib.sha256(yaml.safe_dump(self.profile(), sort_keys=True).encode()).hexdigest()
        partial = project_target_dir(self.project()) / "partial_parse.msgpack"
        written = partial.stat().st_mtime_ns if partial.exists() else None
        return json.dumps(
            {"vars": self.dbt_vars(), "target": self.target, "profile_sha256": profile, "partial_parse": written},
            sort_keys=True,
        )

    @staticmethod
    def _parse_stamp(project: DbtProject) -> Path:
        return project_target_dir(project) / "parse_inputs.json"


def dbt_target_path() -> str:
    """The dbt target folder of this process: ``DBT_TARGET_PATH`` (the variable dbt itself and
    dagster-dbt read for it: relative to the dbt project folder, or absolute), else ``target``.

    Every parse of the project writes there, and each ``dbt build`` of a run gets a folder of its
    own inside it (``dbt_models-<run>-<id>``) that starts from its ``partial_parse.msgpack``.
    Processes that must not share parse artifacts set different values: ``make demo``/``make
    serve`` use ``target/serve`` (see the Makefile), so a test suite or ``make build`` running
    beside the demo never replaces the manifest the served code location and its runs read.
    """
    return os.environ.get("DBT_TARGET_PATH", "").strip() or "target"


def project_target_dir(project: DbtProject) -> Path:
    """The absolute target folder of ``project`` (its ``target_path`` inside its folder)."""
    return Path(project.project_dir) / project.target_path


#: Seconds a process waits for another one's dbt parse of the same target folder (a cold parse
#: takes 10-30 s on two busy cores).
PARSE_LOCK_TIMEOUT = 600.0


@functools.cache
def _parse_file_lock(path: str) -> FileLock:
    # one lock object per lock file and process: re-entrant, so parse() may run under
    # parse_if_needed()'s lock
    return FileLock(path, timeout=PARSE_LOCK_TIMEOUT)


def parse_lock(target_dir: Path) -> FileLock:
    """The inter-process lock of ``target_dir``'s parse artifacts (``with parse_lock(dir): ...``):
    a file in the temporary folder named after the folder's absolute path (not inside it: the
    target folder stays dbt's own). Re-entrant within a process.

    Raises (on entering):
        filelock.Timeout: another process held it for :data:`PARSE_LOCK_TIMEOUT` s.
    """
    digest = hashlib.sha256(str(target_dir.resolve()).encode()).hexdigest()[:16]
    return _parse_file_lock(str(Path(tempfile.gettempdir()) / f"stock-warehouse-dbt-parse-{os.getuid()}-{digest}.lock"))


#: What ``dbt parse`` leaves in ``target/`` for later runs: the manifest the Dagster definitions
#: are built from and the partial-parse state each ``dbt build`` starts from.
PARSE_ARTIFACTS = ("partial_parse.msgpack", "semantic_manifest.json", "manifest.json")

#: What the code location's own parse publishes: the manifest only. Its partial-parse state
#: (checked-in profile, no ``--vars``) would make the next ``dbt build`` re-parse everything.
DEFINITION_ARTIFACTS = ("semantic_manifest.json", "manifest.json")


def parse_atomically(
    run_parse: Callable[[Path], DbtCliInvocation], target_dir: Path, artifacts: Sequence[str] = PARSE_ARTIFACTS
) -> None:
    """Run ``dbt parse`` (``run_parse(scratch)`` starts it with ``scratch`` as its target path)
    into a folder of its own inside ``target_dir``, then move its ``artifacts`` (default
    :data:`PARSE_ARTIFACTS`) into ``target_dir`` with ``os.replace``: another process loading
    the code location (a test worker, the Dagster code server) reads the previous manifest or
    the new one, never a half-written file. Holds ``target_dir``'s :func:`parse_lock`, so two
    processes never parse into it at once. The published files are dated when the parse
    started, so a project file edited during the parse makes them stale.

    Raises:
        filelock.Timeout: another process held the lock for :data:`PARSE_LOCK_TIMEOUT` s.
        DbtCliInvocation's error: the parse failed (``target_dir`` keeps its previous artifacts).
    """
    target_dir.mkdir(parents=True, exist_ok=True)
    with parse_lock(target_dir):
        scratch = target_dir / f"parse-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        started = time.time_ns()
        try:
            run_parse(scratch).wait()
            for name in artifacts:
                if (scratch / name).exists():
                    os.utime(scratch / name, ns=(started, started))
                    os.replace(scratch / name, target_dir / name)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def parse_if_stale(
    project: DbtProject, run_parse: Callable[[Path], DbtCliInvocation], artifacts: Sequence[str] = PARSE_ARTIFACTS
) -> bool:
    """:func:`parse_atomically` into ``project``'s target folder when its manifest is stale
    (:func:`manifest_is_stale`), checked again under the folder's :func:`parse_lock`: of two
    processes loading the code location at once, the second waits and reuses the first one's
    manifest. A fresh manifest costs a look at the project files' dates, no parse. True if it
    parsed.

    Raises:
        filelock.Timeout: another process held the lock for :data:`PARSE_LOCK_TIMEOUT` s.
        DbtCliInvocation's error: the parse failed.
    """
    if not manifest_is_stale(project):
        return False
    target = project_target_dir(project)
    target.mkdir(parents=True, exist_ok=True)
    with parse_lock(target):
        if not manifest_is_stale(project):
            return False
        parse_atomically(run_parse, target, artifacts)
    return True


#: Folders of a dbt project whose files the manifest is parsed from.
DBT_SOURCE_FOLDERS = ("models", "macros", "seeds", "tests")
#: Files of the project folder itself the parse reads.
DBT_SOURCE_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml", "dependencies.yml")


def artifact_is_stale(artifact: Path, project_dir: Path) -> bool:
    """``artifact`` does not exist, or a model, macro, seed, test, ``dbt_project.yml`` or
    ``profiles.yml`` of ``project_dir`` was modified after it."""
    if not artifact.exists():
        return True
    built = artifact.stat().st_mtime_ns
    files = [project_dir / name for name in DBT_SOURCE_FILES if (project_dir / name).exists()]
    files += [f for name in DBT_SOURCE_FOLDERS for f in (project_dir / name).rglob("*") if f.is_file()]
    return any(path.stat().st_mtime_ns > built for path in files)


def manifest_is_stale(project: DbtProject) -> bool:
    """No manifest yet in ``project``'s target folder, or a project file (see
    :func:`artifact_is_stale`) changed after it."""
    return artifact_is_stale(project.manifest_path, Path(project.project_dir))


class InstalledDbtCliResource(DbtCliResource):
    """``DbtCliResource`` for the dbt-core installed in this environment, without the two
    in-process steps dagster-dbt takes before each invocation and this project never uses:
    running ``dbt --version`` (about 2 s: the version is read from the installed package
    metadata instead, the executable being this environment's ``dbt``, see
    :func:`dbt_executable`) and loading the dbt project, profile and adapter into the Dagster
    process (about 3 s of imports; dagster-dbt needs that adapter only for its
    ``fetch_row_counts``/``fetch_column_metadata``, while the row counts here are read after
    dbt finished, see :mod:`pipelines.defs.dbt.assets`)."""

    @functools.cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


@functools.cache
def _cli_resource(project_dir: str, profiles_dir: str, target: str) -> DbtCliResource:
    """One dbt CLI resource per configuration and process (see :class:`InstalledDbtCliResource`)."""
    return InstalledDbtCliResource(project_dir=project_dir, profiles_dir=profiles_dir, target=target,
                                   dbt_executable=dbt_executable())  # fmt: skip


class RawResponsesResource(ConfigurableResource):
    """Where raw HTTP responses are kept, one folder per vendor (reused by reruns)."""

    directory: str = Field(description="RAW_RESPONSES_DIR")

    def store(self, vendor: str) -> RawResponseStore:
        """The store of one vendor (``yahoo``, ``sec``, ``rss``)."""
        return RawResponseStore(Path(self.directory), vendor)


class PriceSourceResource(ConfigurableResource):
    """Where daily prices come from: the CSV file (default) or Yahoo's chart API."""

    source: Literal["file", "yahoo"] = Field(default="file", description="PRICE_SOURCE")
    feeds: list[str] = Field(default_factory=lambda: ["us", "krx"], description="PRICE_FEEDS: the price feeds a build loads.")
    prices_csv: str = Field(description="PRICES_CSV: daily OHLCV file (date,open,high,low,close,volume,Name).")
    history_start: str = Field(description="HISTORY_START: first day a price may be dated (YYYY-MM-DD).")
    yahoo_tickers: list[str] = Field(default_factory=list, description="YAHOO_TICKERS (empty: the company table).")
    constituents_csv: str = Field(description="Constituents file: the Yahoo universe before raw.companies is loaded.")


class ReferenceDataResource(ConfigurableResource):
    """The company reference files (constituents with GICS sectors, vendor financials snapshot)."""

    constituents_csv: str = Field(description="Constituents file (Symbol,Name,Sector).")
    financials_csv: str = Field(description="Vendor financials snapshot file.")


class KoreanMarketFilesResource(ConfigurableResource):
    """The Korean market's files (KRX prices, listing, industry, indices; DART annual accounts)."""

    prices_csv: str = Field(description="KRX_PRICES_CSV: daily OHLCV (date,open,high,low,close,volume,code,name,market).")
    listing_csv: str = Field(description="KRX_LISTING_CSV: listing (Symbol,Name,Market).")
    industry_csv: str = Field(description="KRX_INDUSTRY_CSV: listing with KSIC industry (Code,Name,Market,Sector,Industry,...).")
    index_csv: str = Field(description="KRX_INDEX_CSV: daily index series (index_code,Date,Close,...).")
    dart_accounts_csv: str = Field(description="DART_ACCOUNTS_CSV: DART annual key accounts per company-year.")


class FundamentalsSourceResource(ConfigurableResource):
    """Where SEC companyfacts come from: the bundled files or ``data.sec.gov``."""

    source: Literal["bundled", "sec"] = Field(default="bundled", description="FUNDAMENTALS_SOURCE")
    sec_user_agent: str = Field(default="", description="SEC_USER_AGENT: a name and a contact e-mail.")


class NewsFeedsResource(ConfigurableResource):
    """RSS/Atom feeds polled by the news sensor."""

    feeds: list[str] = Field(default_factory=list, description="NEWS_FEEDS")
    poll_minutes: int = Field(default=30, description="NEWS_POLL_MINUTES: interval between polls.")


class PortfolioFilesResource(ConfigurableResource):
    """The folder of portfolio transaction files (watched by a sensor, written by the app)."""

    directory: str = Field(description="PORTFOLIOS_DIR")

    @property
    def path(self) -> Path:
        """The folder as a path."""
        return Path(self.directory)


class StrategiesResource(ConfigurableResource):
    """The folder of backtest strategy files (``STRATEGIES_DIR``)."""

    folder: str = Field(description="STRATEGIES_DIR: the strategy files, *.yml")

    def strategy_files(self) -> dict[str, Path]:
        """Partition key (the file's stem) -> strategy file, for every ``*.yml`` of the folder
        (none when the folder does not exist), sorted by key."""
        root = Path(self.folder)
        return {path.stem: path for path in sorted(root.glob("*.yml"))} if root.is_dir() else {}


class AlertsResource(ConfigurableResource):
    """The alert rules file and the notification channels' settings."""

    rules_file: str = Field(description="ALERT_RULES_FILE")
    webhook_url: str = Field(default="", description="ALERT_WEBHOOK_URL")
    smtp_host: str = Field(default="", description="SMTP_HOST (empty: no e-mail channel)")
    smtp_port: int = Field(default=587, description="SMTP_PORT")
    smtp_user: str = Field(default="", description="SMTP_USER")
    smtp_password: str = Field(default="", description="SMTP_PASSWORD")
    smtp_starttls: bool = Field(default=True, description="SMTP_STARTTLS")
    email_from: str = Field(default="", description="ALERT_EMAIL_FROM")
    email_to: list[str] = Field(default_factory=list, description="ALERT_EMAIL_TO")
    retry_minutes: int = Field(default=5, description="ALERT_RETRY_MINUTES: base of the retry backoff.")

    @property
    def rules_path(self) -> Path:
        """The rules file as a path."""
        return Path(self.rules_file)

    @property
    def smtp(self) -> SmtpSettings | None:
        """The e-mail channel's settings, or None without ``SMTP_HOST``."""
        return SmtpSettings.configured(
            host=self.smtp_host,
            port=self.smtp_port,
            user=self.smtp_user,
            password=self.smtp_password,
            starttls=self.smtp_starttls,
            sender=self.email_from,
            recipients=self.email_to,
        )


def _secret(value: str | None, env_name: str, environ: dict[str, str]) -> Any:
    """``EnvVar(env_name)`` when the environment holds exactly this value, else the value."""
    if value and environ.get(env_name, "").strip() == value:
        return EnvVar(env_name)
    return value or None


def build_resources(settings: Settings, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Every resource, keyed by the names the assets, sensors and jobs ask for, from ``settings``.

    ``environ`` (default: this process's environment, read only) decides which secrets are bound
    as :class:`~dagster.EnvVar`.
    """
    environ = dict(os.environ) if environ is None else environ
    url = settings.warehouse_url.get_secret_value() if settings.warehouse_url else None
    postgres_url = _secret(url, "WAREHOUSE_URL", environ)
    return {
        "warehouse": WarehouseResource(
            duckdb_path=str(settings.warehouse_path),
            snapshot_path=str(settings.snapshot_path),
            postgres_url=postgres_url,
            schema_prefix=settings.schema_prefix,
            duckdb_memory_limit=settings.duckdb_memory_limit,
            bi_reader_password=_secret(settings.bi_reader_password.get_secret_value(), "BI_READER_PASSWORD", environ)
            or "",
            app_reader_password=_secret(settings.app_reader_password.get_secret_value(), "APP_READER_PASSWORD", environ)
            or "",
        ),
        "strategies": StrategiesResource(folder=str(settings.strategies_dir)),
        "dbt": DbtResource(
            project_dir=str(settings.dbt_project_dir),
            target=settings.dbt_target or "duckdb",
            duckdb_path=str(settings.warehouse_path),
            postgres_url=postgres_url,
            schema_prefix=settings.schema_prefix,
            portfolio_benchmark=settings.portfolio_benchmark,
            risk_free_rate=settings.risk_free_rate,
            duckdb_memory_limit=settings.duckdb_memory_limit,
        ),
        "raw_responses": RawResponsesResource(directory=str(settings.raw_responses_dir)),
        "price_source": PriceSourceResource(
            source=settings.price_source,
            feeds=list(settings.price_feeds),
            prices_csv=str(settings.prices_csv),
            history_start=settings.history_start.isoformat(),
            yahoo_tickers=list(settings.yahoo_tickers),
            constituents_csv=str(settings.constituents_csv),
        ),
        "reference_data": ReferenceDataResource(
            constituents_csv=str(settings.constituents_csv), financials_csv=str(settings.financials_csv)
        ),
        "krx_files": KoreanMarketFilesResource(
            prices_csv=str(settings.krx_prices_csv),
            listing_csv=str(settings.krx_listing_csv),
            industry_csv=str(settings.krx_industry_csv),
            index_csv=str(settings.krx_index_csv),
            dart_accounts_csv=str(settings.dart_accounts_csv),
        ),
        "fundamentals": FundamentalsSourceResource(
            source=settings.fundamentals_source, sec_user_agent=settings.sec_user_agent
        ),
        "news_feeds": NewsFeedsResource(feeds=list(settings.news_feeds), poll_minutes=settings.news_poll_minutes),
        "portfolio_files": PortfolioFilesResource(directory=str(settings.portfolios_dir)),
        "alerts": AlertsResource(
            rules_file=str(settings.alert_rules_file),
            webhook_url=settings.alert_webhook_url,
            smtp_host=settings.smtp_host,
            smtp_port=settings.smtp_port,
            smtp_user=settings.smtp_user,
            smtp_password=_secret(settings.smtp_password.get_secret_value(), "SMTP_PASSWORD", environ) or "",
            smtp_starttls=settings.smtp_starttls,
            email_from=settings.alert_email_from,
            email_to=list(settings.alert_email_to),
            retry_minutes=settings.alert_retry_minutes,
        ),
    }

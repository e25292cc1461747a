"""The pipelines on PostgreSQL: COPY loads per partition in one transaction (idempotent),
nothing written for a malformed file, and Dagster's own storage on dagster-postgres."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date

import psycopg
import pytest
import yaml
from dagster import DagsterInstance, materialize

from domain.settings import PostgresConnection, Settings
from pipelines.defs.companies.assets import companies
from tests.conftest import (
    REPO_ROOT,
    materialize_prices,
    postgres_settings,
    resources_for,
    scratch_database,
    test_settings,
)
from tests.data_files import sample_fixture

FIVE_TICKERS = sample_fixture("sp500_5tickers_2017-01_2018-02.csv")


@dataclass(frozen=True)
class ScratchDatabase:
    conninfo: str
    settings: Settings


@pytest.fixture()
def postgres_db(postgres_server, tmp_path):
    with scratch_database(postgres_server, "pipe") as database:
        settings = postgres_settings(database, tmp_path, prices_csv=FIVE_TICKERS).with_values(schema_prefix="p_")
        yield ScratchDatabase(database.conninfo, settings)


def _load(first: str, last: str, settings: Settings, raise_on_error: bool = True):
    with DagsterInstance.ephemeral() as instance:
        return materialize_prices(first, last, instance, settings, raise_on_error)


def _rows(conninfo: str, table: str = "p_raw.prices_daily") -> list[tuple]:
    with psycopg.connect(conninfo) as con:
        return con.execute(
            f"select ticker, trade_date, open, high, low, close, volume, source from {table} order by 1, 2"
        ).fetchall()


def test_partitions_load_with_copy_and_rerun_identically(postgres_db):
    _load("2017-01-03", "2018-02-07", postgres_db.settings)
    first = _rows(postgres_db.conninfo)
    assert len(first) == 1385
    assert first[0][:7] == ("AAPL", date(2017, 1, 3), 115.8, 116.33, 114.76, 116.15, 28781865)
    _load("2017-06-01", "2017-06-30", postgres_db.settings)
    _load("2017-01-03", "2018-02-07", postgres_db.settings)
    assert _rows(postgres_db.conninfo) == first
    with psycopg.connect(postgres_db.conninfo) as con:
        assert con.execute("select count(*) from p_raw.rejected_prices").fetchone() == (0,)
        schemas = {r[0] for r in con.execute("select schema_name from information_schema.schemata")}
    assert "p_raw" in schemas and "raw" not in schemas


def test_malformed_file_writes_nothing_on_postgres(postgres_db, tmp_path):
    _load("2017-01-03", "2018-02-07", postgres_db.settings)
    before = _rows(postgres_db.conninfo)
    lines = FIVE_TICKERS.read_text().splitlines()
    lines[10] = lines[10].replace(lines[10].split(",")[0], "2017-02-30", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    result = _load("2017-01-03", "2018-02-07", postgres_db.settings.with_values(prices_csv=bad), raise_on_error=False)
    assert not result.success
    message = result.get_step_failure_events()[0].event_specific_data.error.cause.message
    assert f"{bad}, line 11, field 'date': '2017-02-30' is not a date" in message
    assert _rows(postgres_db.conninfo) == before


def test_dagster_storage_on_postgres(postgres_server, tmp_path, monkeypatch):
    """deploy/dagster.yaml puts runs and events in PostgreSQL (dagster-postgres)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    assert config["storage"]["postgres"]["postgres_db"]["hostname"] == {"env": "DAGSTER_PG_HOST"}
    with scratch_database(postgres_server, "dagster") as storage_db:
        admin = PostgresConnection.from_url(storage_db.url)
        env = {
            "DAGSTER_PG_HOST": admin.host, "DAGSTER_PG_PORT": str(admin.port), "DAGSTER_PG_USER": admin.user,
            "DAGSTER_PG_PASSWORD": admin.password, "DAGSTER_PG_DB": storage_db.dbname,
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        with DagsterInstance.from_config(str(home)) as instance:
            result = materialize([companies], resources=resources_for(test_settings(tmp_path)), instance=instance)
            assert result.success
            assert [run.run_id for run in instance.get_runs()] == [result.run_id]
        with psycopg.connect(storage_db.conninfo) as con:
            stored = con.execute("select count(*) from runs").fetchone()[0]
            events = con.execute("select count(*) from event_logs where run_id = %s", [result.run_id]).fetchone()[0]
        assert stored == 1 and events > 5


def _scram_matches(verifier: str, password: str) -> bool:
    """Whether a PostgreSQL ``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` verifier
    was made from ``password`` (RFC 5802: StoredKey = H(HMAC(PBKDF2(password, salt, i), "Client Key")))."""
    import base64
    import hashlib
    import hmac

    scheme, iterations_salt, keys = verifier.split("$")
    iterations, salt = iterations_salt.split(":")
    stored_key = keys.split(":")[0]
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return scheme == "SCRAM-SHA-256" and base64.b64encode(hashlib.sha256(client_key).digest()).decode() == stored_key


def test_a_role_password_reaches_the_server_only_as_a_scram_verifier(postgres_db, tmp_path):
    """libpq's trace of every byte the client sent holds the verifier, never the password; the
    stored verifier is the password's."""
    from uuid import uuid4

    from psycopg import sql

    from domain.warehouse.postgres_backend import set_role_password

    role, secret = f"test_reader_{uuid4().hex[:8]}", f"s3cret-{uuid4().hex}"
    trace = tmp_path / "libpq.trace"
    with psycopg.connect(postgres_db.conninfo, autocommit=True) as con:
        con.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
        try:
            with trace.open("w") as out:
                con.pgconn.trace(out.fileno())
                set_role_password(con, role, secret)
                con.pgconn.untrace()
            stored = con.execute("select rolpassword from pg_authid where rolname = %s", [role]).fetchone()[0]
        finally:
            con.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))
    sent = trace.read_text()
    assert "alter role" in sent and stored in sent and secret not in sent
    assert _scram_matches(stored, secret) and not _scram_matches(stored, secret + "x")


def test_the_build_gives_bi_reader_the_password_of_the_settings(postgres_db):
    """The publishing asset sets BI_READER_PASSWORD on the bi_reader role (created by dbt's
    on-run-end hook; created here when this server has none yet)."""
    from uuid import uuid4

    from pipelines.defs.serving.assets import warehouse_snapshot

    secret = f"s3cret-{uuid4().hex}"
    with psycopg.connect(postgres_db.conninfo, autocommit=True) as con:
        con.execute(
            "do $$ begin create role bi_reader login; exception when duplicate_object or unique_violation then null; end $$"
        )
    settings = postgres_db.settings.with_values(bi_reader_password=secret)
    with DagsterInstance.ephemeral() as instance:
        result = materialize([warehouse_snapshot], resources=resources_for(settings), instance=instance)
    assert result.asset_materializations_for_node("serving__warehouse_snapshot")[0].metadata[
        "bi_reader_password"
    ].value == "set (SCRAM-SHA-256 verifier)"
    with psycopg.connect(postgres_db.conninfo) as con:
        stored = con.execute("select rolpassword from pg_authid where rolname = 'bi_reader'").fetchone()[0]
    assert _scram_matches(stored, secret)

"""Settings as values: parsing the environment once (pydantic-settings), building settings
directly, and how they reach Dagster's resources and dbt's profile."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dagster import EnvVar
from pydantic import ValidationError

from domain.settings import REPO_ROOT, PostgresConnection, Settings
from pipelines.lib.resources import build_resources


def test_defaults_are_the_bundled_files_and_duckdb():
    settings = Settings.from_values()
    assert settings.backend == "duckdb" and settings.postgres is None and settings.dbt_target == "duckdb"
    assert settings.warehouse_path == REPO_ROOT / "data" / "warehouse.duckdb"
    assert settings.snapshot_path == REPO_ROOT / "data" / "warehouse.snapshot.duckdb"
    assert settings.prices_csv == REPO_ROOT / "data" / "sample" / "sp500_all_stocks_5yr.csv.gz"
    assert settings.schema("marts") == "marts" and settings.portfolio_benchmark == ""


def test_environment_is_parsed_once_into_typed_values(monkeypatch, tmp_path):
    for name, value in {
        "WAREHOUSE_PATH": "build/w.duckdb", "WAREHOUSE_SCHEMA_PREFIX": "dev_", "YAHOO_TICKERS": " aapl, msft ,",
        "NEWS_FEEDS": "https://a.test/rss,https://b.test/atom", "RISK_FREE_RATE": "0.02", "PRICE_SOURCE": "Yahoo",
        "PORTFOLIO_BENCHMARK": "msft", "SMTP_HOST": "mail.test", "SMTP_STARTTLS": "false", "ALERT_EMAIL_TO": "a@x, b@x",
        "WAREHOUSE_URL": "postgresql://app:s%40cret@db.test:6543/wh",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.warehouse_path == REPO_ROOT / "build" / "w.duckdb"  # relative to the repository
    assert settings.snapshot_path == REPO_ROOT / "build" / "w.snapshot.duckdb"
    assert settings.schema("raw") == "dev_raw"
    assert settings.yahoo_tickers == ("AAPL", "MSFT")
    assert settings.news_feeds == ("https://a.test/rss", "https://b.test/atom")
    assert settings.risk_free_rate == 0.02 and settings.price_source == "yahoo"
    assert settings.portfolio_benchmark == "MSFT"
    assert settings.smtp is not None and settings.smtp.starttls is False and settings.smtp.recipients == ("a@x", "b@x")
    assert settings.backend == "postgres" and settings.dbt_target == "postgres"
    assert settings.postgres == PostgresConnection("db.test", 6543, "app", "s@cret", "wh")
    assert "s@cret" not in repr(settings) and "s%40cret" not in repr(settings)  # a secret, not shown


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("RISK_FREE_RATE", "2", "risk_free_rate"),
        ("NEWS_POLL_MINUTES", "0", "news_poll_minutes"),
        ("PRICE_SOURCE", "bloomberg", "price_source"),
        ("SMTP_STARTTLS", "maybe", "smtp_starttls"),
        ("WAREHOUSE_URL", "mysql://db/x", "warehouse_url"),
    ],
)
def test_invalid_values_name_the_setting(monkeypatch, name, value, field):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert caught.value.errors()[0]["loc"] == (field,)


def test_from_values_ignores_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://x@db.test/wh")
    monkeypatch.setenv("PRICES_CSV", "/elsewhere.csv")
    settings = Settings.from_values(warehouse_path=tmp_path / "w.duckdb")
    assert settings.backend == "duckdb" and settings.prices_csv.name == "sp500_all_stocks_5yr.csv.gz"
    assert settings.with_values(risk_free_rate=0.01).risk_free_rate == 0.01
    with pytest.raises(ValidationError):
        settings.with_values(risk_free_rate=1.5)
    with pytest.raises(ValidationError):  # immutable
        settings.risk_free_rate = 0.5  # type: ignore[misc]


def test_resources_carry_the_settings_as_fields(tmp_path):
    settings = Settings.from_values(
        warehouse_path=tmp_path / "w.duckdb", schema_prefix="t_", news_feeds=("https://a.test/rss",),
        alert_webhook_url="https://hooks.test/x", portfolio_benchmark="MSFT", risk_free_rate=0.02,
    )  # fmt: skip
    resources = build_resources(settings, environ={})
    assert resources["warehouse"].duckdb_path == str(tmp_path / "w.duckdb")
    assert resources["warehouse"].table("marts", "dim_companies") == "t_marts.dim_companies"
    assert resources["news_feeds"].feeds == ["https://a.test/rss"] and resources["news_feeds"].poll_minutes == 30
    assert resources["alerts"].webhook_url == "https://hooks.test/x"
    assert resources["dbt"].dbt_vars() == {"schema_prefix": "t_", "portfolio_benchmark": "MSFT", "risk_free_rate": 0.02}
    assert resources["price_source"].prices_csv == str(settings.prices_csv)


def test_secrets_from_the_environment_are_bound_as_env_vars(monkeypatch):
    url = "postgresql://app:pw@db.test:5432/wh"
    monkeypatch.setenv("WAREHOUSE_URL", url)
    resources = build_resources(Settings())
    assert isinstance(resources["warehouse"].postgres_url, EnvVar)  # the UI shows the name, not the password
    assert resources["warehouse"].postgres_url == "WAREHOUSE_URL"
    plain = build_resources(Settings(), environ={})
    assert plain["warehouse"].postgres_url == url


def test_dbt_gets_its_values_through_a_rendered_profile(tmp_path):
    postgres = build_resources(Settings.from_values(warehouse_url="postgresql://u:p w@db.test:5433/wh",
                                                    schema_prefix="t_"), environ={})["dbt"]  # fmt: skip
    folder = postgres.profiles_dir()
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    profile = yaml.safe_load((folder / "profiles.yml").read_text())["stock_warehouse"]
    assert profile["target"] == "postgres"
    assert profile["outputs"]["postgres"] == {
        "type": "postgres", "host": "db.test", "port": 5433, "user": "u", "password": "p w", "dbname": "wh",
        "schema": "t_public", "threads": 2,
    }  # fmt: skip
    duck = build_resources(Settings.from_values(warehouse_path=tmp_path / "w.duckdb"), environ={})["dbt"]
    attach = yaml.safe_load((duck.profiles_dir() / "profiles.yml").read_text())["stock_warehouse"]["outputs"]["duckdb"]
    assert attach["attach"] == [{"path": str(tmp_path / "w.duckdb"), "alias": "warehouse"}]
    assert Path(duck.profiles_dir()) != Path(folder)  # one folder per configuration

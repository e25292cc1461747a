"""docker-compose.yml cannot run here (no Docker engine): check that it parses, that its
services reference files and commands that exist, and that its env vars are documented."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

from domain.settings import PostgresConnection
from tests.conftest import REPO_ROOT

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
ENV_EXAMPLE = dict(
    line.split("=", 1) for line in (REPO_ROOT / ".env.example").read_text().splitlines()
    if line and not line.startswith("#")
)


def test_compose_services_and_files():
    services = COMPOSE["services"]
    assert {"postgres", "dagster-webserver", "dagster-daemon", "streamlit"} <= set(services)
    assert (REPO_ROOT / services["dagster-webserver"]["build"] / "Dockerfile").exists()
    for name, service in services.items():
        for env_file in service.get("env_file", []):
            assert (REPO_ROOT / env_file).exists(), (name, env_file)
        if "command" in service:
            command = service["command"]
            assert (Path(sys.executable).parent / command[0]).exists(), (name, command[0])
            for arg in command[1:]:
                if arg.endswith((".py", ".yaml")):
                    assert (REPO_ROOT / arg).exists(), (name, arg)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in COMPOSE["volumes"] or (REPO_ROOT / source).exists(), (name, volume)
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], (name, dependency)


def test_dockerfile_copies_existing_files():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    for path in re.findall(r"(deploy/\S+|requirements\.lock|pyproject\.toml)", dockerfile):
        assert (REPO_ROOT / path).exists(), path


def test_env_example_is_consistent_and_documented():
    readme = (REPO_ROOT / "README.md").read_text()
    for name in ENV_EXAMPLE:
        assert f"`{name}`" in readme, name
    url = PostgresConnection.from_url(ENV_EXAMPLE["WAREHOUSE_URL"])
    assert (url.host, url.dbname) == ("postgres", "warehouse")
    assert ENV_EXAMPLE["DAGSTER_PG_HOST"] == "postgres"
    dagster_yaml = yaml.safe_load((REPO_ROOT / "deploy" / "dagster.yaml").read_text())
    env_refs = {v["env"] for v in dagster_yaml["storage"]["postgres"]["postgres_db"].values() if isinstance(v, dict)}
    assert env_refs <= set(ENV_EXAMPLE)
    init_sql = (REPO_ROOT / "deploy" / "postgres-init" / "01-databases.sql").read_text()
    assert f"create database {ENV_EXAMPLE['DAGSTER_PG_DB']}" in init_sql

"""docker-compose.yml cannot run here (no Docker engine): check that it parses, that its
services reference files and commands that exist, and that its env vars are documented."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from tests.conftest import REPO_ROOT

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def test_compose_services_and_files():
    services = COMPOSE["services"]
    assert {"dagster-webserver", "dagster-daemon", "streamlit"} <= set(services)
    assert (REPO_ROOT / services["dagster-webserver"]["build"]).joinpath("Dockerfile").exists()
    for name, service in services.items():
        for env_file in service.get("env_file", []):
            assert (REPO_ROOT / env_file).exists(), (name, env_file)
        command = service["command"]
        assert (Path(sys.executable).parent / command[0]).exists(), (name, command[0])
        for arg in command[1:]:
            if arg.endswith((".py", ".yaml")):
                assert (REPO_ROOT / arg).exists(), (name, arg)
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in COMPOSE["volumes"], (name, volume)


def test_env_vars_are_documented():
    readme = (REPO_ROOT / "README.md").read_text()
    env = (REPO_ROOT / ".env.example").read_text().splitlines()
    names = [line.split("=")[0] for line in env if line and not line.startswith("#")]
    assert names
    for name in names:
        assert f"`{name}`" in readme, name

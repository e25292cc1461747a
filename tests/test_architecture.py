"""The codebase's shape, checked: the import contracts of ``pyproject.toml`` (import-linter), and
configuration read in one place only."""

from __future__ import annotations

import ast
from pathlib import Path

from importlinter.cli import lint_imports

from tests.conftest import REPO_ROOT

PRODUCT_PACKAGES = ("domain", "pipelines", "dashboards")


def test_import_contracts_are_kept():
    """pipelines and dashboards never import each other; the domain core imports neither (nor
    Dagster or Streamlit); only ``domain.warehouse`` imports duckdb, psycopg or psycopg_pool."""
    assert lint_imports(config_filename=str(REPO_ROOT / "pyproject.toml"), no_cache=True) == 0


def _environment_uses(path: Path) -> list[int]:
    """Lines of ``path`` that touch ``os.environ`` or call ``os.getenv`` / ``os.putenv``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os":
            if node.attr in ("environ", "getenv", "putenv", "unsetenv"):
                lines.append(node.lineno)
    return lines


def test_configuration_is_read_in_one_place():
    """Product code reads no environment variable itself: ``domain.settings`` (pydantic-settings)
    does, and the resources builder only looks up which secrets to bind as ``EnvVar``."""
    allowed = {REPO_ROOT / "pipelines" / "lib" / "resources.py"}
    found = {
        f"{path.relative_to(REPO_ROOT)}:{line}"
        for package in PRODUCT_PACKAGES
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
        if path not in allowed
        for line in _environment_uses(path)
    }
    assert found == set()
    assert _environment_uses(REPO_ROOT / "pipelines" / "lib" / "resources.py")  # the one allowed reader

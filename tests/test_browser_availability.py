"""Unit tests of the browser walk's helpers (tests/browser.py): when the walk skips or fails, the
environment it gives the app process, and the private copies of the user data it points the app
at. The walk itself is tests/test_browser_walk.py."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from domain.settings import Settings
from tests import browser


def _no_chromium(monkeypatch) -> None:
    monkeypatch.setattr(browser, "SYSTEM_CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.setattr(browser.shutil, "which", lambda name, *args, **kwargs: None)


def test_without_chromium_the_walk_skips_with_the_reason(monkeypatch):
    _no_chromium(monkeypatch)
    monkeypatch.delenv("CI", raising=False)
    assert browser.chromium_path() is None
    with pytest.raises(pytest.skip.Exception, match="no Chromium at /nonexistent/chromium nor on PATH"):
        browser.require_browser()


def test_without_chromium_the_walk_fails_under_ci(monkeypatch):
    _no_chromium(monkeypatch)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true requires the browser walk to run, but no Chromium"):
        browser.require_browser()


def test_chromium_on_path_is_found(monkeypatch, tmp_path):
    monkeypatch.setattr(browser, "SYSTEM_CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.setattr(browser.shutil, "which", lambda name, *args, **kwargs: str(tmp_path / name))
    assert browser.chromium_path() == tmp_path / "chromium"


def test_the_app_gets_the_settings_and_none_of_the_callers_product_variables(tmp_path):
    settings = Settings.from_values(warehouse_path=tmp_path / "w.duckdb", portfolios_dir=tmp_path / "p",
                                    alert_rules_file=tmp_path / "a" / "rules.yml")  # fmt: skip
    base = {"HOME": "/home/x", "WAREHOUSE_URL": "postgresql://u@h/db", "risk_free_rate": "0.5", "PYTHONPATH": "/lib"}
    env = browser.app_environment(settings, base)
    assert env["HOME"] == "/home/x"
    assert "WAREHOUSE_URL" not in env and "risk_free_rate" not in env
    assert env["WAREHOUSE_PATH"] == str(tmp_path / "w.duckdb")
    assert env["WAREHOUSE_SNAPSHOT_PATH"] == str(tmp_path / "w.snapshot.duckdb")
    assert env["PORTFOLIOS_DIR"] == str(tmp_path / "p")
    assert env["ALERT_RULES_FILE"] == str(tmp_path / "a" / "rules.yml")
    assert env["STRATEGIES_DIR"] == str(settings.strategies_dir)
    assert env["PYTHONPATH"].split(":") == [str(browser.REPO_ROOT), "/lib"]


def _user_data(folder: Path, rules: str | None, example: str | None) -> Settings:
    (folder / "portfolios").mkdir(parents=True)
    (folder / "portfolios" / "mine.csv").write_text("date,ticker\n")
    (folder / "alerts").mkdir()
    if rules is not None:
        (folder / "alerts" / "rules.yml").write_text(rules)
    if example is not None:
        (folder / "alerts" / "rules.example.yml").write_text(example)
    return Settings.from_values(portfolios_dir=folder / "portfolios", alert_rules_file=folder / "alerts" / "rules.yml")


@pytest.mark.parametrize(
    ("rules", "example", "copied"),
    [("rules: [own]\n", "rules: [shipped]\n", "rules: [own]\n"), (None, "rules: [shipped]\n", "rules: [shipped]\n")],
)
def test_user_data_is_copied_and_the_copy_is_what_the_app_gets(tmp_path, rules, example, copied):
    shipped = _user_data(tmp_path / "repo", rules, example)
    walk = browser.user_data_copy(shipped, tmp_path / "walk")
    assert walk.portfolios_dir == tmp_path / "walk" / "portfolios"
    assert (walk.portfolios_dir / "mine.csv").read_text() == "date,ticker\n"
    assert walk.alert_rules_file == tmp_path / "walk" / "alerts" / "rules.yml"
    assert walk.alert_rules_file.read_text() == copied
    assert walk.strategies_dir == tmp_path / "walk" / "strategies"
    assert sorted(p.name for p in walk.strategies_dir.iterdir()) == sorted(p.name for p in shipped.strategies_dir.glob("*.yml"))
    assert sorted(p.name for p in (tmp_path / "repo" / "alerts").iterdir()) == sorted(
        name for name, text in (("rules.yml", rules), ("rules.example.yml", example)) if text is not None
    ), "the originals are left as they were"


def test_free_port_can_be_bound():
    port = browser.free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
    assert 1024 <= port <= 65535

"""The Alerts page on both backends: rules from the YAML file, events equal to
``alerts.alert_events`` read independently, and create / pause / delete written to the file."""

from __future__ import annotations

import shutil

import pytest
import yaml

from tests.app_harness import frame, rerun, run_app
from tests.conftest import REPO_ROOT

EXAMPLE_RULES = REPO_ROOT / "data" / "alerts" / "rules.example.yml"


@pytest.fixture()
def rules_file(tmp_path):
    path = tmp_path / "alerts" / "rules.yml"
    path.parent.mkdir()
    shutil.copy(EXAMPLE_RULES, path)
    return path


def open_alerts_page(source, rules_file):
    at = run_app(source.settings.with_values(alert_rules_file=rules_file))
    at.switch_page("views/alerts.py")
    return rerun(at)


def create(at) -> None:
    next(b for b in at.button if b.label == "Create rule").click()


def choose_type(at, rule_type: str):
    """Choose the new rule's condition (outside the form: the page reruns with its fields)."""
    at.selectbox(key="alerts_new_type").set_value(rule_type)
    return rerun(at)


def rule_ids(path) -> list[str]:
    return [rule["id"] for rule in yaml.safe_load(path.read_text())["rules"]]


def test_rules_and_events_match_the_file_and_the_warehouse(app_on, rules_file):
    source = app_on
    at = open_alerts_page(source, rules_file)
    shown = frame(at, "id", "status", "condition")
    assert shown["id"].tolist() == rule_ids(rules_file)
    assert (shown["status"] == "active").all()

    events = source.read(
        f"select rule_id, ticker, trade_date, observed_value from {source.t('alerts', 'alert_events')} "
        "order by trade_date desc, fired_at desc, rule_id, ticker"
    )
    assert len(events) > 0, "the example rules fire on the bundled data"
    table = frame(at, "rule_id", "deliveries")
    assert len(table) == min(len(events), 200)
    assert table["rule_id"].iloc[0] == events["rule_id"].iloc[0]
    assert table["ticker"].iloc[0] == events["ticker"].iloc[0]
    assert table["observed_value"].iloc[0] == pytest.approx(events["observed_value"].iloc[0])
    counts = shown.set_index("id")["events"]
    for rule_id, n in events.groupby("rule_id").size().items():
        assert counts[rule_id] == n
    # every event's deliveries are listed (the examples notify the log only, delivered at once)
    assert table["deliveries"].str.fullmatch("log: delivered").all()


@pytest.mark.parametrize("source", ["duckdb"], indirect=True)
def test_create_pause_and_delete_a_rule(app_on, rules_file):
    at = open_alerts_page(app_on, rules_file)
    before = rules_file.read_text()

    at = choose_type(at, "rsi_above")
    at.text_input(key="alerts_new_id").set_value("msft-rsi-above-80")
    at.multiselect(key="alerts_new_tickers").set_value(["MSFT"])
    create(at)
    at = rerun(at)
    assert any("level" in e.value for e in at.error), [e.value for e in at.error]
    assert rules_file.read_text() == before  # nothing written

    assert at.multiselect(key="alerts_new_tickers").value == ["MSFT"]  # kept after the error
    at.number_input(key="alerts_new_level").set_value(80.0)
    create(at)
    at = rerun(at)
    assert any("Created msft-rsi-above-80" in s.value for s in at.success)
    saved = {rule["id"]: rule for rule in yaml.safe_load(rules_file.read_text())["rules"]}
    assert saved["msft-rsi-above-80"]["type"] == "rsi_above"
    assert saved["msft-rsi-above-80"]["level"] == 80.0
    assert saved["msft-rsi-above-80"]["tickers"] == ["MSFT"]

    at.selectbox(key="alerts_rule").set_value("msft-rsi-above-80")
    at = rerun(at)
    at.button(key="alerts_toggle").click()
    at = rerun(at)
    saved = {rule["id"]: rule for rule in yaml.safe_load(rules_file.read_text())["rules"]}
    assert saved["msft-rsi-above-80"]["enabled"] is False
    status = frame(at, "id", "status", "condition").set_index("id")["status"]
    assert status["msft-rsi-above-80"] == "paused"

    at.selectbox(key="alerts_rule").set_value("msft-rsi-above-80")
    at.checkbox(key="alerts_confirm_delete").check()
    at = rerun(at)
    at.button(key="alerts_delete").click()
    at = rerun(at)
    assert rule_ids(rules_file) == [rule["id"] for rule in yaml.safe_load(before)["rules"]]


@pytest.mark.parametrize("source", ["duckdb"], indirect=True)
def test_an_indicator_rule_on_a_registry_column(app_on, rules_file):
    """The form offers every column the registry marks ``alert`` (the stochastic included) and
    writes an ``indicator_above`` rule for it."""
    at = choose_type(open_alerts_page(app_on, rules_file), "indicator_above")
    assert {"Stochastic %K", "Stochastic %D", "RSI 14", "MACD histogram"} <= set(at.selectbox(key="alerts_new_column").options)
    at.text_input(key="alerts_new_id").set_value("aapl-stoch-above-80")
    at.multiselect(key="alerts_new_tickers").set_value(["AAPL"])
    at.selectbox(key="alerts_new_column").set_value("stoch_k")
    at.number_input(key="alerts_new_level").set_value(80.0)
    create(at)
    at = rerun(at)
    saved = {rule["id"]: rule for rule in yaml.safe_load(rules_file.read_text())["rules"]}
    assert {k: saved["aapl-stoch-above-80"][k] for k in ("type", "column", "level", "tickers")} == {
        "type": "indicator_above", "column": "stoch_k", "level": 80.0, "tickers": ["AAPL"]
    }  # fmt: skip
    condition = frame(at, "id", "status", "condition").set_index("id")["condition"]
    assert condition["aapl-stoch-above-80"] == "Stochastic %K above 80"

"""The Alerts page's layout and rules file: first use copies the tracked example (which the app
never writes), distinct selectbox labels, a create form that shows only the chosen type's
fields and is reset after a successful create, full-width tables with column widths."""

from __future__ import annotations

import json
from datetime import date

import pytest
import yaml

from dashboards.lib import alert_form
from domain.alerts.rules import RuleType, parse_rule
from tests.app_harness import frame, rerun, run_app
from tests.conftest import REPO_ROOT

EXAMPLE = REPO_ROOT / "data" / "alerts" / "rules.example.yml"
FORM_KEYS = set(alert_form.KEYS.values())


# --------------------------------------------------------------------------- form fields (unit)


@pytest.mark.parametrize(
    ("rule_type", "fields"),
    [
        ("price_above", ("id", "tickers", "level", "channels", "since", "description")),
        ("rsi_below", ("id", "tickers", "level", "channels", "since", "description")),
        ("volume_spike", ("id", "tickers", "level", "channels", "since", "description")),
        ("price_cross_above_sma", ("id", "tickers", "window", "channels", "since", "description")),
        ("indicator_above", ("id", "tickers", "level", "column", "channels", "since", "description")),
        ("screen_enter", ("id", "screen", "channels", "description")),
        ("screen_exit", ("id", "screen", "channels", "description")),
    ],
)
def test_each_type_has_only_its_fields(rule_type, fields):
    assert alert_form.fields_of(rule_type) == fields


def test_every_rule_type_has_fields_and_unknown_types_are_refused():
    assert {RuleType(t) for t in alert_form.RULE_TYPES} == set(RuleType)
    for kind in RuleType:
        assert set(alert_form.fields_of(kind)) <= set(alert_form.KEYS)
    with pytest.raises(ValueError, match="'price_sideways' is not a valid RuleType"):
        alert_form.fields_of("price_sideways")


def test_rule_fields_keep_only_the_chosen_types_values():
    values = {"id": " aapl-sma ", "tickers": ["AAPL"], "level": 170.0, "column": "stoch_k", "window": 50,
              "screen": "Momentum", "channels": ["log"], "since": date(2017, 10, 2), "description": ""}  # fmt: skip
    fields = alert_form.rule_fields("price_cross_above_sma", values)
    assert fields == {"type": "price_cross_above_sma", "id": "aapl-sma", "tickers": ["AAPL"], "window": 50,
                      "channels": ["log"], "since": date(2017, 10, 2), "description": ""}  # fmt: skip
    assert parse_rule(fields).window == 50
    screen = alert_form.rule_fields("screen_enter", values | {"screen": "Overbought (RSI > 70)"})
    assert set(screen) == {"type", "id", "screen", "channels", "description"}
    assert "level" not in alert_form.rule_fields("rsi_above", values | {"level": None})  # the parser names it


# --------------------------------------------------------------------------- the page (integration)



def open_alerts_page(source, rules_file):
    at = run_app(source.settings.with_values(alert_rules_file=rules_file))
    at.switch_page("views/alerts.py")
    return rerun(at)


def choose_type(at, rule_type: str):
    at.selectbox(key=alert_form.KEY_TYPE).set_value(rule_type)
    return rerun(at)


def create(at):
    next(b for b in at.button if b.label == "Create rule").click()
    return rerun(at)


def form_widgets(at) -> set[str]:
    """Keys of the form's widgets on the page."""
    widgets = [*at.text_input, *at.multiselect, *at.number_input, *at.selectbox, *at.date_input]
    return {w.key for w in widgets if w.key in FORM_KEYS}


def ids(path) -> list[str]:
    return [rule["id"] for rule in yaml.safe_load(path.read_text())["rules"]]


@pytest.mark.parametrize("source", ["duckdb"], indirect=True)
def test_first_use_copies_the_example_and_the_app_never_writes_it(app_on, first_use):
    path, example = first_use
    at = open_alerts_page(app_on, path)
    assert path.read_bytes() == EXAMPLE.read_bytes()
    assert any("First use: copied the example rules rules.example.yml" in i.value for i in at.info)
    assert frame(at, "id", "status", "condition")["id"].tolist() == ids(EXAMPLE)

    at = rerun(at)
    assert not any("First use" in i.value for i in at.info)  # once only

    at = choose_type(at, "price_below")
    at.text_input(key="alerts_new_id").set_value("msft-below-60")
    at.multiselect(key="alerts_new_tickers").set_value(["MSFT"])
    at.number_input(key="alerts_new_level").set_value(60.0)
    at = create(at)
    at.selectbox(key="alerts_rule").set_value("aapl-above-170")
    at = rerun(at)
    at.button(key="alerts_toggle").click()
    at = rerun(at)
    at.selectbox(key="alerts_rule").set_value("ge-below-20")
    at.checkbox(key="alerts_confirm_delete").check()
    at = rerun(at)
    at.button(key="alerts_delete").click()
    at = rerun(at)

    saved = {rule["id"]: rule for rule in yaml.safe_load(path.read_text())["rules"]}
    assert list(saved) == [i for i in ids(EXAMPLE) if i != "ge-below-20"] + ["msft-below-60"]
    assert saved["aapl-above-170"]["enabled"] is False
    assert example.read_bytes() == EXAMPLE.read_bytes()  # the example is untouched


@pytest.mark.parametrize("source", ["duckdb"], indirect=True)
def test_an_example_file_as_the_rules_file_is_read_but_not_written(app_on, first_use):
    _, example = first_use
    at = open_alerts_page(app_on, example)
    assert any("is an example rules file" in w.value for w in at.warning)
    assert frame(at, "id", "status", "condition")["id"].tolist() == ids(EXAMPLE)
    at = choose_type(at, "price_above")
    at.text_input(key="alerts_new_id").set_value("msft-above-100")
    at.multiselect(key="alerts_new_tickers").set_value(["MSFT"])
    at.number_input(key="alerts_new_level").set_value(100.0)
    at = create(at)
    assert any("is an example rules file" in e.value for e in at.error)
    assert example.read_bytes() == EXAMPLE.read_bytes()


@pytest.mark.parametrize("source", ["duckdb"], indirect=True)
def test_selectboxes_have_distinct_labels(app_on, first_use):
    at = open_alerts_page(app_on, first_use[0])
    labels = {s.key: s.label for s in at.selectbox}
    assert labels["alerts_rule"] == "Rule to pause, resume or delete"
    assert labels["alerts_event_rule"] == "Show events of"
    assert labels[alert_form.KEY_TYPE] == "Condition of the new rule"
    assert len(set(labels.values())) == len(labels), labels


@pytest.mark.parametrize("source", ["duckdb"], indirect=True)
def test_the_form_follows_the_chosen_type(app_on, first_use):
    at = open_alerts_page(app_on, first_use[0])
    assert at.selectbox(key=alert_form.KEY_TYPE).value == "price_above"
    for kind in RuleType:
        at = choose_type(at, str(kind))
        expected = {alert_form.KEYS[f] for f in alert_form.fields_of(kind)}
        assert form_widgets(at) == expected, kind
    at = choose_type(at, "rsi_above")
    assert at.number_input(key="alerts_new_level").label == "Level (RSI, 0-100)"


@pytest.mark.parametrize("source", ["duckdb"], indirect=True)
def test_a_successful_create_resets_the_form_and_says_so(app_on, first_use):
    path, _ = first_use
    at = choose_type(open_alerts_page(app_on, path), "price_cross_below_sma")
    at.text_input(key="alerts_new_id").set_value("nvda-below-sma200")
    at.multiselect(key="alerts_new_tickers").set_value(["NVDA"])
    at.selectbox(key="alerts_new_window").set_value(200)
    at.multiselect(key="alerts_new_channels").set_value(["log", "webhook"])
    at.text_input(key="alerts_new_description").set_value("NVIDIA under its 200-day average")
    at = create(at)
    assert [s.value for s in at.success] == [
        "Created nvda-below-sma200. It is evaluated after the next build, or as soon as the alert_rules_sensor runs."
    ]
    saved = {rule["id"]: rule for rule in yaml.safe_load(path.read_text())["rules"]}["nvda-below-sma200"]
    assert (saved["type"], saved["window"], saved["channels"]) == ("price_cross_below_sma", 200, ["log", "webhook"])
    # every field is back to its default
    assert at.selectbox(key=alert_form.KEY_TYPE).value == "price_above"
    assert at.text_input(key="alerts_new_id").value == ""
    assert at.multiselect(key="alerts_new_tickers").value == []
    assert at.number_input(key="alerts_new_level").value is None
    assert at.multiselect(key="alerts_new_channels").value == ["log"]
    assert at.text_input(key="alerts_new_description").value == ""
    at = rerun(at)
    assert not at.success  # the message is shown once


@pytest.mark.parametrize("source", ["duckdb"], indirect=True)
def test_tables_are_full_width_with_column_widths(app_on, first_use):
    at = open_alerts_page(app_on, first_use[0])
    rules = next(d for d in at.dataframe if "condition" in d.value.columns)
    events = next(d for d in at.dataframe if "deliveries" in d.value.columns)
    for table, wide in ((rules, {"description"}), (events, {"message"})):
        config = {name: c for name, c in json.loads(table.proto.columns).items() if name != "_index"}
        assert set(config) == set(table.value.columns)
        assert all(column.get("width") for column in config.values()), config
        assert {name for name, column in config.items() if column["width"] == "large"} == wide

"""Alert rules: the shipped file, validation errors naming file + rule + field, the app's API
(add / duplicate / pause / delete) with atomic locked writes, and the rules-file sensor."""

from __future__ import annotations

import fnmatch
import os
import threading
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    RunRequest,
    SkipReason,
    build_sensor_context,
)
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.utils import make_new_run_id

from domain.alerts.rules import AlertRule, RuleNotFoundError, RulesFileError, RuleType, parse_rule
from domain.alerts.store import (
    HEADER,
    ExampleFileError,
    add_rule,
    delete_rule,
    ensure_rules_file,
    example_path,
    load_rules,
    render_rules,
    rules_file_fingerprint,
    save_rules,
    set_enabled,
)
from domain.screens import Range, ScreenSpec, Trend, presets
from domain.alerts import store as rules_module
from domain.settings import REPO_ROOT, Settings
from pipelines.defs.alerts.sensors import alert_rules_sensor
from pipelines.lib.resources import AlertsResource

SHIPPED = REPO_ROOT / "data" / "alerts" / "rules.example.yml"  # tracked; rules.yml is user data


def rule(**fields) -> AlertRule:
    base = {"id": "aapl-above-170", "type": "price_above", "tickers": ["AAPL"], "level": 170}
    return parse_rule(base | fields)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the shipped file


def test_shipped_rules_are_valid_log_only_and_saved_in_canonical_form():
    rules = load_rules(SHIPPED)
    assert [r.id for r in rules] == [
        "aapl-cross-above-sma50", "aapl-above-170", "ge-below-20", "nvda-rsi-above-70", "volume-spike-3x",
        "overbought-screen-enter",
    ]  # fmt: skip
    assert all(r.channels == ("log",) for r in rules), "a build must not send mail or HTTP"
    assert {r.type for r in rules} >= {RuleType.PRICE_CROSS_ABOVE_SMA, RuleType.RSI_ABOVE, RuleType.VOLUME_SPIKE,
                                       RuleType.PRICE_ABOVE, RuleType.SCREEN_ENTER}  # fmt: skip
    assert rules[-1].screen_spec() == presets()["Overbought (RSI > 70)"]
    # what the app writes back is byte for byte the shipped file: a save loses nothing
    assert render_rules(rules) == SHIPPED.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- validation errors


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("{id: nvda-rsi, type: rsi_above, tickers: [NVDA]}", "rule 2 (id 'nvda-rsi'), field 'level': required by rsi_above"),
        ("{id: nvda-rsi, type: rsi_above, tickers: [NVDA], level: 120}", "field 'level': an RSI level must be between 0 and 100"),
        ("{id: x, type: price_above, level: 10}", "rule 2 (id 'x'), field 'tickers': at least one ticker is required"),
        ("{id: x, type: price_above, tickers: [AAPL], level: -1}", "field 'level': must be > 0"),
        ("{id: x, type: price_cross_above_sma, tickers: [AAPL], window: 30}", "field 'window': must be one of 20, 50, 200"),
        ("{id: x, type: price_cross_above_sma, tickers: [AAPL], window: 50, level: 3}", "field 'level': not used by price_cross_above_sma"),
        ("{id: x, type: price_jump, tickers: [AAPL]}", "rule 2 (id 'x'), field 'type': Input should be"),
        ("{id: Not A Slug, type: price_above, tickers: [AAPL], level: 1}", "rule 2 (id 'Not A Slug'), field 'id': must be a slug"),
        ("{id: x, type: price_above, tickers: [AAPL], level: 1, channels: [sms]}", "field 'channels.0': Input should be 'log', 'webhook' or 'email'"),
        ("{id: x, type: price_above, tickers: [AAPL], level: 1, since: 2017-02-30}", "field 'since':"),
        ("{id: x, type: price_above, tickers: [AAPL], level: 1, colour: red}", "field 'colour': unknown field"),
        ("{id: x, type: screen_enter}", "field 'filters': screen_enter needs exactly one of screen"),
        ("{id: x, type: screen_enter, screen: Momentum, since: 2017-01-01}", "field 'since': not used by screen_enter"),
        ("{id: x, type: screen_exit, screen: Cheap stocks}", "field 'screen': unknown preset 'Cheap stocks'"),
        ("{id: x, type: screen_exit, filters: {rsi_14: {min: 80, max: 20}}}", "field 'filters': screen field 'rsi_14': range minimum 80 must be below"),
        ("{id: x, type: screen_exit, filters: {pe: {max: 15}}}", "field 'filters': unknown screen field 'pe'"),
        ("{id: x, type: screen_exit, filters: {vs_sma_50: sideways}}", "field 'filters': invalid screen filters: vs_sma_50 must be one of any, above, below, got 'sideways'"),
        ("not-a-mapping", "rule 2: a rule must be a mapping, got str"),
        ("{id: x, type: price_above, tickers: [AAPL], level: .inf}", "field 'level': must be a finite number, got inf"),
        ("{id: x, type: volume_spike, tickers: [AAPL], level: true}", "field 'level': must be a number, got True"),
        ("{id: x, type: indicator_above, tickers: [AAPL], level: 80}", "field 'column': required by indicator_above: one of"),
        ("{id: x, type: indicator_below, tickers: [AAPL], level: 1, column: pe_ratio}", "field 'column': required by indicator_below: one of return_1d"),
        ("{id: x, type: rsi_above, tickers: [AAPL], level: 70, column: rsi_14}", "field 'column': not used by rsi_above"),
    ],
)  # fmt: skip
def test_errors_name_the_file_the_rule_and_the_field(tmp_path, item, expected):
    path = write(tmp_path / "rules.yml", f"rules:\n  - {{id: ok, type: volume_spike, tickers: [NVDA], level: 3}}\n  - {item}\n")
    with pytest.raises(RulesFileError) as caught:
        load_rules(path)
    assert caught.value.problems == [p for p in caught.value.problems if p.startswith(f"{path}, rule 2")]
    assert any(expected in p for p in caught.value.problems), caught.value.problems


def test_every_problem_of_a_file_is_reported_and_duplicates_name_both_rules(tmp_path):
    path = write(
        tmp_path / "rules.yml",
        "rules:\n"
        "  - {id: a, type: rsi_below, tickers: [NVDA], level: 30}\n"
        "  - {id: b, type: rsi_below, tickers: [NVDA]}\n"
        "  - {id: a, type: price_below, tickers: [GE], level: 20}\n",
    )
    with pytest.raises(RulesFileError) as caught:
        load_rules(path)
    assert caught.value.problems == [
        f"{path}, rule 2 (id 'b'), field 'level': required by rsi_below",
        f"{path}, rule 3 (id 'a'), field 'id': duplicate id (also rule 1)",
    ]


def test_yaml_syntax_and_layout_errors(tmp_path):
    broken = write(tmp_path / "broken.yml", "rules:\n  - id: a\n    type: [price_above\n")
    with pytest.raises(RulesFileError, match=rf"^{broken}, line \d+: not valid YAML"):
        load_rules(broken)
    with pytest.raises(RulesFileError, match="expected a mapping with one key 'rules'"):
        load_rules(write(tmp_path / "list.yml", "- id: a\n"))
    with pytest.raises(RulesFileError, match="field 'rules': must be a list of rules"):
        load_rules(write(tmp_path / "dict.yml", "rules: {id: a}\n"))


def test_missing_or_empty_file_means_no_rules(tmp_path):
    assert load_rules(tmp_path / "absent.yml") == []
    assert load_rules(write(tmp_path / "empty.yml", "")) == []
    assert load_rules(write(tmp_path / "none.yml", "rules:\n")) == []


def test_filters_become_the_screen_spec_of_the_app():
    screen = parse_rule(
        {"id": "s", "type": "screen_enter", "tickers": ["aapl", "msft"],
         "filters": {"rsi_14": {"min": 70}, "vs_sma_200": "above", "sectors": ["Information Technology"]}}
    )  # fmt: skip
    assert screen.tickers == ("AAPL", "MSFT")
    assert screen.screen_spec() == ScreenSpec(
        rsi_14=Range(min=70), vs_sma_200=Trend.ABOVE, sectors=("Information Technology",)
    )


def test_indicator_rules_take_any_alertable_registry_column():
    from domain.screens import registry

    for column in registry().alert_columns:
        parsed = parse_rule({"id": "x", "type": "indicator_above", "tickers": ["AAPL"], "column": column, "level": 1})
        assert parsed.column == column
    assert {"rsi_14", "macd_hist", "return_21d"} <= set(registry().alert_columns)
    old = parse_rule({"id": "x", "type": "rsi_above", "tickers": ["AAPL"], "level": 70})
    assert "column" not in old.to_yaml_dict()  # rules without a column keep their fingerprint


def test_fingerprint_follows_the_condition_only():
    base = rule()
    assert rule(enabled=False, channels=["log", "email"], description="x").fingerprint() == base.fingerprint()
    assert rule(tickers=["AAPL"]).fingerprint() == base.fingerprint()
    assert rule(level=171).fingerprint() != base.fingerprint()
    assert rule(since=date(2017, 1, 3)).fingerprint() != base.fingerprint()
    assert rule(tickers=["AAPL", "MSFT"]).fingerprint() == rule(tickers=["MSFT", "AAPL"]).fingerprint()


# --------------------------------------------------------------------------- the app's API


def test_add_pause_delete_round_trip(tmp_path):
    path = tmp_path / "alerts" / "rules.yml"  # the folder does not exist yet
    before = datetime.now(timezone.utc).replace(microsecond=0)
    added = add_rule(path, rule())
    assert before <= added.created_at <= datetime.now(timezone.utc)
    add_rule(path, parse_rule({"id": "nvda-rsi", "type": "rsi_above", "tickers": ["NVDA"], "level": 70,
                               "channels": ["log", "webhook"], "since": "2017-01-01"}))  # fmt: skip
    assert path.read_text(encoding="utf-8").startswith(HEADER)
    loaded = load_rules(path)
    assert [r.id for r in loaded] == ["aapl-above-170", "nvda-rsi"]
    assert loaded[0] == added and loaded[1].since == date(2017, 1, 1) and loaded[1].channels == ("log", "webhook")

    with pytest.raises(RulesFileError, match="rule 'nvda-rsi', field 'id': a rule with this id already exists"):
        add_rule(path, parse_rule({"id": "nvda-rsi", "type": "rsi_below", "tickers": ["NVDA"], "level": 30}))
    assert load_rules(path) == loaded

    paused = set_enabled(path, "nvda-rsi", False)
    assert paused.enabled is False and [r.enabled for r in load_rules(path)] == [True, False]
    assert set_enabled(path, "nvda-rsi", True).enabled is True
    delete_rule(path, "aapl-above-170")
    assert [r.id for r in load_rules(path)] == ["nvda-rsi"]
    with pytest.raises(RuleNotFoundError, match="no rule with id 'aapl-above-170'"):
        delete_rule(path, "aapl-above-170")
    with pytest.raises(RuleNotFoundError):
        set_enabled(path, "nope", False)
    assert sorted(p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")) == []


def test_a_failed_write_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "rules.yml"
    save_rules(path, [rule()])
    original = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("domain.files.os.replace", crash)
    with pytest.raises(OSError, match="disk full"):
        add_rule(path, rule(id="second"))
    monkeypatch.undo()
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []
    with pytest.raises(RulesFileError, match="duplicate id"):
        save_rules(path, [rule(), rule()])
    assert path.read_bytes() == original


def test_concurrent_writers_never_lose_a_rule(tmp_path):
    """8 writers x 5 rules each through read-modify-write: the lock keeps all 40."""
    path = tmp_path / "rules.yml"
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for k in range(5):
                add_rule(path, rule(id=f"w{n}-{k}"))
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.id for r in load_rules(path)) == sorted(f"w{n}-{k}" for n in range(8) for k in range(5))


def test_the_default_rules_file_is_untracked_and_its_example_is_the_shipped_file():
    assert Settings.from_values().alert_rules_file == REPO_ROOT / "data" / "alerts" / "rules.yml"
    assert example_path(Settings.from_values().alert_rules_file) == SHIPPED
    ignored = [line.strip() for line in (REPO_ROOT / ".gitignore").read_text().splitlines()]
    assert "data/alerts/rules.yml" in ignored
    assert not any(line and fnmatch.fnmatch("data/alerts/rules.example.yml", line) for line in ignored)


def test_until_the_rules_file_exists_the_example_is_in_force(first_use):
    path, example = first_use
    shipped = load_rules(SHIPPED)
    assert load_rules(path) == shipped
    assert rules_file_fingerprint(path) == rules_file_fingerprint(example) != "missing"
    assert not path.exists()  # reading copies nothing


def test_first_use_copies_the_example_byte_for_byte_once(first_use):
    path, example = first_use
    fingerprint = rules_file_fingerprint(path)
    assert ensure_rules_file(path) is True
    assert path.read_bytes() == example.read_bytes()
    assert rules_file_fingerprint(path) == fingerprint  # the sensor sees no change
    save_rules(path, [rule()])
    assert ensure_rules_file(path) is False  # an existing file is never replaced
    assert [r.id for r in load_rules(path)] == ["aapl-above-170"]
    assert example.read_bytes() == SHIPPED.read_bytes()
    assert sorted(p.name for p in path.parent.iterdir() if not p.name.endswith(".lock")) == [
        "rules.example.yml", "rules.yml",
    ]  # fmt: skip


def test_the_first_write_starts_from_the_example_and_leaves_it_unchanged(first_use):
    path, example = first_use
    add_rule(path, rule(id="msft-above-100", tickers=["MSFT"], level=100))
    assert [r.id for r in load_rules(path)] == [r.id for r in load_rules(SHIPPED)] + ["msft-above-100"]
    assert example.read_bytes() == SHIPPED.read_bytes()


def test_no_example_and_no_file_means_no_rules(tmp_path):
    path = tmp_path / "rules.yml"
    assert load_rules(path) == [] and rules_file_fingerprint(path) == "missing"
    assert ensure_rules_file(path) is False and not path.exists()


def test_an_example_file_is_never_written(first_use):
    _, example = first_use
    for write_to_example in (
        lambda: save_rules(example, [rule()]),
        lambda: add_rule(example, rule(id="other")),
        lambda: set_enabled(example, "aapl-above-170", False),
        lambda: delete_rule(example, "aapl-above-170"),
        lambda: ensure_rules_file(example),
    ):
        with pytest.raises(ExampleFileError, match="is an example rules file .* set ALERT_RULES_FILE"):
            write_to_example()
    assert example.read_bytes() == SHIPPED.read_bytes()


# --------------------------------------------------------------------------- the rules-file sensor


@pytest.fixture()
def rules_file(tmp_path):
    return tmp_path / "rules.yml"


def test_rules_sensor_runs_on_change_only_and_skips_invalid_files_and_busy_warehouse(rules_file):
    alerts = AlertsResource(rules_file=str(rules_file))
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance, resources={"alerts": alerts})
        first = alert_rules_sensor(context)
        assert isinstance(first, SkipReason) and "recorded the fingerprint" in first.skip_message
        assert context.cursor == "missing"
        assert isinstance(alert_rules_sensor(context), SkipReason)  # unchanged

        save_rules(rules_file, [rule()])
        request = alert_rules_sensor(context)
        assert isinstance(request, RunRequest) and request.tags["alerts/rules"] == "1"
        assert context.cursor != "missing"
        unchanged = alert_rules_sensor(context)
        assert isinstance(unchanged, SkipReason) and "unchanged" in unchanged.skip_message

        valid_cursor = context.cursor
        write(rules_file, "rules:\n  - {id: x, type: rsi_above, tickers: [NVDA]}\n")
        invalid = alert_rules_sensor(context)
        assert isinstance(invalid, SkipReason)
        assert f"{rules_file}, rule 1 (id 'x'), field 'level': required by rsi_above" in invalid.skip_message
        assert context.cursor == valid_cursor  # not advanced: the fixed file is picked up

        save_rules(rules_file, [rule(), rule(id="second")])  # fixed, and changed
        instance.add_run(DagsterRun(job_name="warehouse_build", run_id=make_new_run_id(),
                                    status=DagsterRunStatus.STARTED))  # fmt: skip
        busy = alert_rules_sensor(context)
        assert isinstance(busy, SkipReason) and "warehouse_build) is in progress" in busy.skip_message
        assert context.cursor == valid_cursor


def test_sensor_fingerprint_is_the_file_content(tmp_path):
    path = write(tmp_path / "r.yml", "rules:\n")
    first = rules_module.rules_file_fingerprint(path)
    os.utime(path, (0, 0))
    assert rules_module.rules_file_fingerprint(path) == first
    write(path, "rules: []\n")
    assert rules_module.rules_file_fingerprint(path) != first


def test_rules_sensor_sees_the_example_and_not_its_first_use_copy(first_use):
    path, example = first_use
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance, resources={"alerts": AlertsResource(rules_file=str(path))})
        alert_rules_sensor(context)
        assert context.cursor == rules_file_fingerprint(example)
        ensure_rules_file(path)
        unchanged = alert_rules_sensor(context)
        assert isinstance(unchanged, SkipReason) and "unchanged" in unchanged.skip_message
        add_rule(path, rule(id="msft-above-100", tickers=["MSFT"], level=100))
        request = alert_rules_sensor(context)
        assert isinstance(request, RunRequest) and request.tags["alerts/rules"] == str(len(load_rules(SHIPPED)) + 1)

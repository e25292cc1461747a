"""The code location loads and has the shape the README describes."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from dagster import AssetCheckKey, AssetKey, build_schedule_context

from domain.settings import Settings
from pipelines.defs.dbt.assets import dbt_models
from pipelines.defs.prices.window import WindowError, resolve_window, source_sessions
from pipelines.lib.resources import build_resources

NEW_YORK = ZoneInfo("America/New_York")


def test_asset_graph_layers_groups_and_lineage(definitions):
    graph = definitions.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {
        "raw/prices_daily", "raw/companies", "raw/company_financials",
        "staging/stg_prices__daily", "marts/fct_daily_indicators",
        "marts/mart_screener_latest", "marts/dim_companies", "serving/warehouse_snapshot",
    } <= keys
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if key in dbt_models.keys:
            assert node.group_name == key.path[0]
            assert node.owners == ["team:analytics-engineering"]
            assert "dbt" in node.kinds
        assert node.description, key
    staging_prices = graph.get(AssetKey(["staging", "stg_prices__daily"]))
    assert AssetKey(["raw", "prices_daily"]) in staging_prices.parent_keys
    snapshot = graph.get(AssetKey(["serving", "warehouse_snapshot"]))
    assert AssetKey(["marts", "mart_screener_latest"]) in snapshot.parent_keys
    assert AssetKey(["alerts", "alert_events"]) in snapshot.parent_keys
    alerts = graph.get(AssetKey(["alerts", "alert_events"]))
    assert alerts.group_name == "alerts"
    assert {AssetKey(["marts", "fct_daily_indicators"]), AssetKey(["marts", "mart_screener_latest"])} <= alerts.parent_keys
    portfolio_models = {k.to_user_string() for k in graph.get(AssetKey(["raw", "portfolio_transactions"])).child_keys}
    assert "staging/stg_portfolios__transactions" in portfolio_models


def test_checks_include_ge_suites_and_dbt_tests(definitions):
    graph = definitions.resolve_asset_graph()
    prices_checks = {c.name for c in graph.get_check_keys_for_assets({AssetKey(["raw", "prices_daily"])})}
    assert prices_checks == {"rows_pass_expectations", "daily_completeness"}
    mart_checks = graph.get_check_keys_for_assets({AssetKey(["marts", "fct_daily_indicators"])})
    assert {c.name for c in mart_checks} == {"dbt_tests"}  # one check per model for all its dbt tests
    key = AssetKey(["marts", "fct_daily_indicators"])
    spec = next(s for s in definitions.resolve_assets_def(key).check_specs if s.asset_key == key)
    assert "unique (ticker, trade_date)" in spec.description  # the check says what it tests, in words


def test_price_window_is_a_range_of_exchange_sessions():
    price_source = build_resources(Settings.from_values(), environ={})["price_source"]
    today = date(2018, 2, 8)
    assert source_sessions(price_source, today) == (date(2013, 2, 8), date(2018, 2, 7))  # the bundled file
    # no config: the whole file; a weekend-dated row of the last session's week falls into the window
    assert resolve_window(price_source, None, None, today) == (date(2013, 2, 8), date(2018, 2, 8))
    assert resolve_window(price_source, "2017-06-30", "2017-07-03", today) == (date(2017, 6, 30), date(2017, 7, 5))
    for first, last, message in [
        ("2017-07-04", None, "first_session 2017-07-04 is not an XNYS session"),  # Independence Day
        ("2017-07-01", None, "not an XNYS session"),  # Saturday
        ("2017-07-05", "2017-07-03", "first_session 2017-07-05 is after last_session 2017-07-03"),
        ("2013-02-07", None, "outside the span"),  # before HISTORY_START
        ("2018-02-07", "2018-02-09", "outside the span"),  # after today's session
        ("2017-13-01", None, "first_session '2017-13-01' is not a date"),
    ]:
        with pytest.raises(WindowError, match=message):
            resolve_window(price_source, first, last, today)


def test_schedule_requests_the_closed_session_and_skips_holidays(definitions):
    schedule = definitions.resolve_schedule_def("weekday_after_close_schedule")
    assert schedule.cron_schedule == "30 18 * * 1-5"
    assert schedule.execution_timezone == "America/New_York"
    assert schedule.job_name == "prices_update"
    # the daily job: the price sources and what is downstream of them, not the other sources
    daily = definitions.resolve_job_def("prices_update").asset_layer.selected_asset_keys
    everything = definitions.resolve_job_def("warehouse_build").asset_layer.selected_asset_keys
    names = {key.to_user_string() for key in daily}
    assert {"raw/prices_daily", "raw/corporate_actions", "marts/fct_daily_indicators", "marts/fct_daily_valuation",
            "marts/mart_screener_latest", "marts/fct_portfolio_daily", "serving/warehouse_snapshot"} <= names  # fmt: skip
    assert not names & {"raw/sec_facts", "raw/news_articles", "raw/companies", "marts/mart_news_daily"}
    assert daily < everything

    repository = definitions.get_repository_def()
    context = build_schedule_context(
        scheduled_execution_time=datetime(2017, 7, 3, 18, 30, tzinfo=NEW_YORK), repository_def=repository
    )
    requests = list(schedule.evaluate_tick(context).run_requests)
    assert [r.run_config for r in requests] == [
        {"ops": {"raw__prices_daily": {"config": {"allow_shrink": False, "price_feeds": ["us"],
                                                  "first_session": "2017-07-03", "last_session": "2017-07-03"}}}}
    ]  # fmt: skip
    holiday = build_schedule_context(
        scheduled_execution_time=datetime(2017, 7, 4, 18, 30, tzinfo=NEW_YORK), repository_def=repository
    )
    assert list(schedule.evaluate_tick(holiday).run_requests or []) == []


def test_a_failed_build_says_nothing_was_published(monkeypatch, capsys):
    """``python -m pipelines.build`` exits non-zero and does not claim a publish it did not make."""
    import pipelines.build as build

    monkeypatch.setattr(build, "published_build", lambda settings: "no build has been published yet")
    monkeypatch.setattr(build, "run_build", lambda settings, first, last, **_: build.BuildResult(
        False, "run-x", errors=("raw__prices_daily: refusing to replace",)))  # fmt: skip
    assert build.main([]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "build FAILED (warehouse_build run run-x); nothing new was published",
        "  raw__prices_daily: refusing to replace",
        "analysts and BI keep no build has been published yet",
        "ALERT warehouse_build run run-x failed, nothing new was published (raw__prices_daily: refusing to "
        "replace); analysts and BI keep no build has been published yet",
        "build_failed alert: log sent",
    ]
    monkeypatch.setattr(build, "run_build", lambda settings, first, last, **_: build.BuildResult(False, "run-y", "run-z"))
    assert build.main([]) == 1
    assert "alerts_evaluate FAILED (run run-z)" in capsys.readouterr().out


def test_dbt_target_folders_do_not_pile_up(tmp_path):
    """A successful dbt invocation's folder goes; of the others (failed runs), the 5 newest stay."""
    import os

    from pipelines.defs.dbt.assets import prune_targets

    folders = []
    for number in range(8):
        folder = tmp_path / f"dbt_models-run{number}-abc"
        (folder / "run").mkdir(parents=True)
        (folder / "dbt.log").write_text("log")
        os.utime(folder, (1_000_000 + number, 1_000_000 + number))
        folders.append(folder)
    prune_targets(folders[7])
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"dbt_models-run{n}-abc" for n in (2, 3, 4, 5, 6)]


def test_dbt_cli_resource_reports_the_version_dbt_itself_prints(tmp_path):
    """The dbt CLI resource reads dbt's version from the installed package instead of running
    ``dbt --version`` before every build: both must agree, or dagster-dbt would take the
    wrong code path."""
    import re
    import subprocess

    from pipelines.lib.resources import dbt_executable

    resource = build_resources(Settings(warehouse_path=tmp_path / "w.duckdb"), environ={})["dbt"]._cli_resource()
    printed = subprocess.run([dbt_executable(), "--version"], capture_output=True, text=True, check=True).stdout
    assert str(resource._cli_version) == re.search(r"(\d+\.\d+\.\d+)", printed).group(1)
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_dbt_parse_publishes_its_artifacts_whole(tmp_path):
    """``parse_atomically``: while dbt parses (into a folder of its own), ``target/`` keeps the
    previous complete manifest for other processes; then the new files replace it at once; a
    failed parse leaves the previous files and no scratch folder."""
    import json

    from pipelines.lib.resources import parse_atomically

    target = tmp_path / "target"
    target.mkdir()
    (target / "manifest.json").write_text(json.dumps({"old": True}))

    class Parse:
        def __init__(self, scratch, fail=False):
            self.scratch, self.fail = scratch, fail

        def wait(self):
            assert json.loads((target / "manifest.json").read_text()) == {"old": True}
            self.scratch.mkdir(parents=True)
            (self.scratch / "manifest.json").write_text(json.dumps({"new": True}))
            (self.scratch / "partial_parse.msgpack").write_bytes(b"state")
            if self.fail:
                raise RuntimeError("dbt parse failed")

    with pytest.raises(RuntimeError, match="dbt parse failed"):
        parse_atomically(lambda scratch: Parse(scratch, fail=True), target)
    assert sorted(p.name for p in target.iterdir()) == ["manifest.json"]
    assert json.loads((target / "manifest.json").read_text()) == {"old": True}
    parse_atomically(Parse, target)
    assert sorted(p.name for p in target.iterdir()) == ["manifest.json", "partial_parse.msgpack"]
    assert json.loads((target / "manifest.json").read_text()) == {"new": True}


def test_every_check_has_a_description_and_a_short_name(definitions):
    """The Dagster UI shows each check's name and description: none is empty, none is cut."""
    graph = definitions.resolve_asset_graph()
    assert len(graph.asset_check_keys) > 40
    for key in graph.asset_check_keys:
        spec = graph.get_check_spec(key)
        assert spec.description and spec.description.strip(), key
        assert len(key.name) <= 40, key


def test_dbt_check_description_lists_the_model_tests_in_words(definitions):
    """``marts/fct_daily_indicators``'s ``dbt_tests`` check: what its tests check, and as many tests
    as dbt attaches to the model (counted from the manifest here)."""
    import json

    from pipelines.defs.dbt.assets import PROJECT

    manifest = json.loads(PROJECT.manifest_path.read_text())
    attached = [
        node for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and node.get("attached_node") == "model.stock_warehouse.fct_daily_indicators"
    ]  # fmt: skip
    description = definitions.resolve_asset_graph().get_check_spec(
        AssetCheckKey(AssetKey(["marts", "fct_daily_indicators"]), "dbt_tests")
    ).description
    assert description.startswith(f"dbt tests of fct_daily_indicators ({len(attached)} tests), run by dbt build")
    for phrase in [
        "unique (ticker, trade_date)",
        "not null: ticker, trade_date, bar_number, open, high, low, close, volume",
        "ticker in dim_companies.ticker",
        "as many rows as stg_prices__daily",
        "adjusted_close > 0",
        "stoch_k between -1e-9 and 100 + 1e-9 (warns)",
    ]:
        assert phrase in description, phrase
    assert "unique_combination_of_columns_" not in description  # no machine names

"""The code location loads and has the shape the README describes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dagster import AssetKey, build_schedule_context

from domain.settings import Settings
from pipelines.build import history_range
from pipelines.defs.dbt.assets import dbt_models
from pipelines.lib.partitions import trading_day_partitions

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
    assert len(mart_checks) >= 3  # dbt tests become asset checks


def test_partitions_are_exchange_sessions():
    partitions = trading_day_partitions()
    keys = partitions.get_partition_keys(current_time=datetime(2018, 2, 8, tzinfo=NEW_YORK))
    assert keys[0] == "2013-02-08" and keys[-1] == "2018-02-08"
    assert len([k for k in keys if k <= "2018-02-07"]) == 1259  # sessions in the bundled file
    assert "2017-07-04" not in keys and "2017-07-01" not in keys  # holiday, Saturday
    assert history_range(Settings.from_values()) == ("2013-02-08", "2018-02-07")


def test_schedule_requests_the_closed_session_and_skips_holidays(definitions):
    schedule = definitions.resolve_schedule_def("weekday_after_close_schedule")
    job = definitions.resolve_job_def("warehouse_build")
    assert schedule.cron_schedule == "30 18 * * 1-5"
    assert schedule.execution_timezone == "America/New_York"
    assert job.name == "warehouse_build"

    repository = definitions.get_repository_def()
    context = build_schedule_context(
        scheduled_execution_time=datetime(2017, 7, 3, 18, 30, tzinfo=NEW_YORK), repository_def=repository
    )
    requests = list(schedule.evaluate_tick(context).run_requests)
    assert [r.partition_key for r in requests] == ["2017-07-03"]
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
        "build FAILED (run run-x); nothing new was published",
        "  raw__prices_daily: refusing to replace",
        "analysts and BI keep no build has been published yet",
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

"""Backtests in Dagster: one dynamic partition per strategy file, the strategies run after each
build (``python -m pipelines.build`` and a run-status sensor) and are published."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, build_sensor_context

from pipelines.defs.backtests.assets import STRATEGY_PARTITIONS
from pipelines.defs.backtests.sensors import strategy_files_sensor
from pipelines.lib.resources import StrategiesResource

STRATEGIES = Path(__file__).resolve().parents[1] / "data" / "strategies"


def _tick(instance, folder: Path, cursor: str | None):
    context = build_sensor_context(
        instance=instance, resources={"strategies": StrategiesResource(folder=str(folder))}, cursor=cursor
    )
    result = strategy_files_sensor(context)
    for request in result.dynamic_partitions_requests or []:
        if request.__class__.__name__ == "AddDynamicPartitionsRequest":
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
    return result, context.cursor


def test_the_sensor_keeps_one_partition_per_file_and_runs_changed_files(tmp_path):
    folder = tmp_path / "strategies"
    folder.mkdir()
    for name in ("us_momentum_top20", "krx_momentum_top20"):
        shutil.copyfile(STRATEGIES / f"{name}.yml", folder / f"{name}.yml")
    with DagsterInstance.ephemeral() as instance:
        first, cursor = _tick(instance, folder, None)
        assert first.run_requests == []  # the build runs every strategy: the first tick only records
        assert sorted(instance.get_dynamic_partitions(STRATEGY_PARTITIONS.name)) == ["krx_momentum_top20",
                                                                                    "us_momentum_top20"]  # fmt: skip
        again, cursor = _tick(instance, folder, cursor)
        assert again.run_requests == []

        edited = folder / "us_momentum_top20.yml"
        edited.write_text(edited.read_text(encoding="utf-8").replace("top_n: 20", "top_n: 10"), encoding="utf-8")
        shutil.copyfile(STRATEGIES / "us_low_rsi_weekly.yml", folder / "us_low_rsi_weekly.yml")
        (folder / "krx_momentum_top20.yml").unlink()
        changed, cursor = _tick(instance, folder, cursor)
        assert sorted(r.partition_key for r in changed.run_requests) == ["us_low_rsi_weekly", "us_momentum_top20"]
        assert sorted(instance.get_dynamic_partitions(STRATEGY_PARTITIONS.name)) == ["us_low_rsi_weekly",
                                                                                    "us_momentum_top20"]  # fmt: skip


@pytest.mark.integration
def test_the_build_ran_and_published_every_shipped_strategy(built_warehouse):
    with duckdb.connect(str(built_warehouse.snapshot_path), read_only=True) as con:
        runs = con.execute(
            "select strategy_name, data_build, sessions from backtests.backtest_runs order by strategy_name"
        ).fetchall()
        metrics = dict(con.execute(
            "select r.strategy_name, m.value from backtests.backtest_metrics as m join backtests.backtest_runs as r "
            "using (run_id) where m.metric = 'rebalances'"
        ).fetchall())  # fmt: skip
    assert [name for name, _, _ in runs] == sorted(p.stem for p in STRATEGIES.glob("*.yml"))
    assert all(build not in ("", "unpublished") for _, build, _ in runs)
    assert metrics["us_momentum_top20"] == 50 and metrics["us_low_rsi_weekly"] == 214
    assert metrics["krx_momentum_top20"] > 40  # on the session build's KRX cut


@pytest.mark.integration
def test_a_bad_strategy_file_is_named_and_the_others_still_run(built_warehouse, tmp_path):
    from dagster import materialize

    from pipelines.defs.backtests.assets import strategy_runs
    from tests.conftest import copy_built_warehouse, resources_for

    folder = tmp_path / "strategies"
    folder.mkdir()
    shutil.copyfile(STRATEGIES / "us_low_rsi_weekly.yml", folder / "us_low_rsi_weekly.yml")
    (folder / "broken.yml").write_text("name: broken\nmarket: US\nrank_by: rsi_14\ntop_n: 0\n", encoding="utf-8")
    settings = copy_built_warehouse(built_warehouse, tmp_path / "warehouse", strategies_dir=folder)
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(STRATEGY_PARTITIONS.name, ["broken", "us_low_rsi_weekly"])
        result = materialize(
            [strategy_runs], resources=resources_for(settings), instance=instance,
            tags={"dagster/asset_partition_range_start": "broken", "dagster/asset_partition_range_end": "us_low_rsi_weekly"},
            raise_on_error=False,
        )  # fmt: skip
        assert result.success
        checks = result.get_asset_check_evaluations()
        assert len(checks) == 1 and not checks[0].passed
        failed = checks[0].metadata["failed"].data
        assert list(failed) == ["broken"] and "broken.yml: field 'top_n'" in failed["broken"]
        assert "field 'start'" in failed["broken"]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        names = con.execute("select strategy_name from backtests.backtest_runs").fetchall()
    assert ("us_low_rsi_weekly",) in names and ("broken",) not in names


class _FakeRun:
    """What :func:`pipelines.build.run_after_build` reads of an in-process run result."""

    def __init__(self, run_id: str, success: bool, succeeded_steps: list[str]):
        self.run_id, self.success = run_id, success
        self._steps = succeeded_steps

    def get_step_success_events(self):
        return [type("Event", (), {"step_key": step})() for step in self._steps]

    def get_step_failure_events(self):
        return []


class _FakeJob:
    """A job whose ``execute_in_process`` records its asset selection and returns ``outcome(selection)``."""

    def __init__(self, name: str, calls: list, outcome):
        self.name, self.calls, self.outcome = name, calls, outcome

    def execute_in_process(self, asset_selection=None, **kwargs):
        selection = None if asset_selection is None else sorted(key.to_user_string() for key in asset_selection)
        self.calls.append((self.name, selection, kwargs.get("tags", {}).get("dagster/asset_partition_range_end")))
        return self.outcome(selection)


@pytest.mark.parametrize(
    ("strategy_files", "backtests_publish", "expected"),
    [
        ([], True, [("alerts_evaluate", None, None)]),
        (["a.yml", "b.yml"], True, [("alerts_evaluate", ["alerts/alert_events"], None), ("backtests_run", None, "b")]),
        (["a.yml"], False, [("alerts_evaluate", ["alerts/alert_events"], None), ("backtests_run", None, "a"),
                            ("alerts_evaluate", ["serving/warehouse_snapshot"], None)]),
    ],
)  # fmt: skip
def test_after_a_build_the_alerts_and_the_strategies_share_one_publish(tmp_path, strategy_files, backtests_publish,
                                                                        expected):  # fmt: skip
    """``run_after_build``: without strategy files ``alerts_evaluate`` runs whole (rules, then its
    snapshot); with them, the alerts run leaves out its snapshot and ``backtests_run`` (every file
    as one partition range) publishes; a backtests run that fails before its snapshot is followed
    by the alerts job's snapshot alone, so the alert events are published all the same."""
    from pipelines.build import run_after_build
    from tests.conftest import test_settings

    folder = tmp_path / "strategies"
    folder.mkdir()
    for name in strategy_files:
        shutil.copyfile(STRATEGIES / "us_low_rsi_weekly.yml", folder / name)
    settings = test_settings(tmp_path, strategies_dir=folder)
    calls: list = []
    jobs = {
        "alerts_evaluate": _FakeJob("alerts_evaluate", calls, lambda selection: _FakeRun(
            "alerts-run", True, ["alerts__alert_events", "serving__warehouse_snapshot"])),
        "backtests_run": _FakeJob("backtests_run", calls, lambda selection: _FakeRun(
            "backtests-run", backtests_publish,
            ["backtests__strategy_runs", "serving__warehouse_snapshot"] if backtests_publish else [])),
    }  # fmt: skip
    defs = type("Defs", (), {"resolve_job_def": staticmethod(jobs.__getitem__)})()
    with DagsterInstance.ephemeral() as instance:
        alerts, backtests = run_after_build(defs, instance, settings)
    assert calls == expected
    assert alerts.run_id == "alerts-run"
    assert (backtests is None) == (not strategy_files)


def test_after_a_rebuild_every_strategy_runs_once_and_other_jobs_are_skipped():
    """``backtests_after_build_sensor``: a successful ``prices_update`` requests one
    ``backtests_run`` over every strategy partition (run key per build run); without partitions,
    and after a job that does not rebuild the marts, it skips with the reason."""
    from dagster import (
        DagsterEvent,
        DagsterEventType,
        DagsterRun,
        DagsterRunStatus,
        RunRequest,
        SkipReason,
        build_run_status_sensor_context,
    )
    from dagster._core.utils import make_new_run_id

    from pipelines.defs.backtests.sensors import backtests_after_build_sensor

    def evaluate(instance, job_name):
        run = DagsterRun(job_name=job_name, run_id=make_new_run_id(), status=DagsterRunStatus.SUCCESS)
        event = DagsterEvent(event_type_value=DagsterEventType.RUN_SUCCESS.value, job_name=job_name)
        context = build_run_status_sensor_context(sensor_name="backtests_after_build_sensor", dagster_instance=instance,
                                                  dagster_run=run, dagster_event=event)  # fmt: skip
        return backtests_after_build_sensor(context), run

    with DagsterInstance.ephemeral() as instance:
        none_yet, _ = evaluate(instance, "prices_update")
        instance.add_dynamic_partitions(STRATEGY_PARTITIONS.name, ["b", "a"])
        request, run = evaluate(instance, "prices_update")
        other, _ = evaluate(instance, "alerts_evaluate")
    assert isinstance(none_yet, SkipReason) and "no strategy partitions" in none_yet.skip_message
    assert isinstance(request, RunRequest) and request.run_key == f"backtests-after-{run.run_id}"
    assert request.tags["dagster/asset_partition_range_start"] == "a"
    assert request.tags["dagster/asset_partition_range_end"] == "b"
    assert isinstance(other, SkipReason) and "alerts_evaluate does not rebuild the marts" in other.skip_message

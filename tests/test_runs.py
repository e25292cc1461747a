"""A killed build does not block the sensors for ever: its run is failed once its process is gone."""

from __future__ import annotations

import socket
import subprocess
import sys

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunRequest, build_sensor_context
from dagster._core.utils import make_new_run_id

from pipelines.defs.alerts.sensors import alert_rules_sensor
from pipelines.lib.resources import AlertsResource
from pipelines.lib.runs import HOST_TAG, PID_TAG, active_run, process_tags


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _add(instance, pid: int, host: str = socket.gethostname(), job: str = "warehouse_build") -> DagsterRun:
    run = DagsterRun(job_name=job, run_id=make_new_run_id(), status=DagsterRunStatus.STARTED,
                     tags={HOST_TAG: host, PID_TAG: str(pid)})  # fmt: skip
    instance.add_run(run)
    return run


def test_a_run_whose_process_is_gone_is_failed_not_waited_for():
    with DagsterInstance.ephemeral() as instance:
        killed = _add(instance, _dead_pid())
        assert active_run(instance) is None
        assert instance.get_run_by_id(killed.run_id).status == DagsterRunStatus.FAILURE
        alive = _add(instance, int(process_tags()[PID_TAG]))  # this very process: still running
        elsewhere = _add(instance, _dead_pid(), host="another-host")  # cannot be checked from here
        assert active_run(instance, ["warehouse_build"]).run_id in {alive.run_id, elsewhere.run_id}
        assert instance.get_run_by_id(alive.run_id).status == DagsterRunStatus.STARTED
        assert instance.get_run_by_id(elsewhere.run_id).status == DagsterRunStatus.STARTED


def test_the_rules_sensor_recovers_after_a_killed_build(tmp_path):
    from domain.alerts.rules import parse_rule
    from domain.alerts.store import save_rules

    rules = tmp_path / "rules.yml"
    resources = {"alerts": AlertsResource(rules_file=str(rules))}
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance, resources=resources)
        alert_rules_sensor(context)  # records the fingerprint of "no file"
        _add(instance, _dead_pid())  # a build that was killed: STARTED for ever
        save_rules(rules, [parse_rule({"id": "x", "type": "price_above", "tickers": ["AAPL"], "level": 1})])
        assert isinstance(alert_rules_sensor(context), RunRequest)

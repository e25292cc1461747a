"""A failed ``warehouse_build`` raises a ``build_failed`` alert (the daily run's gate)."""

from __future__ import annotations

import json
from datetime import datetime

import httpx
import respx

from pipelines.defs.alerts.build_failures import build_failure_event, send_build_failure
from pipelines.lib.resources import AlertsResource


def test_the_alert_names_the_run_the_failed_steps_and_what_analysts_keep():
    event = build_failure_event(
        "run-1",
        ["raw__prices_daily: daily_completeness failed\nsessions below: 2018-02-07", "dbt_models: skipped"],
        "the previous snapshot data/warehouse.snapshot.duckdb (published 2018-02-07 22:00:00 UTC)",
        now=datetime(2018, 2, 8, 23, 30, 5, 123),
    )
    assert event["rule_id"] == "build_failed" and event["ticker"] is None
    assert event["message"] == (
        "warehouse_build run run-1 failed, nothing new was published (raw__prices_daily: daily_completeness "
        "failed; dbt_models: skipped); analysts and BI keep the previous snapshot "
        "data/warehouse.snapshot.duckdb (published 2018-02-07 22:00:00 UTC)"
    )
    assert event["fired_at"] == datetime(2018, 2, 8, 23, 30, 5) and event["observed_value"] == 2.0
    assert build_failure_event("run-1", [], "x")["event_id"] == event["event_id"]  # one alert per run


def test_the_alert_goes_to_every_configured_channel_and_a_failing_one_is_reported():
    logged = []
    event = build_failure_event("run-2", ["raw__prices_daily: failed"], "the previous build")
    with respx.mock() as router:
        hook = router.post("https://hooks.example/alerts").mock(return_value=httpx.Response(204))
        outcome = send_build_failure(
            AlertsResource(rules_file="rules.yml", webhook_url="https://hooks.example/alerts"), event, logged.append
        )
    assert outcome == {"log": "sent", "webhook": "sent"}  # e-mail is not configured: left out
    assert json.loads(hook.calls[0].request.content)["rule_id"] == "build_failed"
    assert logged == [f"ALERT {event['message']}"]
    with respx.mock() as router:
        router.post("https://hooks.example/alerts").mock(return_value=httpx.Response(500))
        outcome = send_build_failure(
            AlertsResource(rules_file="r.yml", webhook_url="https://hooks.example/alerts"), event
        )
    assert outcome["log"] == "sent" and "500" in outcome["webhook"]


def test_the_sensor_watches_the_build_job(definitions):
    sensor = definitions.resolve_sensor_def("build_failure_alert_sensor")
    assert sensor.default_status.value == "RUNNING"
    assert "warehouse_build" in sensor.description

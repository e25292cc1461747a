"""Alert delivery through the outbox, without network: a local HTTP server (``http.server`` in a
thread) for the webhook and a local SMTP server (aiosmtpd) for e-mail. Failures stay pending with
the error and a backoff (clock injected), succeed later, are never sent twice; unconfigured
channels stay pending; a crash mid-way loses nothing; the retry sensor; the same evaluation and
delivery on PostgreSQL."""

# ruff: noqa: F811  (the fixtures imported from tests.alert_marts are test arguments)
from __future__ import annotations

import json
import shutil
import socket
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
from aiosmtpd.controller import Controller
from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    RunRequest,
    SkipReason,
    build_sensor_context,
)
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.utils import make_new_run_id

from domain.alerts.rules import parse_rule
from domain.alerts.store import save_rules
from domain.settings import SmtpSettings
from domain.warehouse.sql import TableNames
from domain.warehouse.duckdb_backend import DuckDBWarehouse
from pipelines.defs.alerts.channels import EmailChannel, LogChannel, WebhookChannel
from pipelines.defs.alerts.delivery import (
    MAX_BACKOFF,
    deliver_due,
    due_count,
    next_attempt_at,
)
from pipelines.defs.alerts.evaluate import evaluate_rules
from pipelines.defs.alerts.sensors import alert_delivery_retry_sensor
from pipelines.defs.alerts.tables import ensure_alert_tables
from pipelines.defs.news.sensors import interval_key
from tests.alert_marts import con, copy_marts, warehouse_file  # noqa: F401 (fixtures)
from tests.conftest import resources_for, scratch_database, test_settings

T0 = datetime(2026, 3, 2, 22, 0)
AAPL_SMA50 = {"id": "aapl-x", "type": "price_cross_above_sma", "tickers": ["AAPL"], "window": 50,
              "since": "2017-10-01"}  # fmt: skip
AAPL_DAYS = [date(2017, 10, 16), date(2017, 10, 27), date(2018, 1, 2)]


class Clock:
    """Injected time (naive UTC)."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# --------------------------------------------------------------------------- local servers


class WebhookServer:
    """A local HTTP server answering each POST with ``status`` and recording the JSON bodies."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[dict] = []
        self.content_types: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.received.append(json.loads(body))
                server.content_types.append(self.headers["Content-Type"])
                reply = b"ok" if server.status < 300 else b"upstream exploded"
                self.send_response(server.status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/alerts"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> WebhookServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def webhook() -> Iterator[WebhookServer]:
    with WebhookServer() as server:
        yield server


class Mailbox:
    """aiosmtpd handler keeping every envelope."""

    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


# --------------------------------------------------------------------------- warehouse with events


@pytest.fixture(scope="module")
def marts_template(built_warehouse, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("alert_delivery") / "template.duckdb"
    copy_marts(built_warehouse.warehouse_path, target, tickers=("AAPL", "NVDA"))
    return target


def fire(warehouse, channels: list[str]) -> None:
    """Evaluate the AAPL / SMA 50 rule: three real events (AAPL_DAYS), fired at T0."""
    ensure_alert_tables(warehouse)
    evaluate_rules(warehouse, [parse_rule(AAPL_SMA50 | {"channels": channels})], T0)


def deliveries(con) -> list[dict]:
    frame = con.sql(
        "select e.trade_date, d.* from alerts.alert_deliveries d join alerts.alert_events e using (event_id) "
        "order by e.trade_date, d.channel"
    ).pl()
    return frame.to_dicts()


# --------------------------------------------------------------------------- webhook


def test_webhook_failure_stays_pending_then_is_delivered_once_after_the_retry_time(con, warehouse_file, webhook):
    wh = DuckDBWarehouse(con, TableNames())
    fire(wh, ["webhook"])
    channels = {"webhook": WebhookChannel(webhook.url)}
    clock = Clock(T0 + timedelta(seconds=30))

    webhook.status = 500
    first = deliver_due(wh, channels, retry_minutes=5, clock=clock)
    assert (first.attempted, first.delivered, first.failed) == (3, 0, 3)
    for row in deliveries(con):
        assert row["status"] == "pending" and row["attempts"] == 1
        assert row["last_error"] == f"ChannelError: webhook POST {webhook.url}: HTTP 500 Internal Server Error"
        assert row["last_attempt_at"] == clock.now and row["delivered_at"] is None
        assert row["next_attempt_at"] == clock.now + timedelta(minutes=5)
    assert len(webhook.received) == 3

    webhook.status = 200
    clock.now = T0 + timedelta(minutes=5, seconds=29)  # not yet due
    assert deliver_due(wh, channels, retry_minutes=5, clock=clock).attempted == 0
    clock.now = T0 + timedelta(minutes=5, seconds=30)
    second = deliver_due(wh, channels, retry_minutes=5, clock=clock)
    assert (second.attempted, second.delivered, second.failed) == (3, 3, 0)
    for row in deliveries(con):
        assert (row["status"], row["attempts"], row["last_error"]) == ("delivered", 2, None)
        assert row["delivered_at"] == clock.now and row["next_attempt_at"] is None

    events = con.sql("select * from alerts.alert_events order by trade_date").pl().to_dicts()
    bodies = webhook.received[3:]
    assert [b["trade_date"] for b in bodies] == [d.isoformat() for d in AAPL_DAYS]
    for body, event in zip(bodies, events):
        assert body == {
            "event_id": event["event_id"], "rule_id": "aapl-x", "rule_type": "price_cross_above_sma",
            "ticker": "AAPL", "trade_date": event["trade_date"].isoformat(),
            "observed_value": event["observed_value"], "threshold": event["threshold"],
            "message": event["message"], "fired_at": "2026-03-02T22:00:00Z",
        }  # fmt: skip
    assert bodies[0]["observed_value"] == 159.88 and bodies[0]["threshold"] == pytest.approx(158.0826, abs=1e-9)
    assert set(webhook.content_types) == {"application/json"}

    clock.now = T0 + timedelta(days=1)
    assert deliver_due(wh, channels, retry_minutes=5, clock=clock).attempted == 0
    fire(wh, ["webhook"])  # the evaluation rerun fires nothing new
    assert deliver_due(wh, channels, retry_minutes=5, clock=clock).attempted == 0
    assert len(webhook.received) == 6  # 3 failed + 3 delivered, nothing sent twice


def test_webhook_errors_keep_no_credentials_nor_the_receivers_body(con, warehouse_file, webhook):
    """A URL with ``user:password@`` and ``?token=`` fails: the outbox keeps neither, nor what the
    receiver answered (it may echo the request)."""
    wh = DuckDBWarehouse(con, TableNames())
    fire(wh, ["webhook"])
    secret_url = webhook.url.replace("http://", "http://alerts:s3cret-pw@") + "?token=t0p-secret#frag"
    webhook.status = 403
    deliver_due(wh, {"webhook": WebhookChannel(secret_url)}, retry_minutes=5, clock=Clock(T0))
    errors = {row["last_error"] for row in deliveries(con)}
    assert errors == {f"ChannelError: webhook POST {webhook.url}: HTTP 403 Forbidden"}
    unreachable = "http://alerts:s3cret-pw@127.0.0.1:1/hook?token=t0p-secret"
    deliver_due(wh, {"webhook": WebhookChannel(unreachable)}, retry_minutes=5, clock=Clock(T0 + timedelta(hours=1)))
    for row in deliveries(con):
        assert "s3cret" not in row["last_error"] and "t0p-secret" not in row["last_error"], row["last_error"]
        assert "upstream exploded" not in row["last_error"]
    assert {row["last_error"].split(":")[1] for row in deliveries(con)} == {" webhook POST http"}


def test_backoff_doubles_per_failure_up_to_six_hours(con, warehouse_file, webhook):
    assert [next_attempt_at(T0, n, 5) - T0 for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (5, 10, 20, 40)]
    assert next_attempt_at(T0, 12, 5) - T0 == MAX_BACKOFF == timedelta(hours=6)
    wh = DuckDBWarehouse(con, TableNames())
    fire(wh, ["webhook"])
    webhook.status = 503
    clock = Clock(T0)
    deliver_due(wh, {"webhook": WebhookChannel(webhook.url)}, retry_minutes=7, clock=clock)
    clock.now = T0 + timedelta(minutes=7)
    deliver_due(wh, {"webhook": WebhookChannel(webhook.url)}, retry_minutes=7, clock=clock)
    assert {(r["attempts"], r["next_attempt_at"]) for r in deliveries(con)} == {(2, clock.now + timedelta(minutes=14))}


# --------------------------------------------------------------------------- e-mail, log, unconfigured


def test_email_one_message_per_event_through_a_local_smtp_server(con, warehouse_file, smtp_server):
    mailbox, port = smtp_server
    wh = DuckDBWarehouse(con, TableNames())
    fire(wh, ["email", "log"])
    smtp = SmtpSettings(host="127.0.0.1", port=port, starttls=False, sender="alerts@example.test",
                        recipients=("pm@example.test", "risk@example.test"))  # fmt: skip
    logged: list[str] = []
    report = deliver_due(wh, {"email": EmailChannel(smtp), "log": LogChannel(logged.append)}, 5, Clock(T0))
    assert (report.attempted, report.delivered) == (6, 6)
    assert report.per_channel == {"email": {"delivered": 3, "failed": 0}, "log": {"delivered": 3, "failed": 0}}
    assert len(mailbox.envelopes) == 3
    messages = con.execute("select message from alerts.alert_events order by trade_date").fetchall()
    assert logged == [f"ALERT {m}" for (m,) in messages]
    for envelope, day, (message,) in zip(mailbox.envelopes, AAPL_DAYS, messages):
        assert envelope.mail_from == "alerts@example.test"
        assert envelope.rcpt_tos == ["pm@example.test", "risk@example.test"]
        mail = message_from_bytes(envelope.original_content, policy=default_policy)
        assert mail["Subject"] == f"[alert] aapl-x: AAPL {day.isoformat()}"
        assert mail["To"] == "pm@example.test, risk@example.test"
        body = mail.get_content().replace("\r\n", "\n")  # SMTP line endings
        assert body.startswith(message + "\n") and f"trade_date: {day.isoformat()}" in body
    first_body = message_from_bytes(mailbox.envelopes[0].original_content, policy=default_policy).get_content()
    first_body = first_body.replace("\r\n", "\n")
    assert "observed_value: 159.88\n" in first_body and "threshold: 158.0826" in first_body


def test_unconfigured_channels_stay_pending_with_the_reason(con, warehouse_file):
    wh = DuckDBWarehouse(con, TableNames())
    fire(wh, ["webhook", "email"])
    report = deliver_due(wh, {"webhook": WebhookChannel(""), "email": EmailChannel(None)}, 5, Clock(T0))
    assert (report.attempted, report.failed, report.not_configured) == (6, 6, {"webhook", "email"})
    errors = {r["channel"]: r["last_error"] for r in deliveries(con)}
    assert errors == {
        "email": "ChannelNotConfigured: email channel: SMTP_HOST is not set",
        "webhook": "ChannelNotConfigured: webhook channel: ALERT_WEBHOOK_URL is not set",
    }
    assert {r["status"] for r in deliveries(con)} == {"pending"}
    no_addresses = EmailChannel(SmtpSettings(host="127.0.0.1", port=free_port()))
    report = deliver_due(wh, {"email": no_addresses}, 5, Clock(T0 + timedelta(hours=1)))
    assert "ALERT_EMAIL_FROM and ALERT_EMAIL_TO must be set" in report.errors[0]


def test_a_crash_mid_way_keeps_every_result_written_so_far(con, warehouse_file):
    wh = DuckDBWarehouse(con, TableNames())
    fire(wh, ["webhook"])
    sent: list[str] = []

    class Crashing:
        name = "webhook"

        def send(self, event):
            if sent:
                raise KeyboardInterrupt  # the process dies during the second send
            sent.append(event["event_id"])

    with pytest.raises(KeyboardInterrupt):
        deliver_due(wh, {"webhook": Crashing()}, 5, Clock(T0))
    assert [(r["trade_date"], r["status"], r["attempts"]) for r in deliveries(con)] == [
        (AAPL_DAYS[0], "delivered", 1), (AAPL_DAYS[1], "pending", 0), (AAPL_DAYS[2], "pending", 0)
    ]  # fmt: skip

    class Recording:
        name = "webhook"

        def send(self, event):
            sent.append(event["event_id"])

    report = deliver_due(wh, {"webhook": Recording()}, 5, Clock(T0 + timedelta(minutes=1)))
    assert report.delivered == 2 and len(sent) == len(set(sent)) == 3


# --------------------------------------------------------------------------- Dagster: asset and retry sensor


@pytest.fixture()
def alert_settings(warehouse_file, tmp_path):
    """Settings on the test's warehouse copy, rules in ``tmp_path``; call with more values."""

    def settings(**values):
        return test_settings(tmp_path, warehouse_path=warehouse_file, snapshot_path=tmp_path / "snapshot.duckdb",
                             alert_rules_file=tmp_path / "rules.yml", **values)  # fmt: skip

    return settings


def test_the_run_succeeds_with_a_warning_when_a_channel_fails(alert_settings, webhook, tmp_path):
    from pipelines.definitions import build_definitions

    settings = alert_settings(alert_webhook_url=webhook.url)
    defs = build_definitions(settings, environ={})
    save_rules(settings.alert_rules_file, [parse_rule(AAPL_SMA50 | {"channels": ["log", "webhook", "email"]})])
    webhook.status = 500
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("alerts_evaluate").execute_in_process(instance=instance)
        warnings = [
            record.user_message for record in instance.all_logs(result.run_id) if record.level == 30  # WARNING
        ]
    assert result.success
    assert any("alert channel email is not configured" in w for w in warnings)
    assert sum("alert delivery failed (will retry)" in w and "HTTP 500" in w for w in warnings) == 3
    with duckdb.connect(str(tmp_path / "snapshot.duckdb"), read_only=True) as snapshot:
        statuses = snapshot.execute(
            "select channel, status, count(*) from alerts.alert_deliveries group by 1, 2 order by 1, 2"
        ).fetchall()
    assert statuses == [("email", "pending", 3), ("log", "delivered", 3), ("webhook", "pending", 3)]


def test_retry_sensor_requests_a_run_only_when_a_delivery_is_due(alert_settings, con, warehouse_file, tmp_path):
    snapshot = tmp_path / "snapshot.duckdb"
    resources = resources_for(alert_settings())
    resources = {"warehouse": resources["warehouse"], "alerts": resources["alerts"]}
    with DagsterInstance.ephemeral() as instance:
        nothing = alert_delivery_retry_sensor(build_sensor_context(instance=instance, resources=resources))
        assert isinstance(nothing, SkipReason) and "no pending alert delivery is due" in nothing.skip_message

        wh = DuckDBWarehouse(con, TableNames())
        fire(wh, ["webhook"])
        con.execute("update alerts.alert_deliveries set next_attempt_at = '2100-01-01'")
        con.execute("checkpoint")
        shutil.copy(warehouse_file, snapshot)  # what the alerts job publishes
        later = alert_delivery_retry_sensor(build_sensor_context(instance=instance, resources=resources))
        assert isinstance(later, SkipReason)

        con.execute("update alerts.alert_deliveries set next_attempt_at = '2001-01-01'")
        con.execute("checkpoint")
        shutil.copy(warehouse_file, snapshot)
        before = interval_key(datetime.now(timezone.utc), 5)
        request = alert_delivery_retry_sensor(build_sensor_context(instance=instance, resources=resources))
        after = interval_key(datetime.now(timezone.utc), 5)
        assert isinstance(request, RunRequest) and request.tags["alerts/due_deliveries"] == "3"
        assert request.run_key in {f"alert-retry-{before}", f"alert-retry-{after}"}  # one run per retry interval

        instance.add_run(DagsterRun(job_name="alerts_evaluate", run_id=make_new_run_id(),
                                    status=DagsterRunStatus.STARTED))  # fmt: skip
        busy = alert_delivery_retry_sensor(build_sensor_context(instance=instance, resources=resources))
        assert isinstance(busy, SkipReason) and "alerts_evaluate) is in progress" in busy.skip_message


# --------------------------------------------------------------------------- PostgreSQL


PG_TYPES = {"VARCHAR": "text", "DOUBLE": "double precision", "BIGINT": "bigint", "INTEGER": "integer",
            "DATE": "date", "BOOLEAN": "boolean", "TIMESTAMP": "timestamp", "HUGEINT": "numeric"}  # fmt: skip


def _copy_to_postgres(source: duckdb.DuckDBPyConnection, pg_con, schema: str, table: str) -> None:
    from domain.warehouse.postgres_backend import copy_frame

    columns = source.execute(f"describe marts.{table}").fetchall()
    ddl = ", ".join(f'"{name}" {PG_TYPES.get(kind, "numeric" if kind.startswith("DECIMAL") else kind)}'
                    for name, kind, *_ in columns)  # fmt: skip
    pg_con.execute(f"create table {schema}.{table} ({ddl})")
    with pg_con.cursor() as cursor:
        copy_frame(cursor, f"{schema}.{table}", source.sql(f"select * from marts.{table}").pl())


def test_evaluation_and_delivery_on_postgres(postgres_server, marts_template, tmp_path, webhook):
    import psycopg

    from domain.warehouse.postgres_backend import PostgresWarehouse

    rules = [
        parse_rule(AAPL_SMA50 | {"channels": ["webhook"]}),
        parse_rule({"id": "nvda-rsi", "type": "rsi_above", "tickers": ["NVDA"], "level": 70, "since": "2016-01-04"}),
        parse_rule({"id": "in", "type": "screen_enter", "screen": "Overbought (RSI > 70)"}),
    ]
    duck_file = tmp_path / "duck.duckdb"
    shutil.copy(marts_template, duck_file)
    with duckdb.connect(str(duck_file)) as duck:
        duck_wh = DuckDBWarehouse(duck, TableNames())
        ensure_alert_tables(duck_wh)
        evaluate_rules(duck_wh, rules, T0)
        expected = duck.execute(
            "select event_id, rule_id, ticker, trade_date, observed_value, threshold, message from alerts.alert_events "
            "order by event_id"
        ).fetchall()
    assert len(expected) > 10

    with scratch_database(postgres_server, "alerts") as database:
        with psycopg.connect(database.conninfo, autocommit=True) as pg:
            pg.execute("create schema t_marts")
            with duckdb.connect(str(marts_template), read_only=True) as source:
                for table in ("fct_daily_indicators", "mart_screener_latest"):
                    _copy_to_postgres(source, pg, "t_marts", table)
            wh = PostgresWarehouse(pg, TableNames(database.schema_prefix))
            ensure_alert_tables(wh)
            evaluate_rules(wh, rules, T0)
            pg.execute("update t_marts.mart_screener_latest set rsi_14 = 80 where ticker = 'AAPL'")
            screen = evaluate_rules(wh, rules, T0 + timedelta(minutes=1))
            assert [o.events for o in screen.outcomes] == [0, 0, 1]
            stored = pg.execute(
                "select event_id, rule_id, ticker, trade_date, observed_value, threshold, message from "
                "t_alerts.alert_events where rule_id <> 'in' order by event_id"
            ).fetchall()
            assert stored == expected

            webhook.status = 500
            channels = {"webhook": WebhookChannel(webhook.url), "log": LogChannel()}
            failed = deliver_due(wh, channels, 5, Clock(T0 + timedelta(minutes=1)))
            assert failed.per_channel["webhook"] == {"delivered": 0, "failed": 3}
            assert failed.per_channel["log"]["delivered"] == len(expected) - 3 + 1  # + the screen event
            assert due_count(wh, T0 + timedelta(minutes=5)) == 0 and due_count(wh, T0 + timedelta(minutes=6)) == 3
            webhook.status = 200
            delivered = deliver_due(wh, channels, 5, Clock(T0 + timedelta(minutes=6)))
            assert (delivered.attempted, delivered.delivered) == (3, 3)
            rows = pg.execute(
                "select status, attempts, last_error, delivered_at from t_alerts.alert_deliveries "
                "where channel = 'webhook'"
            ).fetchall()
            assert rows == [("delivered", 2, None, T0 + timedelta(minutes=6))] * 3
            assert [b["trade_date"] for b in webhook.received[3:]] == [d.isoformat() for d in AAPL_DAYS]

"""Alert evaluation on real data: the crossings of each rule type equal those computed here in
plain Python from the bundled CSV (close, SMA, relative volume) or the indicators table (RSI);
once per crossing; reruns, incremental runs, paused, edited and deleted rules; screen enter /
leave; events and outbox rows in one transaction; the Dagster job, sensor and selection.

Each test works on its own small DuckDB file holding a copy of the built warehouse's
``marts.fct_daily_indicators`` (a few tickers) and ``marts.mart_screener_latest`` (all 505 rows).
"""

# ruff: noqa: F811  (the fixtures imported from tests.alert_marts are test arguments)
from __future__ import annotations

import csv
import gzip
import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from dagster import (
    AssetKey,
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    SkipReason,
    build_run_status_sensor_context,
)
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.utils import make_new_run_id

from domain.alerts.rules import AlertRule, parse_rule
from domain.alerts.store import load_rules, save_rules
from domain.settings import BUNDLED_PRICES_CSV, REPO_ROOT
from domain.warehouse.sql import TableNames
from domain.warehouse.duckdb_backend import DuckDBWarehouse
from pipelines.defs.alerts.evaluate import evaluate_rules
from pipelines.defs.alerts.events import event_id
from pipelines.defs.alerts.sensors import alerts_after_build_sensor
from pipelines.defs.alerts.tables import ensure_alert_tables
from tests.alert_marts import TICKERS, con, copy_marts, warehouse_file  # noqa: F401 (fixtures)
from tests.conftest import test_settings

FIRED_AT = datetime(2026, 3, 2, 22, 0)
LATEST = date(2018, 2, 7)


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def marts_template(built_warehouse, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("alert_marts") / "template.duckdb"
    copy_marts(built_warehouse.warehouse_path, target)
    return target


@pytest.fixture()
def wh(con, warehouse_file) -> DuckDBWarehouse:
    warehouse = DuckDBWarehouse(con, TableNames())
    ensure_alert_tables(warehouse)
    return warehouse


@pytest.fixture(scope="module")
def csv_bars() -> dict[str, list[tuple[date, float, int]]]:
    """(trade_date, close, volume) per ticker, straight from the bundled CSV, in date order."""
    bars: dict[str, list[tuple[date, float, int]]] = {t: [] for t in TICKERS}
    with gzip.open(BUNDLED_PRICES_CSV, "rt", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] in bars:
                bars[row["Name"]].append((date.fromisoformat(row["date"]), float(row["close"]), int(row["volume"])))
    return {ticker: sorted(rows) for ticker, rows in bars.items()}


def rule(**fields) -> AlertRule:
    return parse_rule({"channels": ["log"]} | fields)


def crossings(days: list[date], holds: list[bool | None], since: date) -> list[date]:
    """Days where the condition holds and did not hold (False/None/no bar) the bar before."""
    return [day for i, day in enumerate(days) if holds[i] and not (i > 0 and holds[i - 1]) and day >= since]


def sma(values: list[float], i: int, n: int) -> float | None:
    return sum(values[i - n + 1 : i + 1]) / n if i >= n - 1 else None


def events(con, rule_id: str | None = None) -> list[tuple]:
    """(rule_id, ticker, trade_date, observed_value, threshold) of the stored events."""
    where = "where rule_id = ?" if rule_id else ""
    return con.execute(
        f"select rule_id, ticker, trade_date, observed_value, threshold from alerts.alert_events {where} "
        "order by rule_id, ticker, trade_date",
        [rule_id] if rule_id else [],
    ).fetchall()


def dates(con, rule_id: str, ticker: str) -> list[date]:
    return [r[2] for r in events(con, rule_id) if r[1] == ticker]


def watermark(con, rule_id: str) -> date | None:
    row = con.execute("select watermark from alerts.alert_rule_state where rule_id = ?", [rule_id]).fetchone()
    return row[0] if row else None


# --------------------------------------------------------------------------- the figures


@pytest.mark.parametrize(
    ("kind", "ticker", "window"),
    [("price_cross_above_sma", "AAPL", 50), ("price_cross_below_sma", "GE", 200), ("price_cross_above_sma", "NVDA", 20)],
)
def test_sma_crossings_equal_python_on_the_csv(con, wh, csv_bars, kind, ticker, window):
    """Close vs SMA(window) of the CSV closes (the bundled data has no corporate actions, so the
    adjusted close the indicators use equals the close)."""
    since = date(2013, 2, 8)
    evaluate_rules(wh, [rule(id="sma", type=kind, tickers=[ticker], window=window, since=since)], FIRED_AT)
    days = [d for d, _, _ in csv_bars[ticker]]
    closes = [c for _, c, _ in csv_bars[ticker]]
    smas = [sma(closes, i, window) for i in range(len(closes))]
    above = kind == "price_cross_above_sma"
    holds = [None if s is None else (c > s if above else c < s) for c, s in zip(closes, smas)]
    expected = crossings(days, holds, since)
    stored = events(con, "sma")
    assert [r[2] for r in stored] == expected and len(expected) > 10
    by_day = {d: (c, s) for d, c, s in zip(days, closes, smas)}
    for _, _, day, observed, threshold in stored:
        assert observed == pytest.approx(by_day[day][0], abs=1e-9)
        assert threshold == pytest.approx(by_day[day][1], abs=1e-9)


@pytest.mark.parametrize(("kind", "ticker", "level"), [("indicator_above", "NVDA", 0.15), ("indicator_below", "GE", -0.1)])
def test_indicator_rules_on_a_registry_column_equal_python(con, wh, csv_bars, kind, ticker, level):
    """``indicator_above``/``indicator_below`` watch any column the registry marks ``alert``; here
    the 21-session return, recomputed from the CSV closes: close / close 21 bars earlier - 1."""
    since = date(2013, 2, 8)
    evaluate_rules(wh, [rule(id="ind", type=kind, tickers=[ticker], column="return_21d", level=level, since=since)],
                   FIRED_AT)  # fmt: skip
    days = [d for d, _, _ in csv_bars[ticker]]
    closes = [c for _, c, _ in csv_bars[ticker]]
    returns = [None if i < 21 else closes[i] / closes[i - 21] - 1 for i in range(len(closes))]
    holds = [None if r is None else (r > level if kind == "indicator_above" else r < level) for r in returns]
    expected = crossings(days, holds, since)
    stored = events(con, "ind")
    assert [r[2] for r in stored] == expected and len(expected) >= 5
    by_day = dict(zip(days, returns, strict=True))
    assert all(observed == pytest.approx(by_day[day], abs=1e-12) and threshold == level
               for _, _, day, observed, threshold in stored)  # fmt: skip
    message = con.execute("select message from alerts.alert_events where rule_id = 'ind' limit 1").fetchone()[0]
    side = "rose above" if kind == "indicator_above" else "fell below"
    assert message.startswith(f"{ticker} Return 21d {side} {level:g} on ") and " %" in message


def test_aapl_crosses_its_sma50_fires_falls_back_and_fires_again(con, wh):
    """AAPL closed above its 50-day SMA on 2017-10-16 (159.88 > 158.08), below it from
    2017-10-19 (155.98 < 158.01), and above again on 2017-10-27 (163.05 > 157.87)."""
    evaluate_rules(wh, [rule(id="x", type="price_cross_above_sma", tickers=["AAPL"], window=50,
                             since=date(2017, 10, 1))], FIRED_AT)  # fmt: skip
    stored = events(con, "x")
    assert [r[2] for r in stored] == [date(2017, 10, 16), date(2017, 10, 27), date(2018, 1, 2)]
    assert stored[0][3:] == pytest.approx((159.88, 158.0826), abs=1e-9)
    message = con.execute("select message from alerts.alert_events where trade_date = '2017-10-16'").fetchone()[0]
    assert message == ("AAPL crossed above its 50-day SMA on 2017-10-16: adjusted close 159.88 USD > SMA "
                       "158.08 USD [rule x]")  # fmt: skip


def test_price_levels_fire_once_per_crossing(con, wh, csv_bars):
    since = date(2017, 6, 1)
    evaluate_rules(wh, [rule(id="ge-below-20", type="price_below", tickers=["GE"], level=20, since=since),
                        rule(id="aapl-above-170", type="price_above", tickers=["AAPL"], level=170, since=since)],
                   FIRED_AT)  # fmt: skip
    for rule_id, ticker, holds_fn in (("ge-below-20", "GE", lambda c: c < 20), ("aapl-above-170", "AAPL", lambda c: c > 170)):
        days = [d for d, _, _ in csv_bars[ticker]]
        expected = crossings(days, [holds_fn(c) for _, c, _ in csv_bars[ticker]], since)
        assert dates(con, rule_id, ticker) == expected
    assert dates(con, "ge-below-20", "GE") == [date(2017, 11, 2), date(2017, 11, 9), date(2017, 11, 13)]
    # GE stayed below 20 on every session from 2017-11-13 to the end: one event for all of them
    stretch = [c for d, c, _ in csv_bars["GE"] if d >= date(2017, 11, 13)]
    assert len(stretch) == 59 and all(c < 20 for c in stretch)
    assert len(dates(con, "aapl-above-170", "AAPL")) == 6  # above, below, above again... six times


def test_rsi_and_volume_spikes_equal_python(con, wh, csv_bars):
    since = date(2013, 2, 8)
    evaluate_rules(
        wh,
        [rule(id="rsi-hi", type="rsi_above", tickers=["NVDA", "AMZN"], level=70, since=since),
         rule(id="rsi-lo", type="rsi_below", tickers=["NVDA", "AMZN"], level=30, since=since),
         rule(id="vol", type="volume_spike", tickers=list(TICKERS), level=3, since=since)],
        FIRED_AT,
    )  # fmt: skip
    for ticker in ("NVDA", "AMZN"):
        rows = con.execute(
            "select trade_date, rsi_14 from marts.fct_daily_indicators where ticker = ? order by trade_date", [ticker]
        ).fetchall()
        days = [d for d, _ in rows]
        assert dates(con, "rsi-hi", ticker) == crossings(days, [None if r is None else r > 70 for _, r in rows], since)
        assert dates(con, "rsi-lo", ticker) == crossings(days, [None if r is None else r < 30 for _, r in rows], since)
    for ticker in TICKERS:
        days = [d for d, _, _ in csv_bars[ticker]]
        volumes = [v for _, _, v in csv_bars[ticker]]
        relative = [None if i < 19 else volumes[i] / sma(volumes, i, 20) for i in range(len(volumes))]
        expected = crossings(days, [None if r is None else r >= 3 for r in relative], since)
        assert dates(con, "vol", ticker) == expected, ticker
        observed = {r[2]: r[3] for r in events(con, "vol") if r[1] == ticker}
        for day in expected:
            assert observed[day] == pytest.approx(relative[days.index(day)], rel=1e-12)
    assert len(events(con, "rsi-hi")) > 20 and len(events(con, "vol")) > 20


# --------------------------------------------------------------------------- state: reruns, watermark


def test_rerun_fires_nothing_and_a_lost_watermark_does_not_duplicate(con, wh):
    rules = [rule(id="r", type="rsi_above", tickers=["NVDA"], level=70, since=date(2016, 1, 4))]
    first = evaluate_rules(wh, rules, FIRED_AT)
    stored = events(con)
    assert first.events.height == len(stored) > 5
    assert evaluate_rules(wh, rules, datetime(2026, 3, 3)).events.height == 0
    con.execute("delete from alerts.alert_rule_state")  # state lost: evaluated again from since
    again = evaluate_rules(wh, rules, datetime(2026, 3, 4))
    assert again.events.height == 0 and events(con) == stored
    assert con.execute("select count(*) from alerts.alert_deliveries").fetchone() == (len(stored),)


def test_incremental_evaluation_equals_one_shot(con, wh, warehouse_file, marts_template, tmp_path):
    rules = [
        rule(id="sma", type="price_cross_above_sma", tickers=["AAPL", "NVDA"], window=20, since=date(2016, 6, 1)),
        rule(id="vol", type="volume_spike", tickers=list(TICKERS), level=2.5, since=date(2016, 6, 1)),
        rule(id="ge", type="price_below", tickers=["GE"], level=25, since=date(2016, 6, 1)),
    ]
    con.execute("create table held_back as select * from marts.fct_daily_indicators where trade_date > '2017-06-30'")
    con.execute("delete from marts.fct_daily_indicators where trade_date > '2017-06-30'")
    evaluate_rules(wh, rules, FIRED_AT)  # the build of 2017-06-30
    assert {watermark(con, r.id) for r in rules} == {date(2017, 6, 30)}
    con.execute("insert into marts.fct_daily_indicators select * from held_back")
    evaluate_rules(wh, rules, datetime(2026, 3, 3))  # later builds
    assert {watermark(con, r.id) for r in rules} == {LATEST}

    one_shot_file = tmp_path / "one_shot.duckdb"
    shutil.copy(marts_template, one_shot_file)
    with duckdb.connect(str(one_shot_file)) as other:
        one_shot = DuckDBWarehouse(other, TableNames())
        ensure_alert_tables(one_shot)
        evaluate_rules(one_shot, rules, FIRED_AT)
        expected = events(other)
    assert events(con) == expected
    assert any(r[2] <= date(2017, 6, 30) for r in expected) and any(r[2] > date(2017, 6, 30) for r in expected)


def test_without_since_only_the_latest_trade_date_is_watched(con, wh, csv_bars):
    """AAPL closed at 163.03 on 2018-02-06 and 159.54 on 2018-02-07: below 160 only on the latest
    day, as on hundreds of earlier days that fire nothing."""
    assert sum(c < 160 for _, c, _ in csv_bars["AAPL"]) > 500
    result = evaluate_rules(wh, [rule(id="new", type="price_below", tickers=["AAPL"], level=160),
                                 rule(id="quiet", type="price_above", tickers=["AAPL"], level=170)], FIRED_AT)  # fmt: skip
    assert [(r[1], r[2], r[3], r[4]) for r in events(con)] == [("AAPL", LATEST, 159.54, 160.0)]
    outcomes = {o.rule_id: o for o in result.outcomes}
    assert (outcomes["new"].first_date, outcomes["new"].last_date) == (LATEST, LATEST)
    assert watermark(con, "quiet") == LATEST and outcomes["quiet"].events == 0


def test_paused_rule_keeps_its_watermark_and_catches_up_once_resumed(con, wh):
    active = rule(id="x", type="price_cross_above_sma", tickers=["AAPL"], window=50, since=date(2017, 10, 1))
    paused = active.model_copy(update={"enabled": False})
    con.execute("create table held_back as select * from marts.fct_daily_indicators where trade_date > '2017-10-20'")
    con.execute("delete from marts.fct_daily_indicators where trade_date > '2017-10-20'")
    evaluate_rules(wh, [active], FIRED_AT)
    assert dates(con, "x", "AAPL") == [date(2017, 10, 16)] and watermark(con, "x") == date(2017, 10, 20)
    con.execute("insert into marts.fct_daily_indicators select * from held_back")
    result = evaluate_rules(wh, [paused], datetime(2026, 3, 3))
    assert [o.status for o in result.outcomes] == ["paused"] and result.events.height == 0
    assert watermark(con, "x") == date(2017, 10, 20)
    evaluate_rules(wh, [active], datetime(2026, 3, 4))
    assert dates(con, "x", "AAPL") == [date(2017, 10, 16), date(2017, 10, 27), date(2018, 1, 2)]


def test_an_edited_rule_starts_again_and_a_deleted_rule_forgets_its_state(con, wh, csv_bars):
    since = date(2017, 10, 1)
    evaluate_rules(wh, [rule(id="aapl", type="price_above", tickers=["AAPL"], level=170, since=since)], FIRED_AT)
    at_170 = dates(con, "aapl", "AAPL")
    assert at_170[0] == date(2017, 11, 3)
    evaluate_rules(wh, [rule(id="aapl", type="price_above", tickers=["AAPL"], level=174, since=since)],
                   datetime(2026, 3, 3))  # fmt: skip
    at_174 = con.execute(
        "select trade_date from alerts.alert_events where rule_id = 'aapl' and threshold = 174 order by 1"
    ).fetchall()
    # the edited rule's crossings from `since`, except days that already have an event of the rule
    days = [d for d, _, _ in csv_bars["AAPL"]]
    crossing_174 = crossings(days, [c > 174 for _, c, _ in csv_bars["AAPL"]], since)
    assert crossing_174[0] == date(2017, 11, 6)  # AAPL 174.25, first close above 174 since October
    assert [d for (d,) in at_174] == [d for d in crossing_174 if d not in at_170]
    assert sorted(dates(con, "aapl", "AAPL")) == sorted(set(at_170) | set(crossing_174))
    evaluate_rules(wh, [], datetime(2026, 3, 4))
    assert con.execute("select count(*) from alerts.alert_rule_state").fetchone() == (0,)
    assert len(events(con, "aapl")) == len(set(at_170) | set(crossing_174))  # events are kept


# --------------------------------------------------------------------------- screens


def test_screen_enter_and_exit_fire_against_the_previous_membership(con, wh):
    overbought = sorted(t for (t,) in con.execute("select ticker from marts.mart_screener_latest where rsi_14 > 70").fetchall())
    assert overbought == ["DPS", "RE", "TRIP", "XL"]
    rules = [rule(id="in", type="screen_enter", screen="Overbought (RSI > 70)"),
             rule(id="out", type="screen_exit", screen="Overbought (RSI > 70)"),
             rule(id="tech-in", type="screen_enter", tickers=["AAPL"], filters={"rsi_14": {"min": 70}})]  # fmt: skip
    first = evaluate_rules(wh, rules, FIRED_AT)
    assert [o.status for o in first.outcomes] == ["baseline"] * 3 and first.events.height == 0
    members = con.execute("select rule_id, ticker from alerts.alert_screen_members order by 1, 2").fetchall()
    assert members == [("in", t) for t in overbought] + [("out", t) for t in overbought]

    con.execute("update marts.mart_screener_latest set rsi_14 = 75 where ticker in ('AAPL', 'MSFT')")
    con.execute("update marts.mart_screener_latest set rsi_14 = 55 where ticker = 'TRIP'")
    second = evaluate_rules(wh, rules, datetime(2026, 3, 3))
    assert [o.events for o in second.outcomes] == [2, 1, 1]
    assert [r[:3] for r in events(con)] == [
        ("in", "AAPL", LATEST), ("in", "MSFT", LATEST), ("out", "TRIP", LATEST), ("tech-in", "AAPL", LATEST),
    ]  # fmt: skip
    close = con.execute("select close from marts.mart_screener_latest where ticker = 'TRIP'").fetchone()[0]
    assert con.execute("select observed_value, threshold, message from alerts.alert_events where rule_id = 'out'").fetchone() == (
        close, None, f"TRIP left the screen 'Overbought (RSI > 70)' on 2018-02-07 (close {close:.2f} USD) [rule out]"
    )  # fmt: skip
    assert evaluate_rules(wh, rules, datetime(2026, 3, 4)).events.height == 0  # unchanged screen


# --------------------------------------------------------------------------- one transaction


def test_events_never_exist_without_their_outbox_rows(con, wh):
    """The outbox insert fails (a column it does not fill is NOT NULL): the rule's events and its
    watermark are rolled back with it."""
    columns = con.execute("select sql from duckdb_tables() where table_name = 'alert_deliveries'").fetchone()[0]
    con.execute("drop table alerts.alert_deliveries")
    con.execute(columns.replace("delivered_at TIMESTAMP,", "delivered_at TIMESTAMP, claimed_by VARCHAR NOT NULL,"))
    assert "claimed_by" in con.sql("select * from alerts.alert_deliveries").columns
    with pytest.raises(duckdb.Error):
        evaluate_rules(wh, [rule(id="r", type="rsi_above", tickers=["NVDA"], level=70, since=date(2017, 1, 3))],
                       FIRED_AT)  # fmt: skip
    assert con.execute("select count(*) from alerts.alert_events").fetchone() == (0,)
    assert con.execute("select count(*) from alerts.alert_rule_state").fetchone() == (0,)


def test_event_identity_and_unknown_tickers(con, wh):
    result = evaluate_rules(wh, [rule(id="r", type="price_above", tickers=["AAPL", "ZZZZ"], level=170,
                                      since=date(2017, 10, 1))], FIRED_AT)  # fmt: skip
    assert result.unknown_tickers == {"r": ["ZZZZ"]}
    ids = con.execute("select event_id, rule_id, ticker, trade_date from alerts.alert_events").fetchall()
    assert ids and all(eid == event_id(r, t, d) and len(eid) == 20 for eid, r, t, d in ids)


# --------------------------------------------------------------------------- Dagster


@pytest.fixture()
def alert_settings(warehouse_file, tmp_path):
    """Settings pointing at the test's warehouse copy and a rules file in tmp_path."""
    return test_settings(tmp_path, warehouse_path=warehouse_file, snapshot_path=tmp_path / "snapshot.duckdb",
                         alert_rules_file=tmp_path / "rules.yml")  # fmt: skip


def _materialization(result, key: str):
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION":
            materialization = event.event_specific_data.materialization
            if materialization.asset_key.to_user_string() == key:
                return {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
    raise AssertionError(f"no materialization of {key}")


def test_alerts_job_evaluates_the_shipped_rules_and_publishes_them(alert_settings, tmp_path):
    from pipelines.definitions import build_definitions

    defs = build_definitions(alert_settings, environ={})
    save_rules(alert_settings.alert_rules_file, load_rules(REPO_ROOT / "data" / "alerts" / "rules.example.yml"))
    job = defs.resolve_job_def("alerts_evaluate")
    with DagsterInstance.ephemeral() as instance:
        first = job.execute_in_process(instance=instance)
        again = job.execute_in_process(instance=instance)
    metadata = _materialization(first, "alerts/alert_events")
    fired = metadata["events_fired_per_rule"]
    assert fired["aapl-cross-above-sma50"] == 3 and fired["overbought-screen-enter"] == 0  # a baseline
    assert all(fired[r] >= 1 for r in fired if r != "overbought-screen-enter")
    assert metadata["events_fired"] == sum(fired.values()) == metadata["deliveries_delivered"]
    assert metadata["deliveries_failed"] == 0 and metadata["deliveries_pending"] == 0
    assert _materialization(again, "alerts/alert_events")["events_fired"] == 0
    with duckdb.connect(str(tmp_path / "snapshot.duckdb"), read_only=True) as snapshot:
        assert snapshot.execute("select count(*) from alerts.alert_events").fetchone() == (metadata["events_fired"],)
        assert snapshot.execute("select distinct status from alerts.alert_deliveries").fetchall() == [("delivered",)]


def test_an_invalid_rules_file_fails_the_run_naming_the_problem(alert_settings):
    from pipelines.definitions import build_definitions

    defs = build_definitions(alert_settings, environ={})
    rules_file = alert_settings.alert_rules_file
    rules_file.write_text("rules:\n  - {id: x, type: rsi_above, tickers: [NVDA]}\n")
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("alerts_evaluate").execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    error = result.get_step_failure_events()[0].event_specific_data.error
    assert f"{rules_file}, rule 1 (id 'x'), field 'level': required by rsi_above" in (error.cause or error).message


def _run_status_context(instance, job_name: str):
    run = DagsterRun(job_name=job_name, run_id=make_new_run_id(), status=DagsterRunStatus.SUCCESS)
    event = DagsterEvent(event_type_value=DagsterEventType.RUN_SUCCESS.value, job_name=job_name)
    return build_run_status_sensor_context(
        sensor_name="alerts_after_build_sensor", dagster_instance=instance, dagster_run=run, dagster_event=event
    ), run


@pytest.mark.parametrize("job_name", ["warehouse_build", "portfolio_refresh", "news_feed_poll"])
def test_after_build_sensor_requests_one_evaluation_per_marts_build(job_name):
    with DagsterInstance.ephemeral() as instance:
        context, run = _run_status_context(instance, job_name)
        request = alerts_after_build_sensor(context)
    assert isinstance(request, RunRequest)
    assert request.run_key == f"alerts-after-{run.run_id}" and request.tags["alerts/after_job"] == job_name


def test_after_build_sensor_ignores_other_jobs():
    with DagsterInstance.ephemeral() as instance:
        context, _ = _run_status_context(instance, "alerts_evaluate")
        skipped = alerts_after_build_sensor(context)
    assert isinstance(skipped, SkipReason) and "does not rebuild the marts" in skipped.skip_message


def test_jobs_select_the_alerts_only_where_they_belong(definitions):
    defs = definitions

    def selected(job: str) -> set[str]:
        return {k.to_user_string() for k in defs.resolve_job_def(job).asset_layer.selected_asset_keys}

    assert selected("alerts_evaluate") == {"alerts/alert_events", "serving/warehouse_snapshot"}
    assert "alerts/alert_events" not in selected("warehouse_build") | selected("news_feed_poll")
    graph = defs.resolve_asset_graph()
    node = graph.get(AssetKey(["alerts", "alert_events"]))
    assert node.group_name == "alerts"
    assert {AssetKey(["marts", "fct_daily_indicators"]), AssetKey(["marts", "mart_screener_latest"])} <= node.parent_keys
    assert AssetKey(["alerts", "alert_events"]) in graph.get(AssetKey(["serving", "warehouse_snapshot"])).parent_keys
    for name in ("alerts_after_build_sensor", "alert_rules_sensor", "alert_delivery_retry_sensor"):
        assert defs.resolve_sensor_def(name).default_status == DefaultSensorStatus.RUNNING


def test_the_build_evaluated_the_example_rules(built_warehouse):
    """``make build`` (``run_build``, used by the built_warehouse fixture) ran alerts_evaluate:
    the shipped rules fired on the bundled history and the snapshot carries the events."""
    with duckdb.connect(str(built_warehouse.snapshot_path), read_only=True) as snapshot:
        per_rule = dict(snapshot.execute("select rule_id, count(*) from alerts.alert_events group by 1").fetchall())
        aapl = snapshot.execute(
            "select trade_date from alerts.alert_events where rule_id = 'aapl-cross-above-sma50' order by 1"
        ).fetchall()
        screen_members = snapshot.execute("select count(*) from alerts.alert_screen_members").fetchone()[0]
    shipped = {r.id for r in load_rules(REPO_ROOT / "data" / "alerts" / "rules.example.yml")}
    assert set(per_rule) == shipped - {"overbought-screen-enter"}
    assert [d for (d,) in aapl] == [date(2017, 10, 16), date(2017, 10, 27), date(2018, 1, 2)]
    assert screen_members == 4  # the baseline of the screen rule: DPS, RE, TRIP, XL

"""Evaluating the rules: new crossings become events, stored with their outbox rows.

For each enabled rule, in file order:

* **bar rules** (price, SMA, RSI, volume; :mod:`pipelines.defs.alerts.conditions`): the trade
  dates evaluated are those after the rule's watermark (``alerts.alert_rule_state``: the last
  trade_date evaluated) up to the warehouse's latest trade_date. On a rule's first evaluation
  they start at ``since``, or, without ``since``, at the latest trade_date only (new crossings
  from now on; nothing fires for history the rule was not watching).
* **screen rules** (:mod:`pipelines.defs.alerts.screens`): the screen's members now are
  compared with the members stored at the previous evaluation
  (``alerts.alert_screen_members``); ``screen_enter`` fires for each ticker that entered,
  ``screen_exit`` for each one that left. The first evaluation stores the members as a baseline
  and fires nothing.

A rule's new events, their pending deliveries (one per channel), its new watermark and (screen
rules) its members are written in ONE transaction, so an event never exists without its outbox
rows and a failed run leaves the rule where it was. Events already stored (same ``event_id``,
i.e. same rule, ticker and trade_date) are never inserted again, so reruns are idempotent.

Paused rules (``enabled: false``) are not evaluated and keep their watermark: on resume the rule
continues from it, so a crossing that happened during the pause fires then, once, with its own
trade_date. An edited rule (another :meth:`AlertRule.fingerprint`: type, tickers, level,
window, screen, filters or since changed) starts again as a new rule (from ``since`` or the
latest date; screen rules take a new baseline); its earlier events stay, and an event with the
same rule, ticker and trade_date as an earlier one is not fired again. Changing only channels,
``enabled`` or the description keeps the state. A rule deleted from the file loses its state
(not its events): re-created later, it starts as a new rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

import polars as pl

from domain.alerts.rules import SCREEN_TYPES, AlertRule, RuleType
from domain.warehouse import Replacement, Warehouse
from pipelines.defs.alerts.conditions import crossings_query
from pipelines.defs.alerts.events import EVENT_SCHEMA, delivery_rows, event_rows
from pipelines.defs.alerts.screens import screen_change, screen_members
from pipelines.defs.alerts.tables import (
    deliveries_table,
    events_table,
    rule_state_table,
    screen_members_table,
)


class RuleState(NamedTuple):
    """A rule's row of ``alerts.alert_rule_state``."""

    fingerprint: str
    watermark: date


@dataclass(frozen=True)
class RuleOutcome:
    """What one evaluation did with one rule.

    ``status``: ``evaluated`` (dates ``first..last`` or the screen was compared), ``baseline``
    (first evaluation of a screen rule), ``up_to_date`` (no trade date after the watermark),
    ``paused``.
    """

    rule_id: str
    rule_type: str
    status: str
    first_date: date | None = None
    last_date: date | None = None
    events: int = 0


@dataclass
class Evaluation:
    """Result of :func:`evaluate_rules`: ``events`` are the newly stored ones (alert_events
    columns); ``unknown_tickers`` maps a rule id to its tickers absent from the screener mart."""

    latest_trade_date: date | None
    outcomes: list[RuleOutcome] = field(default_factory=list)
    events: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=EVENT_SCHEMA))
    unknown_tickers: dict[str, list[str]] = field(default_factory=dict)

    def events_per_rule(self) -> dict[str, int]:
        """Rule id -> events fired by this evaluation (every evaluated rule, 0 included)."""
        return {o.rule_id: o.events for o in self.outcomes if o.status != "paused"}


def _indicators(warehouse: Warehouse) -> str:
    return warehouse.table("marts", "fct_daily_indicators")


def _screener(warehouse: Warehouse) -> str:
    return warehouse.table("marts", "mart_screener_latest")


def latest_trade_date(warehouse: Warehouse) -> date | None:
    """The latest trade_date of ``marts.fct_daily_indicators`` (None when empty)."""
    return warehouse.fetch_frame(f"select max(trade_date) as latest from {_indicators(warehouse)}")["latest"][0]


def load_states(warehouse: Warehouse) -> dict[str, RuleState]:
    """Rule id -> its stored fingerprint and watermark."""
    frame = warehouse.fetch_frame(f"select rule_id, fingerprint, watermark from {rule_state_table(warehouse)}")
    return {rule_id: RuleState(fp, mark) for rule_id, fp, mark in frame.iter_rows()}


def forget_deleted_rules(warehouse: Warehouse, rule_ids: list[str]) -> None:
    """Delete the state and screen members of rules no longer in the file (in one transaction)."""
    keep = ", ".join("?" for _ in rule_ids)
    where = f"rule_id not in ({keep})" if rule_ids else "true"
    warehouse.replace_rows(
        [
            Replacement(rule_state_table(warehouse), pl.DataFrame(), where, tuple(rule_ids)),
            Replacement(screen_members_table(warehouse), pl.DataFrame(), where, tuple(rule_ids)),
        ]
    )


def _state_row(rule: AlertRule, watermark: date, evaluated_at: datetime) -> pl.DataFrame:
    return pl.DataFrame(
        [(rule.id, str(rule.type), rule.fingerprint(), watermark, evaluated_at)],
        schema={"rule_id": pl.Utf8, "rule_type": pl.Utf8, "fingerprint": pl.Utf8, "watermark": pl.Date,
                "evaluated_at": pl.Datetime("us")},  # fmt: skip
        orient="row",
    )


def _not_stored(warehouse: Warehouse, events: pl.DataFrame) -> pl.DataFrame:
    """``events`` (of one rule) minus those whose event_id is already in alert_events."""
    if events.is_empty():
        return events
    stored = warehouse.fetch_frame(
        f"select event_id from {events_table(warehouse)} where rule_id = ? and trade_date >= ? and trade_date <= ?",
        [events["rule_id"][0], events["trade_date"].min(), events["trade_date"].max()],
    )
    return events.filter(~pl.col("event_id").is_in(stored["event_id"].to_list()))


def _commit(warehouse: Warehouse, rule: AlertRule, events: pl.DataFrame, state: pl.DataFrame,
            members: pl.DataFrame | None, fired_at: datetime) -> None:  # fmt: skip
    """Events + their pending deliveries + the rule's state (+ screen members): ONE transaction."""
    replacements = [
        Replacement(events_table(warehouse), events, "false"),
        Replacement(deliveries_table(warehouse), delivery_rows(rule, events, fired_at), "false"),
        Replacement(rule_state_table(warehouse), state, "rule_id = ?", (rule.id,)),
    ]
    if members is not None:
        replacements.append(Replacement(screen_members_table(warehouse), members, "rule_id = ?", (rule.id,)))
    warehouse.replace_rows(replacements)


def evaluate_bar_rule(warehouse: Warehouse, rule: AlertRule, state: RuleState | None, latest: date,
                      fired_at: datetime) -> tuple[RuleOutcome, pl.DataFrame]:  # fmt: skip
    """Fire the crossings of a price/SMA/RSI/volume rule on the dates not evaluated yet."""
    if state is not None and state.fingerprint == rule.fingerprint():
        first = state.watermark + timedelta(days=1)
    else:
        first = rule.since or latest
    if first > latest:
        return RuleOutcome(rule.id, str(rule.type), "up_to_date"), pl.DataFrame(schema=EVENT_SCHEMA)
    sql, params = crossings_query(rule, _indicators(warehouse), first, latest)
    found = warehouse.fetch_frame(sql, params)
    events = _not_stored(warehouse, event_rows(rule, found.iter_rows(), fired_at))
    _commit(warehouse, rule, events, _state_row(rule, latest, fired_at), None, fired_at)
    return RuleOutcome(rule.id, str(rule.type), "evaluated", first, latest, events.height), events


def _rows_of(warehouse: Warehouse, tickers: list[str], latest: date) -> list[tuple]:
    """``(ticker, trade_date, close, None)`` of tickers from the screener mart (a ticker no
    longer there gets the mart's latest date and no close)."""
    if not tickers:
        return []
    frame = warehouse.fetch_frame(
        f"select ticker, trade_date, close from {_screener(warehouse)} where ticker in ({', '.join('?' for _ in tickers)})",
        tickers,
    )
    known = {ticker: (day, close) for ticker, day, close in frame.iter_rows()}
    return [(t, *known.get(t, (latest, None)), None) for t in tickers]


def evaluate_screen_rule(warehouse: Warehouse, rule: AlertRule, state: RuleState | None, latest: date,
                         fired_at: datetime) -> tuple[RuleOutcome, pl.DataFrame]:  # fmt: skip
    """Fire ``screen_enter``/``screen_exit`` events against the members stored last time
    (the first evaluation, or the first after an edit, only stores a baseline)."""
    members = screen_members(warehouse, rule, _screener(warehouse))
    member_rows = pl.DataFrame(
        {
            "rule_id": [rule.id] * members.height,
            "ticker": members["ticker"],
            "trade_date": members["trade_date"],
            "recorded_at": [fired_at] * members.height,
        },
        schema={"rule_id": pl.Utf8, "ticker": pl.Utf8, "trade_date": pl.Date, "recorded_at": pl.Datetime("us")},
    )
    baseline = state is None or state.fingerprint != rule.fingerprint()
    if baseline:
        found: list[tuple] = []
    else:
        previous = warehouse.fetch_frame(f"select ticker from {screen_members_table(warehouse)} where rule_id = ?", [rule.id])
        change = screen_change(set(members["ticker"].to_list()), set(previous["ticker"].to_list()))
        if rule.type is RuleType.SCREEN_ENTER:
            rows = {t: (d, c) for t, d, c in members.iter_rows()}
            found = [(t, rows[t][0], rows[t][1], None) for t in change.entered]
        else:
            found = _rows_of(warehouse, change.exited, latest)
    events = _not_stored(warehouse, event_rows(rule, found, fired_at))
    _commit(warehouse, rule, events, _state_row(rule, latest, fired_at), member_rows, fired_at)
    status = "baseline" if baseline else "evaluated"
    return RuleOutcome(rule.id, str(rule.type), status, latest, latest, events.height), events


def unknown_tickers(warehouse: Warehouse, rules: list[AlertRule]) -> dict[str, list[str]]:
    """Rule id -> its tickers that are not in ``marts.mart_screener_latest`` (never fire)."""
    known = set(warehouse.fetch_frame(f"select ticker from {_screener(warehouse)}")["ticker"].to_list())
    return {rule.id: missing for rule in rules if (missing := [t for t in rule.tickers if t not in known])}


def evaluate_rules(warehouse: Warehouse, rules: list[AlertRule], fired_at: datetime) -> Evaluation:
    """Evaluate every enabled rule (see the module docstring); ``fired_at`` is naive UTC.

    The alert tables must exist (:func:`pipelines.defs.alerts.tables.ensure_alert_tables`).
    Returns the outcome per rule and the events stored by this call.
    """
    forget_deleted_rules(warehouse, [rule.id for rule in rules])
    latest = latest_trade_date(warehouse)
    evaluation = Evaluation(latest_trade_date=latest)
    if latest is None:
        return evaluation
    states = load_states(warehouse)
    evaluation.unknown_tickers = unknown_tickers(warehouse, [rule for rule in rules if rule.enabled])
    fired = [evaluation.events]
    for rule in rules:
        if not rule.enabled:
            evaluation.outcomes.append(RuleOutcome(rule.id, str(rule.type), "paused"))
            continue
        evaluate = evaluate_screen_rule if rule.type in SCREEN_TYPES else evaluate_bar_rule
        outcome, events = evaluate(warehouse, rule, states.get(rule.id), latest, fired_at)
        evaluation.outcomes.append(outcome)
        fired.append(events)
    evaluation.events = pl.concat(fired)
    return evaluation

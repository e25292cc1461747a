"""Alerts page: the alert rules (create, pause or resume, delete) and the recent events.

Rules live in the YAML file ``ALERT_RULES_FILE`` (:mod:`pipelines.defs.alerts.rules`): the page
edits that file (atomically, under a file lock), so a rule made here survives restarts and is
the same rule the pipelines evaluate. The ``alert_rules_sensor`` notices the change and runs
``alerts_evaluate``; events appear here once that run has published the warehouse. Events and
their delivery status come from ``marts.alert_events`` / ``marts.alert_deliveries``
(:mod:`dashboards.lib.alerts`).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from dashboards.lib import alerts, screens, warehouse
from pipelines.defs.alerts import rules as alert_rules
from pipelines.lib.settings import get_settings

EVENT_LIMIT = 200
KEY_RULE = "alerts_rule"


def _rules_path():
    return get_settings().alert_rules_file


def _condition(rule: alert_rules.AlertRule) -> str:
    return alert_rules.describe_condition(rule)


def _rules_table(rules: list[alert_rules.AlertRule]) -> pd.DataFrame:
    counts = alerts.event_counts().set_index("rule_id") if rules else pd.DataFrame()
    rows = []
    for rule in rules:
        fired = counts.loc[rule.id] if rule.id in counts.index else None
        rows.append(
            {
                "id": rule.id,
                "status": "active" if rule.enabled else "paused",
                "condition": _condition(rule),
                "tickers": ", ".join(rule.tickers or []) or "—",
                "channels": ", ".join(rule.channels),
                "since": rule.since,
                "events": 0 if fired is None else int(fired["events"]),
                "last_event": None if fired is None else fired["last_trade_date"],
                "description": rule.description or "",
            }
        )
    return pd.DataFrame(rows)


def _manage(rules: list[alert_rules.AlertRule]) -> None:
    ids = [rule.id for rule in rules]
    chosen = st.selectbox("Rule", ids, key=KEY_RULE)
    rule = next(r for r in rules if r.id == chosen)
    pause_col, delete_col, confirm_col = st.columns([1, 1, 2], vertical_alignment="bottom")
    with pause_col:
        label = "Pause" if rule.enabled else "Resume"
        if st.button(label, key="alerts_toggle"):
            alert_rules.set_enabled(_rules_path(), rule.id, not rule.enabled)
            st.rerun()
    with confirm_col:
        confirmed = st.checkbox(f"Yes, delete {rule.id}", key="alerts_confirm_delete")
    with delete_col:
        if st.button("Delete", key="alerts_delete", disabled=not confirmed):
            alert_rules.delete_rule(_rules_path(), rule.id)
            st.session_state.pop(KEY_RULE, None)
            st.rerun()


def _create_form() -> None:
    tickers = warehouse.companies()["ticker"].tolist()
    presets = [name for name in screens.PRESETS if name != screens.NO_PRESET]
    with st.form("alerts_create", clear_on_submit=False):
        st.markdown("**New rule**")
        first, second = st.columns(2)
        rule_type = first.selectbox("Condition", alert_rules.RULE_TYPES, format_func=alert_rules.RULE_TYPE_LABELS.get)
        rule_id = second.text_input("Rule id", placeholder="aapl-above-200", help="letters, digits and '-'")
        chosen = st.multiselect("Tickers (price, moving-average, RSI and volume rules)", tickers)
        a, b, c = st.columns(3)
        level = a.number_input("Level (USD price, RSI 0-100, or relative volume)", value=None, step=1.0)
        window = b.selectbox("Moving average (days)", alert_rules.SMA_WINDOWS, index=1)
        screen = c.selectbox("Screen (screen rules)", presets)
        d, e = st.columns(2)
        channels = d.multiselect("Notify by", alert_rules.CHANNELS, default=["log"])
        since = e.date_input("Evaluate from", value=None, help="empty: from the latest trade date on", format="YYYY-MM-DD")
        description = st.text_input("Description")
        submitted = st.form_submit_button("Create rule")
    if not submitted:
        return
    fields: dict = {"id": rule_id.strip(), "type": rule_type, "channels": channels, "description": description or None}
    if rule_type in alert_rules.SCREEN_RULE_TYPES:
        fields["screen"] = screen
    else:
        fields["tickers"] = chosen
        if rule_type in alert_rules.SMA_RULE_TYPES:
            fields["window"] = window
        else:
            fields["level"] = level
    if isinstance(since, date):
        fields["since"] = since
    try:
        rule = alert_rules.AlertRule.model_validate(fields)
        alert_rules.add_rule(_rules_path(), rule)
    except (ValidationError, ValueError) as exc:
        st.error(f"The rule was not created: {exc}")
        return
    st.success(f"Created {rule.id}. It is evaluated after the next build, or as soon as the alert_rules_sensor runs.")


st.title("Alerts")
path = _rules_path()
try:
    rules = alert_rules.load_rules(path)
except (ValueError, OSError) as exc:
    st.error(f"Could not read the alert rules in {path}: {exc}")
    st.stop()

st.subheader("Rules")
st.caption(f"{len(rules)} rule(s) in `{path}`.")
if rules:
    st.dataframe(
        _rules_table(rules),
        hide_index=True,
        key="alerts_rules",
        column_config={
            "since": st.column_config.DateColumn("Since"),
            "last_event": st.column_config.DateColumn("Last event"),
            "events": st.column_config.NumberColumn("Events", format="%d"),
        },
    )
    _manage(rules)
_create_form()

st.subheader("Recent events")
rule_filter = st.selectbox("Rule", ["All rules", *[r.id for r in rules]], key="alerts_event_rule")
events = alerts.recent_events(EVENT_LIMIT, None if rule_filter == "All rules" else rule_filter)
if events.empty:
    st.info("No alert has fired yet.")
else:
    st.dataframe(
        events,
        hide_index=True,
        key="alerts_events",
        column_config={
            "fired_at": st.column_config.DatetimeColumn("Fired (UTC)", format="YYYY-MM-DD HH:mm"),
            "trade_date": st.column_config.DateColumn("Trade date"),
            "rule_id": "Rule",
            "rule_type": "Type",
            "ticker": "Ticker",
            "observed_value": st.column_config.NumberColumn("Observed", format="%.2f"),
            "threshold": st.column_config.NumberColumn("Threshold", format="%.2f"),
            "message": st.column_config.TextColumn("Message", width="large"),
            "deliveries": st.column_config.TextColumn("Delivery", width="medium"),
        },
    )

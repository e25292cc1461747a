"""Alerts page: the alert rules (create, pause or resume, delete) and the recent events.

Rules live in the YAML file ``ALERT_RULES_FILE`` (:mod:`domain.alerts.store`): the page
edits that file (atomically, under a file lock), so a rule made here survives restarts and is
the same rule the pipelines evaluate. The ``alert_rules_sensor`` notices the change and runs
``alerts_evaluate``; events appear here once that run has published the warehouse. Events and
their delivery status come from ``alerts.alert_events`` / ``alerts.alert_deliveries``
(:mod:`dashboards.queries.alerts`).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from dashboards.lib import context
from dashboards.queries import alerts
from dashboards.queries.stock import companies
from domain import screens
from domain.alerts import rules as alert_rules
from domain.alerts import store as alert_store

EVENT_LIMIT = 200
KEY_RULE = "alerts_rule"
KEY_FLASH = "_alerts_flash"  # message shown once after a rerun
RULE_TYPES = list(alert_rules.RuleType)
CHANNELS = ["log", "webhook", "email"]


def _rules_path():
    return context.settings().alert_rules_file


def _condition(rule: alert_rules.AlertRule) -> str:
    """One line saying what the rule watches, e.g. ``close above 170`` or ``enters screen Momentum``."""
    kind = alert_rules.RuleType
    if rule.type in alert_rules.SCREEN_TYPES:
        verb = "enters" if rule.type == kind.SCREEN_ENTER else "leaves"
        return f"{verb} screen {rule.screen_label}"
    if rule.type in alert_rules.SMA_TYPES:
        side = "above" if rule.type == kind.PRICE_CROSS_ABOVE_SMA else "below"
        return f"adjusted close crosses {side} SMA {rule.window}"
    registry = screens.registry()
    if rule.type in alert_rules.INDICATOR_TYPES:
        side = "above" if rule.type == kind.INDICATOR_ABOVE else "below"
        return f"{registry[rule.column].label} {side} {rule.level:g}"
    text = {
        kind.PRICE_ABOVE: "close above $",
        kind.PRICE_BELOW: "close below $",
        kind.RSI_ABOVE: f"{registry['rsi_14'].label} above ",
        kind.RSI_BELOW: f"{registry['rsi_14'].label} below ",
        kind.VOLUME_SPIKE: f"{registry['relative_volume'].label} >= ",
    }[rule.type]
    return f"{text}{rule.level:g}"


def _rules_table(rules: list[alert_rules.AlertRule]) -> pd.DataFrame:
    counts = alerts.event_counts(reader).set_index("rule_id") if rules else pd.DataFrame()
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
            alert_store.set_enabled(_rules_path(), rule.id, not rule.enabled)
            st.rerun()
    with confirm_col:
        confirmed = st.checkbox(f"Yes, delete {rule.id}", key="alerts_confirm_delete")
    with delete_col:
        if st.button("Delete", key="alerts_delete", disabled=not confirmed):
            alert_store.delete_rule(_rules_path(), rule.id)
            st.session_state.pop(KEY_RULE, None)
            st.rerun()


def _create_form() -> None:
    tickers = companies(reader)["ticker"].tolist()
    presets = [name for name in screens.preset_names() if name != screens.NO_PRESET]
    watchable = screens.registry().alert_columns
    with st.form("alerts_create", clear_on_submit=False):
        st.markdown("**New rule**")
        first, second = st.columns(2)
        rule_type = first.selectbox(
            "Condition", RULE_TYPES, format_func=lambda t: f"{t}: {alert_rules.RULE_TYPE_DESCRIPTIONS[t]}", key="alerts_new_type"
        )
        rule_id = second.text_input("Rule id", placeholder="aapl-above-200", help="lower-case letters, digits, '-' and '_'", key="alerts_new_id")
        chosen = st.multiselect("Tickers (price, moving-average, RSI and volume rules)", tickers, key="alerts_new_tickers")
        a, b, c, f = st.columns(4)
        level = a.number_input("Level (in the watched value's unit)", value=None, step=1.0, key="alerts_new_level",
                               help="USD for prices, 0-100 for RSI and the stochastic, a ratio for relative volume, "
                               "a fraction for returns (0.05 = 5 %)")  # fmt: skip
        column = f.selectbox("Column (indicator rules)", list(watchable), format_func=lambda c: watchable[c].label,
                             key="alerts_new_column")  # fmt: skip
        window = b.selectbox("Moving average (days)", alert_rules.SMA_WINDOWS, index=1, key="alerts_new_window")
        screen = c.selectbox("Screen (screen rules)", presets, key="alerts_new_screen")
        d, e = st.columns(2)
        channels = d.multiselect("Notify by", CHANNELS, default=["log"], key="alerts_new_channels")
        since = e.date_input("Evaluate from", value=None, help="empty: from the latest trade date on", format="YYYY-MM-DD", key="alerts_new_since")
        description = st.text_input("Description", key="alerts_new_description")
        submitted = st.form_submit_button("Create rule")
    if not submitted:
        return
    fields: dict = {"id": rule_id.strip(), "type": str(rule_type), "channels": channels, "description": description}
    if rule_type in alert_rules.SCREEN_TYPES:
        fields["screen"] = screen
    else:
        fields["tickers"] = chosen
        if rule_type in alert_rules.SMA_TYPES:
            fields["window"] = window
        else:
            fields["level"] = level
        if rule_type in alert_rules.INDICATOR_TYPES:
            fields["column"] = column
    if isinstance(since, date) and rule_type not in alert_rules.SCREEN_TYPES:
        fields["since"] = since
    try:
        rule = alert_store.add_rule(_rules_path(), alert_rules.parse_rule(fields, source="new rule"))
    except alert_rules.RulesFileError as exc:
        st.error("The rule was not created:\n\n" + "\n\n".join(f"- {p}" for p in exc.problems))
        return
    st.session_state[KEY_FLASH] = (
        f"Created {rule.id}. It is evaluated after the next build, or as soon as the alert_rules_sensor runs."
    )
    st.rerun()


st.title("Alerts")
reader = context.reader()
if flash := st.session_state.pop(KEY_FLASH, None):
    st.success(flash)
path = _rules_path()
try:
    rules = alert_store.load_rules(path)
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
            "id": "Rule",
            "status": "Status",
            "condition": st.column_config.TextColumn("Condition", width="medium"),
            "tickers": "Tickers",
            "channels": "Channels",
            "since": st.column_config.DateColumn("Since"),
            "events": st.column_config.NumberColumn("Events", format="%d"),
            "last_event": st.column_config.DateColumn("Last event"),
            "description": st.column_config.TextColumn("Description", width="large"),
        },
    )
    _manage(rules)
_create_form()

st.subheader("Recent events")
rule_filter = st.selectbox("Rule", ["All rules", *[r.id for r in rules]], key="alerts_event_rule")
events = alerts.recent_events(reader, EVENT_LIMIT, None if rule_filter == "All rules" else rule_filter)
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

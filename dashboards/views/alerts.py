"""Alerts page: the alert rules (create, pause or resume, delete) and the recent events.

Rules live in the YAML file ``ALERT_RULES_FILE`` (:mod:`domain.alerts.store`): the page
edits that file (atomically, under a file lock), so a rule made here survives restarts and is
the same rule the pipelines evaluate. The file is user data, not tracked by git: on first use
(the file does not exist) the page copies its tracked example ``rules.example.yml``, which it
never writes. The create form is :mod:`dashboards.lib.alert_form`. The ``alert_rules_sensor``
notices the change and runs ``alerts_evaluate``; events appear here once that run has published
the warehouse. Events and their delivery status come from ``alerts.alert_events`` /
``alerts.alert_deliveries`` (:mod:`dashboards.queries.alerts`).

Tickers of every market can be watched (the form lists them as ``005930 · 삼성전자 (KOSPI)``). A
price level is a close in the currency of the ticker's market: the rules table states it in that
currency (``close above ₩90,000``), and an event on a price carries its currency (column
"Currency", empty for RSI, volume and other unit-free values).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards.lib import alert_form, context, tables
from dashboards.lib import formatting as fmt
from dashboards.lib.stock_ticker import company_labels
from dashboards.queries import alerts
from dashboards.queries.stock import companies
from domain import screens
from domain.alerts import rules as alert_rules
from domain.alerts import store as alert_store
from domain.markets import markets

EVENT_LIMIT = 200
KEY_RULE = "alerts_rule"
ALL_RULES = "All rules"
#: Column order of the events table (what fired, then how it was delivered, then the details).
EVENT_ORDER = ("rule_id", "trade_date", "ticker", "observed_value", "threshold", "currency", "deliveries", "message",
               "rule_type", "fired_at")  # fmt: skip
#: Rule types whose level and observed value are a price (a close, or the adjusted close vs its SMA).
PRICE_TYPES = frozenset({alert_rules.RuleType.PRICE_ABOVE, alert_rules.RuleType.PRICE_BELOW, *alert_rules.SMA_TYPES})


def _rules_path():
    return context.settings().alert_rules_file


def _is_money(rule: alert_rules.AlertRule | None, rule_type: str) -> bool:
    """True when the values of a rule of ``rule_type`` are money: a price rule, or an indicator
    rule on a money column (``rule``: the rule, when the rules file still has it)."""
    if rule_type in PRICE_TYPES:
        return True
    return rule is not None and rule.type in alert_rules.INDICATOR_TYPES and screens.registry()[rule.column].is_money


def _currency_of(ticker: str, markets_of: dict[str, str]) -> str | None:
    """The currency of the ticker's market, None for a ticker (or market) the warehouse does not know."""
    code = markets_of.get(ticker)
    return fmt.market_currency(code) if code in markets() else None


def _rule_currency(rule: alert_rules.AlertRule, markets_of: dict[str, str]) -> str | None:
    """The one currency of the rule's tickers' markets, or None (several, or unknown tickers)."""
    currencies = {_currency_of(ticker, markets_of) for ticker in rule.tickers or []}
    return currencies.pop() if len(currencies) == 1 else None


def _level(rule: alert_rules.AlertRule, markets_of: dict[str, str]) -> str:
    """The rule's level, in its tickers' currency when it is money (``₩90,000``), else plain;
    a money level for tickers of several currencies says so."""
    if not _is_money(rule, rule.type):
        return f"{rule.level:g}"
    currency = _rule_currency(rule, markets_of)
    return fmt.money(rule.level, currency) if currency else f"{rule.level:g} (in each ticker's currency)"


def _condition(rule: alert_rules.AlertRule, markets_of: dict[str, str]) -> str:
    """One line saying what the rule watches, e.g. ``close above $170.00``, ``close above
    ₩90,000`` or ``enters screen Momentum``."""
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
        return f"{registry[rule.column].label} {side} {_level(rule, markets_of)}"
    text = {
        kind.PRICE_ABOVE: "close above ",
        kind.PRICE_BELOW: "close below ",
        kind.RSI_ABOVE: f"{registry['rsi_14'].label} above ",
        kind.RSI_BELOW: f"{registry['rsi_14'].label} below ",
        kind.VOLUME_SPIKE: f"{registry['relative_volume'].label} >= ",
    }[rule.type]
    return f"{text}{_level(rule, markets_of)}"


def _event_currencies(events: pd.DataFrame, rules: list[alert_rules.AlertRule], markets_of: dict[str, str]) -> list:
    """Per event, the currency of its values: that of the ticker's market when they are money
    (:func:`_is_money`), else None (RSI, relative volume, unit-free indicators, screen events)."""
    by_id = {rule.id: rule for rule in rules}
    rows = zip(events["rule_id"], events["rule_type"], events["ticker"], strict=True)
    return [
        _currency_of(ticker, markets_of) if _is_money(by_id.get(rule_id), kind) else None
        for rule_id, kind, ticker in rows
    ]


def _rules_table(rules: list[alert_rules.AlertRule]) -> pd.DataFrame:
    counts = alerts.event_counts(reader).set_index("rule_id") if rules else pd.DataFrame()
    rows = []
    for rule in rules:
        fired = counts.loc[rule.id] if rule.id in counts.index else None
        rows.append(
            {
                "id": rule.id,
                "status": "active" if rule.enabled else "paused",
                "condition": _condition(rule, markets_of),
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
    chosen = st.selectbox("Rule to pause, resume or delete", ids, key=KEY_RULE)
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


st.title("Alerts")
reader = context.reader()
known = companies(reader)
markets_of = dict(zip(known["ticker"], known["market"], strict=True))
if flash := st.session_state.pop(alert_form.KEY_FLASH, None):
    st.success(flash)
path = _rules_path()
try:
    if alert_store.ensure_rules_file(path):
        st.info(f"First use: copied the example rules {alert_store.example_path(path).name} to `{path}`, "
                "the file this page edits.")  # fmt: skip
except (ValueError, OSError) as exc:  # an example file as ALERT_RULES_FILE, a read-only folder
    st.warning(f"The rules cannot be edited here: {exc}")
try:
    rules = alert_store.load_rules(path)
except (ValueError, OSError) as exc:
    st.error(f"Could not read the alert rules in {path}: {exc}")
    st.stop()

st.subheader("Rules")
st.caption(f"{fmt.counted(len(rules), 'rule')} in `{alert_store.rules_source(path)}`.")
if rules:
    st.dataframe(
        _rules_table(rules),
        placeholder=tables.EMPTY_CELL,
        width="stretch",
        hide_index=True,
        key="alerts_rules",
        column_config={  # widths in pixels: all but the description fit a 1400-pixel-wide window
            "id": st.column_config.TextColumn("Rule", width=170, pinned=True),
            "status": st.column_config.TextColumn("Status", width=70),
            "condition": st.column_config.TextColumn("Condition", width=230),
            "tickers": st.column_config.TextColumn("Tickers", width=140),
            "channels": st.column_config.TextColumn("Channels", width=75),
            "since": st.column_config.DateColumn("Since", width=90),
            "events": st.column_config.NumberColumn("Events", format="%d", width=60),
            "last_event": st.column_config.DateColumn("Last event", width=90),
            "description": st.column_config.TextColumn("Description", width="large"),
        },
    )
    _manage(rules)
alert_form.render(path, company_labels(known))

st.subheader("Recent events")
rule_filter = st.selectbox("Show events of", [ALL_RULES, *[r.id for r in rules]], key="alerts_event_rule")
events = alerts.recent_events(reader, EVENT_LIMIT, None if rule_filter == ALL_RULES else rule_filter)
if events.empty:
    st.info("No alert has fired yet.")
else:
    events.insert(events.columns.get_loc("threshold") + 1, "currency", _event_currencies(events, rules, markets_of))
    st.dataframe(
        events,
        placeholder=tables.EMPTY_CELL,
        width="stretch",
        hide_index=True,
        key="alerts_events",
        column_order=EVENT_ORDER,
        column_config={  # widths in pixels; the long message and the audit columns come last
            "rule_id": st.column_config.TextColumn("Rule", width=170, pinned=True),
            "trade_date": st.column_config.DateColumn("Trade date", width=95),
            "ticker": st.column_config.TextColumn("Ticker", width=65),
            "observed_value": st.column_config.NumberColumn("Observed", format="localized", width=80),
            "threshold": st.column_config.NumberColumn("Threshold", format="localized", width=80),
            "currency": st.column_config.TextColumn("Currency", width=70, help="of a price; empty for other values"),
            "deliveries": st.column_config.TextColumn("Delivery", width=140),
            "message": st.column_config.TextColumn("Message", width="large"),
            "rule_type": st.column_config.TextColumn("Type", width=150),
            "fired_at": st.column_config.DatetimeColumn("Fired (UTC)", format="YYYY-MM-DD HH:mm", width=130),
        },
    )

"""The "New rule" form of the Alerts page.

The condition (rule type) is chosen above the form, outside it, so that choosing another type
reruns the page and the form shows only the fields that type uses (:func:`fields_of`). The
form validates with :func:`domain.alerts.rules.parse_rule` and appends the rule to the rules
file with :func:`domain.alerts.store.add_rule` (atomic, under the file lock). After a
successful create every field is reset to its default and a success message is shown once
(session-state key :data:`KEY_FLASH`, shown by the page after the rerun); after an error the
values stay so that they can be corrected.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import streamlit as st

from domain import screens
from domain.alerts import rules as alert_rules
from domain.alerts import store as alert_store
from domain.markets import markets

KEY_TYPE = "alerts_new_type"
KEY_FLASH = "_alerts_flash"  # message shown once after a rerun
#: Form field -> session-state key of its widget.
KEYS: dict[str, str] = {
    field: f"alerts_new_{field}"
    for field in ("id", "tickers", "level", "column", "window", "screen", "channels", "since", "description")
}
RULE_TYPES = list(alert_rules.RuleType)
CHANNELS = ["log", "webhook", "email"]

#: Level of a price rule: a close in the currency of each ticker's market (USD, KRW).
_CURRENCIES = ", ".join(dict.fromkeys(m.currency for m in markets().values()))
_PRICE_LEVEL_LABEL = f"Level (close, in the ticker's currency: {_CURRENCIES})"
_LEVEL_LABELS = {
    alert_rules.RuleType.PRICE_ABOVE: _PRICE_LEVEL_LABEL,
    alert_rules.RuleType.PRICE_BELOW: _PRICE_LEVEL_LABEL,
    alert_rules.RuleType.RSI_ABOVE: "Level (RSI, 0-100)",
    alert_rules.RuleType.RSI_BELOW: "Level (RSI, 0-100)",
    alert_rules.RuleType.VOLUME_SPIKE: "Level (times the 20-day average volume)",
}
_INDICATOR_LEVEL_LABEL = "Level (in the column's unit)"


def fields_of(rule_type: alert_rules.RuleType | str) -> tuple[str, ...]:
    """The form fields a rule of ``rule_type`` uses, in form order (names of :data:`KEYS`):
    ``id``; ``tickers`` unless a screen rule; ``level`` for :data:`~domain.alerts.rules.LEVEL_TYPES`,
    ``column`` for indicator rules, ``window`` for moving-average rules, ``screen`` for screen
    rules; ``channels``; ``since`` unless a screen rule; ``description``.

    Raises:
        ValueError: ``rule_type`` is not a :class:`~domain.alerts.rules.RuleType`.
    """
    kind = alert_rules.RuleType(rule_type)
    screen = kind in alert_rules.SCREEN_TYPES
    specific = [
        *([] if screen else ["tickers"]),
        *(["level"] if kind in alert_rules.LEVEL_TYPES else []),
        *(["column"] if kind in alert_rules.INDICATOR_TYPES else []),
        *(["window"] if kind in alert_rules.SMA_TYPES else []),
        *(["screen"] if screen else []),
    ]
    return ("id", *specific, "channels", *([] if screen else ["since"]), "description")


def rule_fields(rule_type: alert_rules.RuleType | str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The mapping :func:`~domain.alerts.rules.parse_rule` gets from the form: ``type`` and the
    ``values`` of :func:`fields_of` only (the id stripped of spaces; ``since`` only when a date).
    Missing values are left out, so that the parser names the missing field.

    Raises:
        ValueError: ``rule_type`` is not a :class:`~domain.alerts.rules.RuleType`.
    """
    kind = alert_rules.RuleType(rule_type)
    fields: dict[str, Any] = {"type": str(kind)}
    for name in fields_of(kind):
        value = values.get(name)
        if name == "id":
            value = (value or "").strip()
        if name == "since" and not isinstance(value, date):
            continue
        if value is not None:
            fields[name] = value
    return fields


def reset() -> None:
    """Forget the values of the form and of the type choice (defaults on the next run)."""
    for key in (KEY_TYPE, *KEYS.values()):
        st.session_state.pop(key, None)


def _specific_inputs(kind: alert_rules.RuleType, tickers: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    wanted = fields_of(kind)
    first, second = st.columns(2)
    if "tickers" in wanted:
        values["tickers"] = first.multiselect("Tickers", list(tickers), format_func=tickers.__getitem__,
                                              key=KEYS["tickers"], placeholder="Ticker, KRX code or company")  # fmt: skip
    if "screen" in wanted:
        presets = [name for name in screens.preset_names() if name != screens.NO_PRESET]
        values["screen"] = first.selectbox("Screen", presets, key=KEYS["screen"])
    if "window" in wanted:
        values["window"] = second.selectbox("Moving average (days)", alert_rules.SMA_WINDOWS, index=1,
                                            key=KEYS["window"])  # fmt: skip
    if "column" in wanted:
        watchable = screens.registry().alert_columns
        values["column"] = second.selectbox("Column", list(watchable), format_func=lambda c: watchable[c].label,
                                            key=KEYS["column"])  # fmt: skip
    if "level" in wanted:
        values["level"] = (first if "column" in wanted else second).number_input(
            _LEVEL_LABELS.get(kind, _INDICATOR_LEVEL_LABEL), value=None, step=1.0, key=KEYS["level"],
            help="a fraction for returns (0.05 = 5 %)" if kind in alert_rules.INDICATOR_TYPES else None,
        )  # fmt: skip
    return values


def render(path: Path, tickers: Mapping[str, str]) -> None:
    """Draw the type choice and the form; on submit, create the rule in the rules file ``path``.

    ``tickers``: the tickers offered (the warehouse's companies of every market), each with its
    label (``005930 · 삼성전자 (KOSPI)``: the multiselect finds a ticker by any part of it).
    Errors (invalid fields, an id that exists, an unwritable file) are shown and nothing is written.
    """
    st.markdown("**New rule**")
    kind = st.selectbox("Condition of the new rule", RULE_TYPES, key=KEY_TYPE,
                        format_func=lambda t: f"{t}: {alert_rules.RULE_TYPE_DESCRIPTIONS[t]}")  # fmt: skip
    with st.form("alerts_create"):
        rule_id = st.text_input("Rule id", placeholder="aapl-above-200", key=KEYS["id"],
                                help="lower-case letters, digits, '-' and '_'")  # fmt: skip
        values: dict[str, Any] = {"id": rule_id}
        values |= _specific_inputs(kind, tickers)
        left, right = st.columns(2)
        values["channels"] = left.multiselect("Notify by", CHANNELS, default=["log"], key=KEYS["channels"])
        if "since" in fields_of(kind):
            values["since"] = right.date_input("Evaluate from", value=None, format="YYYY-MM-DD", key=KEYS["since"],
                                               help="empty: from the latest trade date on")  # fmt: skip
        values["description"] = st.text_input("Description", key=KEYS["description"])
        submitted = st.form_submit_button("Create rule")
    if not submitted:
        return
    try:
        rule = alert_store.add_rule(path, alert_rules.parse_rule(rule_fields(kind, values), source="new rule"))
    except alert_rules.RulesFileError as exc:
        st.error("The rule was not created:\n\n" + "\n\n".join(f"- {p}" for p in exc.problems))
        return
    except (ValueError, OSError) as exc:  # an example file as ALERT_RULES_FILE, an unwritable folder
        st.error(f"The rule was not created: {exc}")
        return
    reset()
    st.session_state[KEY_FLASH] = (
        f"Created {rule.id}. It is evaluated after the next build, or as soon as the alert_rules_sensor runs."
    )
    st.rerun()

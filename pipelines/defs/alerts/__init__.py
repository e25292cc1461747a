"""Alerts: rules in ALERT_RULES_FILE evaluated after each marts build into alerts.alert_events, with
notifications (log, webhook, email) delivered through an outbox with retry."""

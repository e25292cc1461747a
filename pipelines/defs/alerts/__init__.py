"""Alerts: rules in ALERT_RULES_FILE evaluated after each marts build into marts.alert_events, with
notifications (log, webhook, email) delivered through an outbox with retry."""

from dagster import Definitions

from pipelines.defs.alerts.assets import alert_events
from pipelines.defs.alerts.jobs import alerts_evaluate_job
from pipelines.defs.alerts.sensors import alert_delivery_retry_sensor, alert_rules_sensor, alerts_after_build_sensor

defs = Definitions(
    assets=[alert_events],
    jobs=[alerts_evaluate_job],
    sensors=[alerts_after_build_sensor, alert_rules_sensor, alert_delivery_retry_sensor],
)

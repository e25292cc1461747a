"""``alerts_evaluate``: evaluate the alert rules, deliver, then publish the snapshot (so the app
sees the new events and delivery states)."""

from dagster import AssetKey, AssetSelection, define_asset_job

from pipelines.defs.alerts.assets import ALERT_EVENTS_KEY

ALERTS_GROUP = "alerts"
SNAPSHOT_KEY = AssetKey(["serving", "warehouse_snapshot"])

alerts_evaluate_job = define_asset_job(
    name="alerts_evaluate",
    selection=AssetSelection.assets(ALERT_EVENTS_KEY, SNAPSHOT_KEY),
    description="Evaluate the rules of ALERT_RULES_FILE on the built marts (new crossings -> "
    "alerts.alert_events), send due notifications (log, webhook, email) with retry, then publish the snapshot.",
)

"""``alerts/alert_events``: evaluate the alert rules on the built marts, then deliver.

One run (job ``alerts_evaluate``, started by the sensors of :mod:`pipelines.defs.alerts.sensors`
and by ``python -m pipelines.build`` after the build):

1. reads ``ALERT_RULES_FILE``, or its tracked example ``rules.example.yml`` while the file does
   not exist yet (:func:`domain.alerts.store.rules_source`; the run never writes either file);
   an invalid file fails the run with every problem named;
2. creates the alert tables if missing (:mod:`pipelines.defs.alerts.tables`);
3. evaluates the enabled rules (:mod:`pipelines.defs.alerts.evaluate`): new events with their
   pending deliveries, one transaction per rule;
4. attempts every due pending delivery, new or older (:mod:`pipelines.defs.alerts.delivery`).
   Failed deliveries stay pending for a later retry: the run still succeeds, with a warning.

Metadata: rules evaluated / paused, events fired (total and per rule), deliveries attempted,
delivered, failed (per channel), pending deliveries left, the fired events.
"""

from datetime import datetime, timezone

from dagster import (
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
)

from domain.alerts.store import load_rules, rules_source
from pipelines.defs.alerts.channels import configured_channels
from pipelines.defs.alerts.delivery import deliver_due, utc_now
from pipelines.defs.alerts.evaluate import evaluate_rules
from pipelines.defs.alerts.tables import (
    deliveries_table,
    ensure_alert_tables,
    events_table,
)
from pipelines.lib.resources import AlertsResource, WarehouseResource

ALERT_EVENTS_KEY = AssetKey(["alerts", "alert_events"])
INDICATORS_KEY = AssetKey(["marts", "fct_daily_indicators"])
SCREENER_KEY = AssetKey(["marts", "mart_screener_latest"])


def _events_markdown(events, limit: int = 30) -> str:
    lines = ["| rule_id | ticker | trade_date | message |", "|---|---|---|---|"]
    for row in events.head(limit).iter_rows(named=True):
        message = row["message"].replace("|", "\\|")
        lines.append(f"| {row['rule_id']} | {row['ticker']} | {row['trade_date']} | {message} |")
    return "\n".join(lines)


@asset(
    key=ALERT_EVENTS_KEY,
    deps=[INDICATORS_KEY, SCREENER_KEY],
    group_name="alerts",
    kinds={"python", "duckdb", "postgres"},
    owners=["team:data-engineering"],
    description="Alert events (rule, ticker, trade_date, observed value, threshold, message, fired_at): "
    "each crossing of an enabled rule of ALERT_RULES_FILE fires once; with their notification outbox "
    "(alerts.alert_deliveries) and evaluation state.",
)
def alert_events(context: AssetExecutionContext, warehouse: WarehouseResource, alerts: AlertsResource) -> MaterializeResult:
    rules = load_rules(alerts.rules_path)
    fired_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    channels = configured_channels(alerts.webhook_url, alerts.smtp, run_log=context.log.info)
    with warehouse.connect() as wh:
        ensure_alert_tables(wh)
        evaluation = evaluate_rules(wh, rules, fired_at)
        report = deliver_due(wh, channels, alerts.retry_minutes, clock=utc_now)
        total_events = wh.row_count(events_table(wh))
        pending = wh.fetch_frame(f"select count(*) as n from {deliveries_table(wh)} where status = 'pending'")["n"][0]

    for rule_id, tickers in evaluation.unknown_tickers.items():
        context.log.warning(f"alert rule {rule_id}: tickers not in the warehouse (never fire): {tickers}")
    for channel in sorted(report.not_configured):
        context.log.warning(f"alert channel {channel} is not configured: its deliveries stay pending")
    for error in report.errors:
        context.log.warning(f"alert delivery failed (will retry): {error}")
    statuses = [outcome.status for outcome in evaluation.outcomes]
    return MaterializeResult(
        metadata={
            "dagster/row_count": int(total_events),
            "rules_file": str(rules_source(alerts.rules_path)),
            "latest_trade_date": str(evaluation.latest_trade_date),
            "rules_evaluated": sum(status != "paused" for status in statuses),
            "rules_paused": statuses.count("paused"),
            "events_fired": evaluation.events.height,
            "events_fired_per_rule": MetadataValue.json(evaluation.events_per_rule()),
            "rule_outcomes": MetadataValue.json(
                {o.rule_id: {"status": o.status, "first_date": str(o.first_date), "last_date": str(o.last_date)}
                 for o in evaluation.outcomes}  # fmt: skip
            ),
            "unknown_tickers": MetadataValue.json(evaluation.unknown_tickers),
            "deliveries_attempted": report.attempted,
            "deliveries_delivered": report.delivered,
            "deliveries_failed": report.failed,
            "deliveries_per_channel": MetadataValue.json(report.per_channel),
            "deliveries_pending": int(pending),
            "events_preview": MetadataValue.md(_events_markdown(evaluation.events)),
        }
    )

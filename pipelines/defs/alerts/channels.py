"""Notification channels: ``log``, ``webhook`` (HTTP POST of JSON) and ``email`` (SMTP).

Each channel sends one event (a mapping with the columns of ``alerts.alert_events``) and raises
:class:`ChannelError` when it could not; the outbox (:mod:`pipelines.defs.alerts.delivery`)
records the error and retries later. A channel that is not configured raises
:class:`ChannelNotConfigured` (a :class:`ChannelError`): the delivery stays pending.

* ``log``: Python logging (logger ``pipelines.alerts``) and, inside a run, the Dagster log.
* ``webhook``: ``POST ALERT_WEBHOOK_URL`` with the event as a JSON object (:func:`event_payload`),
  timeout 10 s, no redirects followed; any 2xx status = delivered. Errors name the URL without
  credentials, query or fragment (:func:`redacted_url`) and never carry the receiver's body.
* ``email``: one message per event through ``SMTP_HOST:SMTP_PORT`` (STARTTLS when
  ``SMTP_STARTTLS``, login when ``SMTP_USER`` is set), from ``ALERT_EMAIL_FROM`` to every address
  of ``ALERT_EMAIL_TO``; timeout 10 s. Subject ``[alert] <rule_id>: <ticker> <trade_date>``,
  body: the message and the values.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable, Mapping
from datetime import date, datetime
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx

from domain.settings import SmtpSettings

TIMEOUT_S = 10.0
LOGGER = logging.getLogger("pipelines.alerts")


class ChannelError(RuntimeError):
    """The channel could not deliver the event (the message says why)."""


class ChannelNotConfigured(ChannelError):
    """The channel lacks its settings (names the env vars to set)."""


class Channel(Protocol):
    name: str

    def send(self, event: Mapping[str, Any]) -> None:
        """Deliver one event; raise :class:`ChannelError` on failure."""


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat() + ("Z" if value.tzinfo is None else "")
    if isinstance(value, date):
        return value.isoformat()
    return value


def event_payload(event: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON object sent for an event: ``event_id, rule_id, rule_type, ticker, trade_date``
    (``YYYY-MM-DD``), ``observed_value, threshold`` (numbers or null), ``message, fired_at``
    (ISO 8601 UTC, ``Z`` suffix)."""
    keys = ("event_id", "rule_id", "rule_type", "ticker", "trade_date", "observed_value", "threshold", "message",
            "fired_at")  # fmt: skip
    return {key: _iso(event[key]) for key in keys}


def redacted_url(url: str) -> str:
    """``url`` without what may be a secret: user and password, query string and fragment
    (``https://user:pw@hooks.test/x?token=t`` -> ``https://hooks.test/x``). Error messages, the
    outbox (``alerts.alert_deliveries.last_error``), the app and the Dagster log only ever see this."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class LogChannel:
    """Logs the message (INFO) to ``pipelines.alerts`` and to ``run_log`` when given."""

    name = "log"

    def __init__(self, run_log: Callable[[str], None] | None = None):
        self.run_log = run_log

    def send(self, event: Mapping[str, Any]) -> None:
        text = f"ALERT {event['message']}"
        LOGGER.info(text)
        if self.run_log is not None:
            self.run_log(text)


class WebhookChannel:
    """POSTs :func:`event_payload` as JSON to ``url`` (``transport`` replaces the network in tests)."""

    name = "webhook"

    def __init__(self, url: str, transport: httpx.BaseTransport | None = None, timeout_s: float = TIMEOUT_S):
        self.url = url
        self.transport = transport
        self.timeout_s = timeout_s

    def send(self, event: Mapping[str, Any]) -> None:
        if not self.url:
            raise ChannelNotConfigured("webhook channel: ALERT_WEBHOOK_URL is not set")
        shown = redacted_url(self.url)
        try:
            with httpx.Client(transport=self.transport, timeout=self.timeout_s) as client:
                response = client.post(self.url, json=event_payload(event),
                                       headers={"User-Agent": "stock-warehouse-alerts/1"})  # fmt: skip
        except httpx.HTTPError as error:
            detail = str(error).replace(self.url, shown)
            raise ChannelError(f"webhook POST {shown}: {type(error).__name__}: {detail}") from None
        if not response.is_success:
            # the status only: a receiver's body may echo the request, credentials included
            raise ChannelError(f"webhook POST {shown}: HTTP {response.status_code} {response.reason_phrase}".rstrip())


def email_message(event: Mapping[str, Any], sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    """The e-mail for one event (plain text)."""
    message = EmailMessage()
    message["Subject"] = f"[alert] {event['rule_id']}: {event['ticker']} {_iso(event['trade_date'])}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    payload = event_payload(event)
    lines = [event["message"], ""] + [f"{key}: {'' if value is None else value}" for key, value in payload.items()]
    message.set_content("\n".join(lines) + "\n")
    return message


class EmailChannel:
    """Sends one plain-text e-mail per event over SMTP (see the module docstring)."""

    name = "email"

    def __init__(self, smtp: SmtpSettings | None, timeout_s: float = TIMEOUT_S):
        self.smtp = smtp
        self.timeout_s = timeout_s

    def send(self, event: Mapping[str, Any]) -> None:
        smtp = self.smtp
        if smtp is None:
            raise ChannelNotConfigured("email channel: SMTP_HOST is not set")
        if not smtp.sender or not smtp.recipients:
            raise ChannelNotConfigured("email channel: ALERT_EMAIL_FROM and ALERT_EMAIL_TO must be set")
        message = email_message(event, smtp.sender, smtp.recipients)
        try:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=self.timeout_s) as server:
                if smtp.starttls:
                    server.starttls(context=ssl.create_default_context())
                if smtp.user:
                    server.login(smtp.user, smtp.password)
                server.send_message(message, from_addr=smtp.sender, to_addrs=list(smtp.recipients))
        except (smtplib.SMTPException, OSError) as error:
            raise ChannelError(f"email via {smtp.host}:{smtp.port}: {type(error).__name__}: {error}") from error


def configured_channels(
    webhook_url: str, smtp: SmtpSettings | None, run_log: Callable[[str], None] | None = None
) -> dict[str, Channel]:
    """Every channel by name: ``log`` (to ``run_log``), ``webhook`` (POST to ``webhook_url``), ``email``
    (through ``smtp``); an unconfigured one raises :class:`ChannelNotConfigured` on send."""
    return {
        "log": LogChannel(run_log),
        "webhook": WebhookChannel(webhook_url),
        "email": EmailChannel(smtp),
    }

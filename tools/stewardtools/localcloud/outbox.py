"""Email that SNS would send, written to a folder a person can read.

moto records published messages but sends no email. Each message delivered to an ``email`` or
``email-json`` subscription becomes one text file
``<outbox>/<YYYYmmddTHHMMSSZ>-<topic name>-<n>.txt`` (n counts up from 0001 for the outbox's
lifetime, so names sort in delivery order and never collide). ``email`` subscribers get the
message text (a CloudWatch alarm is rendered the way AWS's alarm emails read, followed by the raw
JSON); ``email-json`` subscribers get SNS's JSON envelope.

Links: the functions write the objects an email links to as paths under ``<state>/objects/``
(``STEWARD_LOCAL_OBJECTS``, modelsteward/links.py); the outbox copies each such object out of the
local S3 when it delivers the email, so the path in the email opens the report it names.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class OutboxMessage:
    path: Path
    to: str
    subject: str
    body: str
    topic_arn: str
    message_id: str
    sent_at: dt.datetime
    protocol: str = "email"


class Outbox:
    def __init__(
        self,
        folder: Path,
        *,
        objects: Path | None = None,
        fetch: Callable[[str, str], bytes | None] | None = None,
    ) -> None:
        self.folder = folder
        self.objects = objects  # where linked objects are copied (None: no copies)
        self._fetch = fetch  # (bucket, key) -> the object's bytes in the local S3
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._count = 0
        self.messages: list[OutboxMessage] = []

    def deliver(
        self,
        *,
        to: str,
        subject: str | None,
        message: str,
        topic_arn: str,
        message_id: str,
        sent_at: dt.datetime,
        protocol: str = "email",
        region: str = "us-east-1",
        attributes: dict[str, Any] | None = None,
    ) -> OutboxMessage:
        topic = topic_arn.rsplit(":", 1)[-1]
        title = subject or _default_subject(topic)
        if protocol == "email-json":
            body = json.dumps(
                _json_envelope(message, message_id, subject, topic_arn, sent_at, region, attributes), indent=2
            )
        else:
            body = render_email_body(message)
        self._copy_linked_objects(body)
        with self._lock:
            self._count += 1
            stamp = sent_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            path = self.folder / f"{stamp}-{_safe(topic)}-{self._count:04d}.txt"
            headers = [
                f"To: {to}",
                "From: AWS Notifications <no-reply@sns.amazonaws.com>",
                f"Subject: {title}",
                f"Date: {email.utils.format_datetime(sent_at.astimezone(dt.UTC))}",
                f"X-SNS-Topic-Arn: {topic_arn}",
                f"X-SNS-Message-Id: {message_id}",
            ]
            path.write_text("\n".join(headers) + "\n\n" + body.rstrip("\n") + "\n", encoding="utf-8")
            record = OutboxMessage(path, to, title, body, topic_arn, message_id, sent_at, protocol)
            self.messages.append(record)
        return record

    def _copy_linked_objects(self, body: str) -> None:
        if self.objects is None or self._fetch is None:
            return
        root = str(self.objects.resolve()) + "/"
        for match in re.finditer(re.escape(root) + r"([^/\s]+)/(\S+)", body):
            target = self.objects / match.group(1) / match.group(2)
            data = self._fetch(match.group(1), match.group(2))
            if data is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:80]


def _default_subject(topic: str) -> str:
    return f"AWS Notification Message ({topic})"


def _json_envelope(
    message: str,
    message_id: str,
    subject: str | None,
    topic_arn: str,
    sent_at: dt.datetime,
    region: str,
    attributes: dict[str, Any] | None,
) -> dict[str, Any]:
    envelope: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic_arn,
        "Message": message,
        "Timestamp": sent_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "SignatureVersion": "1",
        "Signature": "LOCAL",
        "SigningCertURL": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-local.pem",
        "UnsubscribeURL": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}",
    }
    if subject:
        envelope["Subject"] = subject
    if attributes:
        envelope["MessageAttributes"] = attributes
    return envelope


def render_email_body(message: str) -> str:
    """CloudWatch alarm notifications read like AWS's alarm emails; anything else is sent as is."""
    try:
        alarm = json.loads(message)
    except (json.JSONDecodeError, TypeError):
        return message
    if not (isinstance(alarm, dict) and "AlarmName" in alarm and "NewStateValue" in alarm):
        return message
    lines = [
        f'You are receiving this email because your Amazon CloudWatch Alarm "{alarm["AlarmName"]}" in the '
        f"{alarm.get('Region', '')} region has entered the {alarm['NewStateValue']} state, because "
        f'"{alarm.get("NewStateReason", "")}" at "{alarm.get("StateChangeTime", "")}".',
        "",
        "Alarm Details:",
        f"- Name:                       {alarm['AlarmName']}",
        f"- Description:                {alarm.get('AlarmDescription') or ''}",
        f"- State Change:               {alarm.get('OldStateValue', '')} -> {alarm['NewStateValue']}",
        f"- Reason for State Change:    {alarm.get('NewStateReason', '')}",
        f"- Timestamp:                  {alarm.get('StateChangeTime', '')}",
        f"- AWS Account:                {alarm.get('AWSAccountId', '')}",
        f"- Alarm Arn:                  {alarm.get('AlarmArn', '')}",
    ]
    trigger = alarm.get("Trigger")
    if isinstance(trigger, dict):
        statistic = trigger.get("Statistic") or trigger.get("ExtendedStatistic") or ""
        dims = ", ".join(f"{d.get('name')} = {d.get('value')}" for d in trigger.get("Dimensions") or [])
        lines += [
            "",
            "Threshold:",
            f"- The alarm is in the ALARM state when the metric is {trigger.get('ComparisonOperator')} "
            f"{trigger.get('Threshold')} for at least "
            f"{trigger.get('DatapointsToAlarm') or trigger.get('EvaluationPeriods')} "
            f"of the last {trigger.get('EvaluationPeriods')} period(s) of {trigger.get('Period')} seconds.",
            "",
            "Monitored Metric:",
            f"- MetricNamespace:                     {trigger.get('Namespace')}",
            f"- MetricName:                          {trigger.get('MetricName')}",
            f"- Dimensions:                          [{dims}]",
            f"- Period:                              {trigger.get('Period')} seconds",
            f"- Statistic:                           {statistic}",
            f"- Unit:                                {trigger.get('Unit') or 'not specified'}",
            f"- TreatMissingData:                    {trigger.get('TreatMissingData')}",
        ]
    if alarm.get("AlarmRule"):
        lines += ["", "Alarm Rule:", f"- {alarm['AlarmRule']}"]
    actions = [
        ("ALARM", "AlarmActions"),
        ("OK", "OKActions"),
        ("INSUFFICIENT_DATA", "InsufficientDataActions"),
    ]
    lines += ["", "State Change Actions:"]
    lines += [f"- {state}: {alarm.get(key) or []}" for state, key in actions]
    lines += ["", "--- notification as published (JSON) ---", json.dumps(alarm, indent=2)]
    return "\n".join(lines)

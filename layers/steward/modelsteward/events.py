"""Typed views of the events the functions receive (Powertools data classes underneath)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event, S3EventBridgeNotificationEvent

from .errors import InvalidInput
from .ports import ObjectRef


@dataclass(frozen=True)
class S3Upload:
    bucket: str
    key: str  # decoded
    version_id: str | None
    size: int
    etag: str | None

    def idempotency_key(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "key": self.key, "version": self.version_id or self.etag or ""}

    def object_ref(self) -> ObjectRef:
        """The exact object version this upload created (lineage, quarantine reasons, audit)."""
        return ObjectRef(self.bucket, self.key, self.version_id, None, self.size)


def s3_uploads(event: dict[str, Any]) -> list[S3Upload]:
    """Object-created records of an S3 notification, or the object of an S3 "Object Created" event
    delivered through EventBridge; test events and other records are skipped."""
    if event.get("Event") == "s3:TestEvent":
        return []
    if event.get("source") == "aws.s3" and "detail" in event:
        return _eventbridge_upload(event)
    if "Records" not in event:
        raise InvalidInput(
            "event is neither an S3 notification (no 'Records') nor an S3 event through EventBridge",
            code="bad_event",
        )
    uploads = []
    for rec in S3Event(event).records:
        if not rec.event_name.startswith("ObjectCreated"):
            continue
        obj = rec.s3.get_object
        uploads.append(
            S3Upload(
                bucket=rec.s3.bucket.name,
                key=unquote_plus(obj.key),
                version_id=obj.get("versionId"),
                size=int(obj.get("size") or 0),
                etag=obj.get("eTag"),
            )
        )
    return uploads


def _eventbridge_upload(event: dict[str, Any]) -> list[S3Upload]:
    """Powertools' S3EventBridgeNotificationEvent: one object per event (its key arrives URL-encoded,
    as in a notification; the data class decodes it)."""
    bridged = S3EventBridgeNotificationEvent(event)
    if bridged.detail_type != "Object Created":
        return []
    try:
        detail = bridged.detail
        obj = detail.object
        return [
            S3Upload(
                bucket=detail.bucket.name,
                key=obj.key,
                version_id=obj.get("version-id"),
                size=int(obj.size or 0),
                etag=obj.etag or None,
            )
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"S3 event through EventBridge without {exc}", code="bad_event") from exc


ALARM_STATE_CHANGE = "CloudWatch Alarm State Change"


def is_alarm_state_change(event: Mapping[str, Any]) -> bool:
    """A CloudWatch alarm state change delivered by EventBridge (not through the alarms topic)."""
    return event.get("source") == "aws.cloudwatch" and event.get("detail-type") == ALARM_STATE_CHANGE


def alarm_message_from_eventbridge(event: Mapping[str, Any]) -> dict[str, Any]:
    """The EventBridge "CloudWatch Alarm State Change" event (Powertools' EventBridgeModel checks the
    envelope) as the message CloudWatch would have published to SNS, for parse_alarm_message:
    ``alarmName``, ``state``, ``previousState``, ``configuration.description``, its metric
    (``metricStat``) or composite ``alarmRule``. EventBridge carries no threshold or comparison."""
    from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
    from pydantic import ValidationError

    try:
        envelope = EventBridgeModel.model_validate(event)
    except ValidationError as exc:
        raise InvalidInput(f"not an EventBridge event: {str(exc)[:200]}", code="bad_event") from exc
    detail = envelope.detail if isinstance(envelope.detail, Mapping) else {}
    state = detail.get("state") or {}
    previous = detail.get("previousState") or {}
    configuration = detail.get("configuration") or {}
    message: dict[str, Any] = {
        "AlarmName": detail.get("alarmName"),
        "AlarmDescription": configuration.get("description"),
        "AWSAccountId": envelope.account,
        "NewStateValue": state.get("value"),
        "NewStateReason": state.get("reason") or "",
        "StateChangeTime": state.get("timestamp") or envelope.time.isoformat(),
        "Region": envelope.region,
        "AlarmArn": envelope.resources[0] if envelope.resources else None,
        "OldStateValue": previous.get("value"),
    }
    if configuration.get("alarmRule"):
        message["AlarmRule"] = configuration["alarmRule"]
    metrics = configuration.get("metrics") or []
    metrics = [m for m in metrics if isinstance(m, Mapping) and m.get("metricStat")]
    if len(metrics) == 1:
        stat = metrics[0]["metricStat"]
        metric = stat.get("metric") or {}
        message["Trigger"] = {
            "MetricName": metric.get("name"),
            "Namespace": metric.get("namespace"),
            "Statistic": stat.get("stat"),
            "Period": stat.get("period"),
            "Dimensions": [{"name": k, "value": v} for k, v in (metric.get("dimensions") or {}).items()],
        }
    return message

"""S3 uploads and alarm state changes in the shapes AWS delivers them (tests/events/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelsteward.domain.alarm_message import identify, parse_alarm_message
from modelsteward.errors import InvalidInput
from modelsteward.events import alarm_message_from_eventbridge, s3_uploads

EVENTS = Path(__file__).resolve().parents[1] / "events"


def _event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return event


def test_an_s3_notification_and_its_eventbridge_twin_give_the_same_upload() -> None:
    notification, bridged = _event("s3-put.json"), _event("s3-eventbridge.json")
    for event in (notification, bridged):
        key = "inference/credit-default/a%2Bb+c.csv"  # '+' encoded as %2B, a space as '+'
        if "Records" in event:
            event["Records"][0]["s3"]["object"]["key"] = key
        else:
            event["detail"]["object"]["key"] = key
    (a,), (b,) = s3_uploads(notification), s3_uploads(bridged)
    assert (
        (a.bucket, a.key, a.size)
        == (b.bucket, b.key, b.size)
        == ("example-bucket", "inference/credit-default/a+b c.csv", 1024)
    )
    assert b.version_id == "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e" and b.etag == "0123456789abcdef0123456789abcdef"


def test_other_s3_eventbridge_events_are_skipped_and_a_broken_one_is_refused() -> None:
    deleted = _event("s3-eventbridge.json") | {"detail-type": "Object Deleted"}
    assert s3_uploads(deleted) == []
    broken = _event("s3-eventbridge.json")
    del broken["detail"]["bucket"]
    with pytest.raises(InvalidInput) as err:
        s3_uploads(broken)
    assert err.value.code == "bad_event"
    with pytest.raises(InvalidInput):
        s3_uploads({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}})


def test_an_alarm_state_change_through_eventbridge_reads_like_the_sns_message() -> None:
    n = parse_alarm_message(alarm_message_from_eventbridge(_event("alarm-eventbridge.json")))
    assert (n.AlarmName, n.NewStateValue, n.OldStateValue) == (
        "model-steward-credit-default-quality",
        "ALARM",
        "OK",
    )
    assert (
        n.Region == "us-east-1"
        and n.AlarmArn
        and n.AlarmArn.endswith(":alarm:model-steward-credit-default-quality")
    )
    assert (
        n.Trigger is not None and n.Trigger.MetricName == "QualityViolations" and n.Trigger.statistic == "Sum"
    )
    assert n.Trigger.dimension("model") == "credit-default" and n.reported_values == [3.0]
    identity = identify(n)
    assert (identity.kind, identity.model, identity.signal) == ("model", "credit-default", "quality")

"""The canonical event shapes (tests/events/) each drive the right handler on the local cloud:
S3 notifications as ``sam local generate-event s3 put`` makes them and S3 events through
EventBridge reach every S3-triggered function; alarms through SNS and through EventBridge reach
handle_alarm; SAM's own SNS sample is recorded as "not an alarm", never a bad event; a raw
EventBridge scheduled event runs the audit."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from stewardtools.localcloud.deploy import LocalCloud

EVENTS = Path(__file__).resolve().parents[1] / "events"
MODEL = "credit-default"
UPLOAD_FUNCTIONS = {
    "training": "train_model",
    "reference": "create_baseline",
    "scoring": "score_batch",
    "inference": "monitor_batch",
    "labels": "evaluate_labels",
}
RESULT_LISTS = ("batches", "baselines", "results")


def _event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return event


def _pointed_at(shape: str, bucket: str, key: str, version: str | None) -> dict[str, Any]:
    """The fixture with the local stack's bucket and an uploaded key (encoded as each shape does)."""
    event = _event(shape)
    if shape == "s3-put.json":
        s3 = event["Records"][0]["s3"]
        s3["bucket"].update(name=bucket, arn=f"arn:aws:s3:::{bucket}")
        s3["object"]["key"] = urllib.parse.quote_plus(key)
        if version:
            s3["object"]["versionId"] = version
    else:
        event["resources"] = [f"arn:aws:s3:::{bucket}"]
        event["detail"]["bucket"]["name"] = bucket
        event["detail"]["object"].update(key=urllib.parse.quote_plus(key), **{"version-id": version})
    return event


def _results(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return next(payload[name] for name in RESULT_LISTS if name in payload)


@pytest.mark.parametrize("shape", ["s3-put.json", "s3-eventbridge.json"])
@pytest.mark.parametrize("prefix", sorted(UPLOAD_FUNCTIONS))
def test_s3_events_in_both_shapes_reach_every_upload_function(
    local_cloud: LocalCloud, prefix: str, shape: str
) -> None:
    key = f"{prefix}/{MODEL}/canonical {shape.split('.')[0]}.csv"  # a space: keys arrive URL-encoded
    uploaded = local_cloud.upload(key, b"id,x\n1,2\n")
    event = _pointed_at(shape, local_cloud.data_bucket, key, uploaded.get("VersionId"))
    invocation = local_cloud.invoke(UPLOAD_FUNCTIONS[prefix], event)
    assert invocation.ok, invocation
    payload = invocation.result
    assert payload.get("error") != "bad_event", payload
    (result,) = _results(payload)
    assert result.get("status") not in (None, "bad_event"), result
    assert f'"correlation_id":"{key}"' in local_cloud.logs(UPLOAD_FUNCTIONS[prefix])


@pytest.mark.parametrize(
    ("shape", "alarm"),
    [
        ("sns-alarm.json", "model-steward-credit-default-drift"),
        ("alarm-eventbridge.json", "model-steward-credit-default-quality"),
    ],
)
def test_alarms_through_sns_and_eventbridge_reach_handle_alarm(
    local_cloud: LocalCloud, shape: str, alarm: str
) -> None:
    invocation = local_cloud.invoke("handle_alarm", _event(shape))
    assert invocation.ok, invocation
    (result,) = invocation.result["results"]
    assert result["status"] == "handled", result
    assert result["alarm"] == alarm and result["state"] == "ALARM"
    assert f'"correlation_id":"{alarm}"' in local_cloud.logs("handle_alarm")


def test_sams_sns_sample_is_recorded_as_not_an_alarm(local_cloud: LocalCloud) -> None:
    invocation = local_cloud.invoke("handle_alarm", _event("sns-notification.json"))
    assert invocation.ok, invocation
    assert invocation.result.get("error") is None, "a valid SNS envelope is not a bad event"
    (result,) = invocation.result["results"]
    assert (result["status"], result["code"]) == ("rejected", "not_an_alarm")


def test_a_raw_scheduled_event_runs_the_audit(local_cloud: LocalCloud) -> None:
    invocation = local_cloud.invoke("run_audit", _event("scheduled-event.json"))
    assert invocation.ok, invocation
    assert invocation.result.get("error") is None, invocation.result
    assert invocation.result["run_id"], invocation.result

"""handle_alarm on moto: one email per episode with the evidence, one retrain per episode, cooldown."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from alerting_fixtures import MODEL, ROOT, T0, World, frame, load_handler, make_world

from modelsteward.adapters.alarm_lookup import CloudWatchAlarmLookup
from modelsteward.domain.alarm_message import parse_alarm_message
from modelsteward.domain.alert_policy import episodes_of
from modelsteward.services import handle_alarm as service

if TYPE_CHECKING:
    from conftest import Cloud, FakeLambdaContext

STAGE = "test"
ACCOUNT = "123456789012"
ARN = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:"
CHANGED = "2026-03-04T01:00:00.000+0000"


def name(signal: str, model: str = MODEL) -> str:
    return f"model-steward-{STAGE}-{model}-{signal}"


def metric_alarm(
    signal: str,
    state: str = "ALARM",
    old: str = "OK",
    changed: str = CHANGED,
    model: str = MODEL,
    **extra: Any,
) -> dict[str, Any]:
    message = {
        "AlarmName": name(signal, model),
        "AlarmDescription": f"model={model};signal={signal};stage={STAGE} | the {signal} signal",
        "AWSAccountId": ACCOUNT,
        "NewStateValue": state,
        "OldStateValue": old,
        "StateChangeTime": changed,
        "NewStateReason": "Threshold Crossed: 1 out of the last 1 datapoints [3.0 (04/03/26 00:55:00)] was "
        "greater than the threshold (0.0) (minimum 1 datapoint for OK -> ALARM transition).",
        "Region": "US East (N. Virginia)",
        "AlarmArn": ARN + name(signal, model),
        "Trigger": {
            "MetricName": "QualityViolations",
            "Namespace": "ModelSteward",
            "Statistic": "SUM",
            "Dimensions": [{"name": "model", "value": model}],
            "Period": 300,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 0.0,
            "TreatMissingData": "notBreaching",
        },
    }
    message.update(extra)
    return message


def composite(state: str = "ALARM", old: str = "OK", changed: str = CHANGED) -> dict[str, Any]:
    return {
        "AlarmName": name("data_drift"),
        "AWSAccountId": ACCOUNT,
        "NewStateValue": state,
        "OldStateValue": old,
        "AlarmDescription": f"model={MODEL};signal=data_drift;stage={STAGE} | data drift",
        "StateChangeTime": changed,
        "Region": "US East (N. Virginia)",
        "AlarmArn": ARN + name("data_drift"),
        "NewStateReason": "AlarmRule evaluated to TRUE",
        "AlarmRule": f'ALARM("{ARN}{name("drift")}") OR ALARM("{ARN}{name("multivariate_drift")}")',
        "TriggeringChildren": [
            {"Arn": ARN + name("drift"), "State": {"Value": state, "Timestamp": changed}},
            {
                "Arn": ARN + name("multivariate_drift"),
                "State": {"Value": "OK", "Timestamp": "2026-03-01T00:00:00.000+0000"},
            },
        ],
    }


def sns_event(message: dict[str, Any] | str) -> dict[str, Any]:
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:model-steward-alarms"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic,
                    "Subject": "ALARM",
                    "Message": message if isinstance(message, str) else json.dumps(message),
                    "Timestamp": "2026-03-04T01:00:01.000Z",
                    "SignatureVersion": "1",
                    "Signature": "c2ln",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/c.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


@pytest.fixture
def world(aws: Cloud, monkeypatch: pytest.MonkeyPatch) -> World:
    from modelsteward.config import reset_settings

    monkeypatch.setenv("TRAIN_FUNCTION_NAME", "steward-train_model")
    reset_settings()
    w = make_world(aws)
    for i in range(3):  # three batches, the newest drifted
        start = T0 + dt.timedelta(hours=6 * i)
        w.monitor(
            frame(400, seed=40 + i, shift=1.5 if i == 2 else 0.0, start=start),
            f"batch-{i}",
            at=start + dt.timedelta(hours=1),
        )
    return w


def handle(world: World, message: dict[str, Any], lookup: Any = None) -> dict[str, Any]:
    return service.handle_alarm(world.ctx, parse_alarm_message(message), alarms=lookup)


def put_child_alarm_in_alarm() -> CloudWatchAlarmLookup:
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    cw.put_metric_alarm(
        AlarmName=name("drift"),
        Namespace="ModelSteward",
        MetricName="DriftedFeatureShare",
        Dimensions=[{"Name": "model", "Value": MODEL}],
        Statistic="Maximum",
        Period=300,
        EvaluationPeriods=3,
        DatapointsToAlarm=2,
        Threshold=0.3,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    cw.set_alarm_state(
        AlarmName=name("drift"),
        StateValue="ALARM",
        StateReason="Threshold Crossed: 2 out of the last 3 datapoints [0.75 (04/03/26 00:55:00), "
        "0.5 (04/03/26 00:50:00)] were greater than or equal to the threshold (0.3)",
    )
    return CloudWatchAlarmLookup(cw)


def register_champion(world: World) -> None:
    registry = world.ctx.registry
    registry.put_version(
        MODEL,
        3,
        {
            "version": 3,
            "status": "Approved",
            "alias": "champion",
            "card_uri": f"s3://{world.ctx.settings.artifacts_bucket}/models/{MODEL}/v0003/card/card.json",
        },
    )
    registry.update_model_state(MODEL, {"champion": 3})


def test_a_model_served_elsewhere_is_never_promised_a_retrain(
    aws: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Monitored from a reference only (bring your own model): no training data, no retrain (issue 16)."""
    from modelsteward.config import reset_settings

    monkeypatch.setenv("TRAIN_FUNCTION_NAME", "steward-train_model")
    reset_settings()
    byom = make_world(aws, trainable=False)
    result = handle(byom, composite(), put_child_alarm_in_alarm())
    assert (result["decision"], result["retrain"], result["emailed"]) == ("no_training_data", False, True)
    ((_, body, _),) = byom.notifier.messages
    assert "Retrain started" not in body and byom.invoker.calls == []
    assert f"{MODEL} has no training data" in body
    assert f"upload its new reference to reference/{MODEL}/" in body


def test_a_composite_drift_alarm_sends_one_email_with_the_evidence_and_starts_one_retrain(
    world: World,
) -> None:
    register_champion(world)
    result = handle(world, composite(), put_child_alarm_in_alarm())
    assert (result["decision"], result["retrain"], result["emailed"]) == ("retrain", True, True)

    ((subject, body, attributes),) = world.notifier.messages
    assert subject == f"[model-steward] {MODEL}: data_drift ALARM"
    assert attributes == {"model": MODEL, "signal": "data_drift"}
    assert f"Model {MODEL} (stage {STAGE}): data_drift is in ALARM since 2026-03-04 01:00 UTC." in body
    assert f"{name('data_drift')} is a composite alarm; its child alarms in ALARM:" in body
    assert (
        "DriftedFeatureShare (Maximum per 5-minute period) >= 0.3 in at least 2 of the last 3 periods" in body
    )
    assert "values CloudWatch saw (newest first): 0.75, 0.5" in body
    assert name("multivariate_drift") not in body.split("LATEST BATCH REPORT")[0], "only children in ALARM"
    newest = world.batches[-1]
    assert f"LATEST BATCH REPORT ({newest}, 400 rows" in body
    section = body.split("TOP DRIFTED FEATURES")[1].split("WHAT THE SUITE DID")[0]
    top = [line.split() for line in section.splitlines()[1:] if line.strip() and "why:" not in line]
    assert {top[0][0], top[1][0]} == {"tenure", "spend"}, "the shifted features lead"
    assert "why: above the threshold 0.1" in section, "each drifted feature says why"
    assert top[0][1] == "wasserstein" and top[0][-1] == "drift"
    assert f"reports/{MODEL}/batches/{newest}/report.html" in body
    assert f"champion model card v3: s3://steward-artifacts/models/{MODEL}/v0003/card/card.html" in body
    assert "Retrain started (retrain.on_alarms includes drift)." in body

    ((function, payload),) = world.invoker.calls
    episode = f"{name('data_drift')}@2026-03-04T01:00:00+00:00"
    assert (function, payload) == (
        "steward-train_model",
        {
            "action": "retrain",
            "model": MODEL,
            "trigger": f"alarm:{name('data_drift')}",
            "episode": episode,
            "reason": f"alarm {name('data_drift')}: data_drift in ALARM since 2026-03-04T01:00:00+00:00",
        },
    )
    state = world.ctx.registry.get_model_state(MODEL)
    recorded = episodes_of(state)[name("data_drift")]
    assert (recorded.id, recorded.decision, recorded.retrain_invoked) == (episode, "retrain", True)
    assert state["last_retrain_requested_at"] == "2026-03-04T01:00:00+00:00"
    assert world.audit_actions[-2:] == ["retrain.requested", "alarm.handled"]


def test_the_same_transition_delivered_twice_is_one_email_and_one_retrain(
    world: World, lambda_context: FakeLambdaContext
) -> None:
    first = handle(world, composite())
    second = handle(world, composite())
    assert first == second
    assert len(world.notifier.messages) == 1 and len(world.invoker.calls) == 1
    assert world.audit_actions.count("alarm.handled") == 1


def test_concurrent_deliveries_that_race_past_idempotency_start_one_retrain(world: World) -> None:
    """The second delivery reads STATE before the first writes: its conditional write loses, it re-reads."""
    registry = world.ctx.registry
    original = registry.update_model_state
    raced = {"done": False}

    def racing_update(model: str, changes: Any, *, expected: Any = None) -> Any:
        if not raced["done"] and "alarm_episodes" in changes:
            raced["done"] = True
            service._handle(world.ctx, parse_alarm_message(composite()), None)  # the other delivery wins
        return original(model, changes, expected=expected)

    registry.update_model_state = racing_update
    try:
        result = service._handle(world.ctx, parse_alarm_message(composite()), None)
    finally:
        registry.update_model_state = original
    assert result["decision"] == "retrain"
    assert len(world.invoker.calls) == 1, "the loser saw the recorded episode and did not invoke again"
    assert world.audit_actions.count("retrain.requested") == 1


def test_cooldown_suppresses_the_retrain_and_the_email_says_until_when(world: World) -> None:
    world.ctx.registry.update_model_state(MODEL, {"last_retrain_requested_at": "2026-03-03T20:00:00+00:00"})
    result = handle(world, composite())
    assert (result["decision"], result["retrain"]) == ("cooldown", False)
    assert world.invoker.calls == []
    ((_, body, _),) = world.notifier.messages
    assert (
        "Suppressed by cooldown (last retrain at 2026-03-03T20:00:00+00:00, next allowed at "
        "2026-03-04T20:00:00+00:00)."
    ) in body
    suppressed = [r for r in world.ctx.audit.records() if r["action"] == "retrain.suppressed"]
    assert suppressed[0]["details"]["next_allowed_at"] == "2026-03-04T20:00:00+00:00"


def test_a_signal_not_in_on_alarms_is_emailed_without_retrain(world: World) -> None:
    message = metric_alarm(
        "estimated_drop", Trigger={**metric_alarm("x")["Trigger"], "MetricName": "EstimatedPrimaryMetricDrop"}
    )
    result = handle(world, message)
    assert result["decision"] == "not_configured" and world.invoker.calls == []
    ((subject, body, _),) = world.notifier.messages
    assert subject == f"[model-steward] {MODEL}: estimated_drop ALARM"
    assert "None (signal not configured to retrain: retrain.on_alarms lists drift, performance" in body
    assert "EstimatedPrimaryMetricDrop (Sum per 5-minute period) > 0 in the latest period" in body


def test_recovery_sends_one_short_note_and_closes_the_episode(world: World) -> None:
    handle(world, composite())
    handle(world, composite(state="OK", old="ALARM", changed="2026-03-04T06:30:00.000+0000"))
    handle(world, composite(state="OK", old="ALARM", changed="2026-03-04T06:30:00.000+0000"))  # repeated
    assert len(world.notifier.messages) == 2
    subject, body, _ = world.notifier.messages[1]
    assert subject == f"[model-steward] {MODEL}: data_drift OK (recovered)"
    assert "after 5 h 30 min in ALARM (since 2026-03-04 01:00 UTC)" in body
    assert "During the alarm the suite decided: retrain started" in body
    closed = episodes_of(world.ctx.registry.get_model_state(MODEL))[name("data_drift")]
    assert closed.closed_at == "2026-03-04T06:30:00+00:00"


@pytest.mark.parametrize(
    ("state", "old"),
    [("INSUFFICIENT_DATA", "OK"), ("INSUFFICIENT_DATA", "ALARM"), ("OK", "INSUFFICIENT_DATA")],
)
def test_transitions_without_an_alarm_to_tell_send_no_email(world: World, state: str, old: str) -> None:
    result = handle(world, metric_alarm("quality", state=state, old=old))
    assert result["emailed"] is False and world.notifier.messages == [] and world.invoker.calls == []
    assert world.audit_actions[-1] == "alarm.handled"


def test_a_model_without_a_spec_is_emailed_but_never_gets_a_registry_row(world: World) -> None:
    result = handle(world, metric_alarm("quality", model="orphan"))
    assert result["decision"] == "no_spec"
    ((subject, body, _),) = world.notifier.messages
    assert subject == "[model-steward] orphan: quality ALARM"
    assert "None (the model has no spec)." in body
    assert "LATEST BATCH REPORT: no batch of this model has been monitored yet" in body
    assert "orphan" not in world.ctx.registry.list_models()


def test_suite_health_alarms_get_an_operational_note_never_a_retrain(world: World) -> None:
    errors = metric_alarm(
        "x",
        AlarmName=f"steward-ops-{STAGE}-check_window-errors",
        AlarmDescription=f"scope=suite;signal=function_errors;function=check_window;stage={STAGE} | failed",
    )
    assert handle(world, errors)["decision"] == "ops_note"
    dlq = metric_alarm("x", AlarmName=f"steward-ops-{STAGE}-dlq-depth", AlarmDescription=None)
    handle(world, dlq)
    handle(
        world,
        {
            **dlq,
            "NewStateValue": "OK",
            "OldStateValue": "ALARM",
            "StateChangeTime": "2026-03-04T02:00:00.000+0000",
        },
    )
    assert world.notifier.subjects == [
        "[model-steward] ops: check_window errors ALARM",
        "[model-steward] ops: dead-letter queue ALARM",
        "[model-steward] ops: dead-letter queue OK (recovered)",
    ]
    assert world.invoker.calls == [] and MODEL not in str(world.notifier.messages[0][1])


def test_alarms_of_other_systems_are_recorded_and_left_alone(world: World) -> None:
    result = handle(
        world,
        {
            "AlarmName": "billing-budget",
            "NewStateValue": "ALARM",
            "OldStateValue": "OK",
            "StateChangeTime": CHANGED,
        },
    )
    assert result["decision"] == "ignored" and world.notifier.messages == []


def test_the_handler_parses_sns_and_survives_a_message_that_is_not_an_alarm(
    world: World, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelsteward.config import reset_settings

    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="notifications")["TopicArn"]
    monkeypatch.setenv("NOTIFICATIONS_TOPIC_ARN", topic)
    monkeypatch.delenv("TRAIN_FUNCTION_NAME")
    reset_settings()
    handler = load_handler("handle_alarm")
    result = handler(sns_event(metric_alarm("quality")), lambda_context)
    assert result["ok"] and result["results"][0]["decision"] == "not_configured"
    from moto.sns.models import sns_backends

    sent = sns_backends[ACCOUNT]["us-east-1"].topics[topic].sent_notifications
    assert [s[2] for s in sent] == [f"[model-steward] {MODEL}: quality ALARM"]
    rejected = handler(sns_event("plain text someone published"), lambda_context)
    assert rejected["ok"] is False and rejected["results"][0]["code"] == "not_an_alarm"
    assert handler({"detail-type": "Scheduled Event"}, lambda_context)["error"] == "bad_event"


def test_without_train_function_the_decision_is_kept_and_the_email_says_so(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelsteward.config import settings

    world.ctx.settings = settings().model_copy(update={"train_function_name": ""})
    handle(world, composite())
    assert world.invoker.calls == []
    assert "not sent: TRAIN_FUNCTION_NAME is not configured" in world.notifier.messages[0][1]


def test_the_artifacts_bucket_follows_the_template_naming_when_not_configured(world: World) -> None:
    from modelsteward.config import settings

    world.ctx.settings = settings().model_copy(
        update={"artifacts_bucket": "", "data_bucket": "st-data-123456789012"}
    )
    assert service.artifacts_bucket(world.ctx) == "st-artifacts-123456789012"
    world.ctx.settings = settings().model_copy(
        update={"artifacts_bucket": "", "data_bucket": "my-data-stack-data-eu-west-1-6d9c5dde"}
    )
    assert service.artifacts_bucket(world.ctx) == "my-data-stack-artifacts-eu-west-1-6d9c5dde"
    world.ctx.settings = settings().model_copy(
        update={"artifacts_bucket": "", "data_bucket": "my-own-bucket"}
    )
    assert service.artifacts_bucket(world.ctx) is None
    report, why = service.latest_report(world.ctx, MODEL)
    assert report is None and why == "the artifacts bucket is not configured for handle_alarm"


def test_handle_alarm_stays_light() -> None:
    """The function ships on the steward layer only: importing it must not pull numpy or pandas."""
    from light_imports import heavy_after

    app = str(ROOT / "functions" / "handle_alarm" / "app.py")
    code = (
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('app', {app!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "import modelsteward.services.handle_alarm, modelsteward.adapters.alarm_lookup\n"
        # what latest_report reads when an alarm comes: the report record, still without numpy
        "import modelsteward.domain.report\n"
    )
    assert heavy_after(code) == []

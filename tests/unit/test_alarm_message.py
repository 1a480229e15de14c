"""CloudWatch alarm notifications (SNS message JSON): parsing, identity, and the numbers in the reason."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from modelsteward.domain.alarm_message import (
    AlarmNotification,
    alarm_name_from_arn,
    description_sentence,
    description_tags,
    identify,
    parse_alarm_message,
    parse_state_change_time,
    reason_values,
)
from modelsteward.errors import InvalidInput

ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:"


def metric_alarm(**overrides: Any) -> dict[str, Any]:
    """A metric alarm notification as CloudWatch publishes it to SNS (fields as in AWS's docs)."""
    message: dict[str, Any] = {
        "AlarmName": "model-steward-prod-credit-default-drift",
        "AlarmDescription": "model=credit-default;signal=drift;stage=prod | importance-weighted share of "
        "drifted features >= 0.3 in 2 of 3 periods",
        "AWSAccountId": "123456789012",
        "AlarmConfigurationUpdatedTimestamp": "2026-01-01T00:00:00.000+0000",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: 2 out of the last 3 datapoints [0.62 (01/01/26 10:00:00), "
        "0.41 (01/01/26 09:55:00)] were greater than or equal to the threshold (0.3) (minimum 2 "
        "datapoints for OK -> ALARM transition).",
        "StateChangeTime": "2026-01-01T10:05:00.123+0000",
        "Region": "US East (N. Virginia)",
        "AlarmArn": ARN + "model-steward-prod-credit-default-drift",
        "OldStateValue": "OK",
        "OKActions": ["arn:aws:sns:us-east-1:123456789012:alarms"],
        "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:alarms"],
        "InsufficientDataActions": [],
        "Trigger": {
            "MetricName": "DriftedFeatureShare",
            "Namespace": "ModelSteward",
            "StatisticType": "Statistic",
            "Statistic": "MAXIMUM",
            "Unit": None,
            "Dimensions": [{"value": "credit-default", "name": "model"}],
            "Period": 300,
            "EvaluationPeriods": 3,
            "DatapointsToAlarm": 2,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Threshold": 0.3,
            "TreatMissingData": "notBreaching",
            "EvaluateLowSampleCountPercentile": "",
        },
    }
    message.update(overrides)
    return message


def composite_alarm(**overrides: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "AlarmName": "model-steward-prod-credit-default-data_drift",
        "AlarmDescription": "model=credit-default;signal=data_drift;stage=prod | univariate or multivariate",
        "AWSAccountId": "123456789012",
        "NewStateValue": "ALARM",
        "NewStateReason": "arn:...:alarm:model-steward-prod-credit-default-drift transitioned to ALARM",
        "StateChangeTime": "2026-01-01T10:05:01.000+0000",
        "Region": "US East (N. Virginia)",
        "AlarmArn": ARN + "model-steward-prod-credit-default-data_drift",
        "OldStateValue": "OK",
        "AlarmRule": f'ALARM("{ARN}model-steward-prod-credit-default-drift") OR '
        f'ALARM("{ARN}model-steward-prod-credit-default-multivariate_drift")',
        "TriggeringChildren": [
            {
                "Arn": ARN + "model-steward-prod-credit-default-drift",
                "State": {"Value": "ALARM", "Timestamp": "2026-01-01T10:05:00.123+0000"},
            },
            {
                "Arn": ARN + "model-steward-prod-credit-default-multivariate_drift",
                "State": {"Value": "OK", "Timestamp": "2025-12-31T08:00:00.000+0000"},
            },
        ],
    }
    message.update(overrides)
    return message


def test_a_metric_alarm_notification_parses_with_its_rule() -> None:
    n = parse_alarm_message(json.dumps(metric_alarm()))
    assert (n.NewStateValue, n.OldStateValue) == ("ALARM", "OK")
    assert n.changed_at == dt.datetime(2026, 1, 1, 10, 5, 0, 123000, tzinfo=dt.UTC)
    assert not n.is_composite
    t = n.Trigger
    assert t is not None
    assert (t.MetricName, t.statistic, t.Period, t.m_of_n, t.Threshold) == (
        "DriftedFeatureShare",
        "Maximum",
        300,
        (2, 3),
        0.3,
    )
    assert t.comparison == ">="
    assert t.dimension("model") == "credit-default"
    assert n.reported_values == [0.62, 0.41]


def test_a_composite_alarm_names_its_children_in_alarm() -> None:
    n = parse_alarm_message(composite_alarm())
    assert n.is_composite and n.Trigger is None
    assert [c.name for c in n.children_in_alarm()] == ["model-steward-prod-credit-default-drift"]
    assert identify(n).signal == "data_drift"


def test_unknown_fields_are_kept_and_missing_optional_ones_are_none() -> None:
    n = parse_alarm_message(metric_alarm(SomethingNew={"a": 1}, AlarmDescription=None, Trigger=None))
    assert n.model_extra == {
        "AlarmConfigurationUpdatedTimestamp": "2026-01-01T00:00:00.000+0000",
        "OKActions": ["arn:aws:sns:us-east-1:123456789012:alarms"],
        "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:alarms"],
        "InsufficientDataActions": [],
        "SomethingNew": {"a": 1},
    }
    assert n.Trigger is None and n.AlarmDescription is None


@pytest.mark.parametrize(
    ("message", "fragment"),
    [
        ("hello from a person", "not JSON"),
        ("[1, 2]", "JSON object"),
        (
            json.dumps(
                {"AlarmName": "x", "NewStateValue": "BROKEN", "StateChangeTime": "2026-01-01T00:00:00Z"}
            ),
            "NewStateValue",
        ),
        (json.dumps({"AlarmName": "x", "NewStateValue": "OK", "StateChangeTime": "yesterday"}), "timestamp"),
        (json.dumps({"NewStateValue": "OK", "StateChangeTime": "2026-01-01T00:00:00Z"}), "AlarmName"),
    ],
)
def test_messages_that_are_not_alarm_notifications_are_invalid_input(message: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_alarm_message(message)
    assert err.value.code == "not_an_alarm"
    assert fragment in err.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T10:05:00.123+0000", dt.datetime(2026, 1, 1, 10, 5, 0, 123000, tzinfo=dt.UTC)),
        ("2026-01-01T12:05:00+0200", dt.datetime(2026, 1, 1, 10, 5, tzinfo=dt.UTC)),
        ("2026-01-01T10:05:00Z", dt.datetime(2026, 1, 1, 10, 5, tzinfo=dt.UTC)),
        ("2026-01-01T10:05:00", dt.datetime(2026, 1, 1, 10, 5, tzinfo=dt.UTC)),
    ],
)
def test_state_change_times_become_aware_utc(text: str, expected: dt.datetime) -> None:
    assert parse_state_change_time(text) == expected


def test_reason_values_are_read_from_cloudwatch_wording() -> None:
    assert reason_values(
        "Threshold Crossed: 1 out of the last 1 datapoints [5.0 (10/09/21 19:56:00)] was"
    ) == [5.0]
    assert reason_values("... [1e-05 (01/01/26 00:00:00), -2.5 (01/01/26 00:05:00)] ...") == [1e-05, -2.5]
    assert reason_values("Insufficient Data: no datapoints") == []
    assert reason_values("") == []


def test_description_tags_are_trusted_only_when_the_whole_head_is_tags() -> None:
    assert description_tags("model=m1;signal=quality;stage=dev | a sentence") == {
        "model": "m1",
        "signal": "quality",
        "stage": "dev",
    }
    assert description_tags("Alarm when model=m1 is slow | x") == {}
    assert description_tags(None) == {}
    assert description_sentence("model=m;signal=s | the sentence ") == "the sentence"
    assert description_sentence("no tags here") == "no tags here"


def test_identity_prefers_the_description_tags_over_the_name() -> None:
    n = parse_alarm_message(
        metric_alarm(
            AlarmName="a-renamed-alarm", AlarmDescription="model=fraud-v2;signal=quality;stage=prod | x"
        )
    )
    identity = identify(n)
    assert (identity.kind, identity.model, identity.signal, identity.stage) == (
        "model",
        "fraud-v2",
        "quality",
        "prod",
    )


@pytest.mark.parametrize(
    ("name", "kind", "model", "signal"),
    [
        ("model-steward-prod-credit-default-drift", "model", "credit-default", "drift"),
        ("model-steward-dev-a-b-c-multivariate_drift", "model", "a-b-c", "multivariate_drift"),
        ("model-steward-dev-house-price-realized_drop", "model", "house-price", "realized_drop"),
        (
            "model-steward-dev-house-price-nonsense",
            "model",
            "credit-default",
            "drift",
        ),  # falls back to Trigger
        ("steward-ops-dev-check_window-errors", "suite", None, "function_errors"),
        ("steward-ops-dev-dlq-depth", "suite", None, "dlq_depth"),
    ],
)
def test_identity_from_the_naming_contract(name: str, kind: str, model: str | None, signal: str) -> None:
    n = parse_alarm_message(metric_alarm(AlarmName=name, AlarmDescription=None))
    identity = identify(n)
    assert (identity.kind, identity.model, identity.signal) == (kind, model, signal)


@pytest.mark.parametrize(
    ("name", "kind", "model", "signal", "function"),
    [
        ("ms-eu-credit-default-drift", "model", "credit-default", "drift", None),
        ("ms-eu-a-b-c-multivariate_drift", "model", "a-b-c", "multivariate_drift", None),
        ("ms-eu-ops-check_window-errors", "suite", None, "function_errors", "check_window"),
        ("ms-eu-ops-dlq-depth", "suite", None, "dlq_depth", None),
        ("ms-eu-house-price-nonsense", "model", "credit-default", "drift", None),  # Trigger's dimension
        ("other-stack-credit-default-quality", "model", "credit-default", "drift", None),  # not ours by name
    ],
)
def test_identity_from_names_that_start_with_the_stack(
    name: str, kind: str, model: str | None, signal: str, function: str | None
) -> None:
    n = parse_alarm_message(metric_alarm(AlarmName=name, AlarmDescription=None))
    identity = identify(n, stack="ms-eu")
    found = (identity.kind, identity.model, identity.signal, identity.function)
    assert found == (kind, model, signal, function)


def test_two_stacks_of_one_stage_name_their_alarms_apart() -> None:
    from modelsteward.domain.alarm_message import model_alarm_name, model_alarm_prefix

    a, b = model_alarm_name("ms-a", "credit", "drift"), model_alarm_name("ms-b", "credit", "drift")
    assert a != b and a.startswith(model_alarm_prefix("ms-a", "credit"))
    n = parse_alarm_message(metric_alarm(AlarmName=a, AlarmDescription=None))
    assert identify(n, stack="ms-a").model == "credit"


def test_suite_health_alarms_name_their_function() -> None:
    n = parse_alarm_message(
        metric_alarm(
            AlarmName="steward-ops-prod-monitor_batch-throttles",
            AlarmDescription="scope=suite;signal=function_throttles;function=monitor_batch;stage=prod | x",
        )
    )
    identity = identify(n)
    assert (identity.kind, identity.function, identity.signal, identity.stage) == (
        "suite",
        "monitor_batch",
        "function_throttles",
        "prod",
    )
    assert not identity.is_model


def test_an_alarm_of_someone_else_is_foreign() -> None:
    n = AlarmNotification(
        AlarmName="billing-over-budget", NewStateValue="ALARM", StateChangeTime="2026-01-01T00:00:00Z"
    )
    assert identify(n).kind == "foreign"
    assert not identify(n).is_model


def test_a_hand_made_alarm_on_a_suite_metric_is_tied_to_its_model() -> None:
    trigger = dict(metric_alarm()["Trigger"], MetricName="EstimatedPrimaryMetricDrop")
    n = parse_alarm_message(metric_alarm(AlarmName="my-own-alarm", AlarmDescription="mine", Trigger=trigger))
    identity = identify(n)
    assert (identity.kind, identity.model, identity.signal) == ("model", "credit-default", "estimated_drop")


def test_alarm_names_come_from_arns_even_with_colons() -> None:
    assert alarm_name_from_arn(ARN + "name:with:colons") == "name:with:colons"
    assert alarm_name_from_arn("plain-name") == "plain-name"

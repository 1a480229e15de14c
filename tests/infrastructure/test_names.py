"""Physical names never collide: two stacks of one Stage, one stack in two regions, or a redeploy
after ``sam delete`` (which keeps the retained buckets) get distinct names wherever AWS requires
them to be unique (S3 bucket names everywhere; dashboards per account; the rest per account and
region)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from infra_helpers import SUB_VALUES, render_sub

# resource type -> (name property, scope in which AWS requires the name to be unique)
NAMED = {
    "AWS::S3::Bucket": ("BucketName", "global"),
    "AWS::CloudWatch::Dashboard": ("DashboardName", "account"),
    "AWS::CloudWatch::Alarm": ("AlarmName", "region"),
    "AWS::CloudWatch::CompositeAlarm": ("AlarmName", "region"),
    "AWS::Lambda::Function": ("FunctionName", "region"),
    "AWS::Lambda::LayerVersion": ("LayerName", "region"),
    "AWS::Logs::LogGroup": ("LogGroupName", "region"),
    "AWS::SNS::Topic": ("TopicName", "region"),
    "AWS::SQS::Queue": ("QueueName", "region"),
    "AWS::StepFunctions::StateMachine": ("StateMachineName", "region"),
    "AWS::KMS::Alias": ("AliasName", "region"),
    "AWS::Events::Rule": ("Name", "region"),
}
#: properties that end in "Name" but name no resource of this stack
NOT_NAMES = {"MetricName", "DisplayName", "FunctionName", "BucketName"}
ACCOUNT = "123456789012"


def _deployment(stack: str, region: str, uuid: str) -> dict[str, str]:
    return {
        **SUB_VALUES,
        "AWS::StackName": stack,
        "AWS::Region": region,
        "AWS::StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{stack}/{uuid}",
    }


DEPLOYMENTS = {
    "stack a": _deployment("steward-a", "us-east-1", "6d9c5dde-e790-4b38-8019-001f155d9d0a"),
    "stack b, same stage": _deployment("steward-b", "us-east-1", "0b7e1f2a-1111-4b38-8019-001f155d9d0a"),
    "stack a in a second region": _deployment(
        "steward-a", "eu-west-1", "93c04e11-2222-4b38-8019-001f155d9d0a"
    ),
    "stack a redeployed after sam delete": _deployment(
        "steward-a", "us-east-1", "5f2d8a40-3333-4b38-8019-001f155d9d0a"
    ),
}


def _names(resources: dict[str, Any], variables: dict[str, str]) -> dict[tuple[str, str], str]:
    """(type, logical id) -> the physical name this deployment gives it."""
    out = {}
    for logical_id, resource in resources.items():
        kind = resource["Type"]
        if kind in NAMED:
            prop = NAMED[kind][0]
            if prop in resource.get("Properties", {}):
                out[(kind, logical_id)] = render_sub(resource["Properties"][prop], variables)
    return out


def test_every_explicit_name_is_classified(resources: dict[str, Any]) -> None:
    for logical_id, resource in resources.items():
        for prop, value in (resource.get("Properties") or {}).items():
            if prop.endswith("Name") and prop not in NOT_NAMES and isinstance(value, dict | str):
                assert resource["Type"] in NAMED, f"{logical_id}.{prop}: add its uniqueness scope to NAMED"


def _scope_key(kind: str, variables: dict[str, str]) -> tuple[str, ...]:
    scope = NAMED[kind][1]
    if scope == "global":
        return ("global",)
    if scope == "account":
        return (ACCOUNT,)
    return (ACCOUNT, variables["AWS::Region"])


@pytest.mark.parametrize(("first", "second"), list(itertools.combinations(DEPLOYMENTS, 2)))
def test_two_deployments_never_share_a_physical_name(
    resources: dict[str, Any], first: str, second: str
) -> None:
    a, b = DEPLOYMENTS[first], DEPLOYMENTS[second]
    redeploy = a["AWS::StackName"] == b["AWS::StackName"] and a["AWS::Region"] == b["AWS::Region"]
    names_a, names_b = _names(resources, a), _names(resources, b)
    assert len(names_a) > 20, "the template's named resources were found"
    taken = {(_scope_key(kind, a), kind.split("::")[1], name) for (kind, _), name in names_a.items()}
    for (kind, logical_id), name in names_b.items():
        if redeploy and resources[logical_id].get("DeletionPolicy") != "Retain":
            continue  # sam delete removed it: the redeploy may reuse its name
        key = (_scope_key(kind, b), kind.split("::")[1], name)
        assert key not in taken, f"{first} and {second} both name a {kind} {name}"


def test_bucket_names_fit_s3_rules_for_a_long_stack_name(resources: dict[str, Any]) -> None:
    variables = _deployment("s" * 29, "ap-southeast-3", "6d9c5dde-e790-4b38-8019-001f155d9d0a")
    for (kind, _), name in _names(resources, variables).items():
        if kind == "AWS::S3::Bucket":
            assert 3 <= len(name) <= 63, name
            assert name == name.lower() and ".." not in name, name

"""What template.yaml promises, checked on its CloudFormation translation (two monitored models)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from infra_helpers import (
    BUCKET_SUFFIX,
    REPO,
    STAGE,
    SUB_VALUES,
    TWO_MODELS,
    as_list,
    of_type,
    render_sub,
    statements,
)

from modelsteward import metric_names
from modelsteward.domain.alarm_message import AlarmNotification, identify
from modelsteward.layout import TRIGGER_PREFIXES
from stewardtools.localcloud.stepfunctions import state_machine_definition

Statements = Callable[[str], list[dict[str, Any]]]

FUNCTIONS = {
    "TrainModelFunction": "train_model",
    "CreateBaselineFunction": "create_baseline",
    "ScoreBatchFunction": "score_batch",
    "MonitorBatchFunction": "monitor_batch",
    "EvaluateLabelsFunction": "evaluate_labels",
    "HandleAlarmFunction": "handle_alarm",
    "CheckWindowFunction": "check_window",
    "RunAuditFunction": "run_audit",
    "PlanChunksFunction": "plan_chunks",
    "ProfileChunkFunction": "profile_chunk",
    "FinishLargeBatchFunction": "finish_large_batch",
}
# the scale-out state machine's steps (docs/scale-out.md): only it invokes them
SCALE_OUT_STEPS = {"PlanChunksFunction", "ProfileChunkFunction", "FinishLargeBatchFunction"}
SCALE_OUT_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:model-steward-dev-monitor_large_batch"
LIGHT_FUNCTIONS = {"HandleAlarmFunction", "RunAuditFunction"}  # never import pandas/scikit-learn
# the one dependency layer each heavy function gets (LayerName suffix; layers/deps/build.py): no
# function carries more than it imports, and each fits Lambda's 250 MiB (`make size` measures it)
DEPENDENCY_LAYER = {
    # the monitor path reaches pandas through a model served elsewhere (services.byom)
    **{f: "label-deps" for f in FUNCTIONS if f not in LIGHT_FUNCTIONS},
    "TrainModelFunction": "ml-deps",
    "ScoreBatchFunction": "ml-deps",
}

TRIGGERS = {
    "training/": "TrainModelFunction",
    "reference/": "CreateBaselineFunction",
    "scoring/": "ScoreBatchFunction",
    "inference/": "MonitorBatchFunction",
    "labels/": "EvaluateLabelsFunction",
}

SCHEDULES = {
    "TrainModelFunction": ("rate(1 day)", {"action": "retrain_scheduled"}),
    "CheckWindowFunction": ("rate(1 hour)", {"action": "check_window"}),
    "RunAuditFunction": ("rate(1 day)", {"action": "run_audit"}),
}

# Environment contract with modelsteward.config.Settings: each function gets what it uses.
_EVERY_FUNCTION_ENV = {
    "AUDIT_TABLE",
    "AUDIT_BUCKET",
    "IDEMPOTENCY_TABLE",
    "POWERTOOLS_METRICS_NAMESPACE",
    "STAGE",
    "STACK_NAME",
    "POWERTOOLS_SERVICE_NAME",
    "DATA_BUCKET",
    "REGISTRY_TABLE",
}
_DATA_FUNCTION_ENV = _EVERY_FUNCTION_ENV | {"ARTIFACTS_BUCKET"}
_NOTIFY = {"NOTIFICATIONS_TOPIC_ARN"}
_EPISODES = {"EPISODES_TABLE"}  # the functions that judge batches, and handle_alarm that tells their story
EXPECTED_ENV = {
    "TrainModelFunction": _DATA_FUNCTION_ENV | _NOTIFY | {"TRAIN_FUNCTION_NAME", "STEWARD_PACKED_DEPS"},
    "CreateBaselineFunction": _DATA_FUNCTION_ENV,
    "ScoreBatchFunction": _DATA_FUNCTION_ENV | _EPISODES | {"STEWARD_PACKED_DEPS"},
    "MonitorBatchFunction": _DATA_FUNCTION_ENV
    | _EPISODES
    | {"SCALE_OUT_STATE_MACHINE_ARN", "SCALE_OUT_BYTES"},
    "EvaluateLabelsFunction": _DATA_FUNCTION_ENV | _EPISODES | {"TRAIN_FUNCTION_NAME"},
    "HandleAlarmFunction": _EVERY_FUNCTION_ENV
    | _NOTIFY
    | _EPISODES
    | {"ALARMS_TOPIC_ARN", "TRAIN_FUNCTION_NAME", "ARTIFACTS_BUCKET"},
    "CheckWindowFunction": _DATA_FUNCTION_ENV | _NOTIFY | _EPISODES,
    "RunAuditFunction": _DATA_FUNCTION_ENV | _NOTIFY,
    "PlanChunksFunction": _DATA_FUNCTION_ENV | {"SCALE_OUT_CHUNK_BYTES"},
    "ProfileChunkFunction": _DATA_FUNCTION_ENV,
    "FinishLargeBatchFunction": _DATA_FUNCTION_ENV | _EPISODES,
}

# AWS managed policies a function role may carry, and why.
ALLOWED_AWS_MANAGED_POLICIES = {
    # SAM adds it to every function role: create log streams and put log events.
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    # SAM adds it for Tracing: Active; X-Ray's PutTraceSegments has no resource-level scope.
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}
# Actions our own policies may grant on Resource "*" (metrics go out as EMF log lines, so
# no function needs cloudwatch:PutMetricData; X-Ray comes with the managed policy above).
RESOURCE_WILDCARD_EXCEPTIONS: dict[str, str] = {
    action: "Step Functions execution logging: log-delivery actions have no resource-level scope"
    for action in (
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    )
}

DATA = f"arn:aws:s3:::model-steward-dev-data-{BUCKET_SUFFIX}"
ARTIFACTS = f"arn:aws:s3:::model-steward-dev-artifacts-{BUCKET_SUFFIX}"
AUDIT = f"arn:aws:s3:::model-steward-dev-audit-{BUCKET_SUFFIX}"
_ARN_VALUES = {
    **SUB_VALUES,
    "ArtifactsBucket.Arn": ARTIFACTS,
    "AuditBucket.Arn": AUDIT,
    "DataBucket.Arn": DATA,
}
ALARM_ARN_PREFIX = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:"
TRAIN_FUNCTION_ARNS = {
    "<TrainModelFunction.Arn>",
    "arn:aws:lambda:us-east-1:123456789012:function:model-steward-dev-train_model",
}
_GETATT_ARNS = {"ArtifactsBucket": ARTIFACTS, "AuditBucket": AUDIT, "DataBucket": DATA}

# batch signals: decided as episodes by the suite, mirrored as EpisodeOpen (1 while open)
_EPISODE = (metric_names.EPISODE_OPEN, "Maximum", "GreaterThanOrEqualToThreshold", 1, 1, 1, "ignore")
EPISODE_SIGNALS = (
    "drift",
    "multivariate_drift",
    "quality",
    "pii",
    "realized_drop",
    "estimated_drop",
    "freshness",
    "bias",
    "realized_bias",
    "attribution_drift",
)
SIGNALS = {
    # signal: (metric, statistic, comparison, threshold parameter or value, periods, to alarm, missing)
    **{signal: _EPISODE for signal in EPISODE_SIGNALS},
    "latency": (
        metric_names.SCORING_LATENCY_P95,
        "Maximum",
        "GreaterThanThreshold",
        {"Ref": "LatencyP95ThresholdMs"},
        3,
        2,
        "notBreaching",
    ),
    "scoring_errors": (metric_names.SCORING_ERRORS, "Sum", "GreaterThanThreshold", 0, 1, 1, "notBreaching"),
}
COMPOSITE_CHILDREN = ("drift", "multivariate_drift")

# The parse rule handle_alarm relies on: <stack>-<model>-<signal>, signal snake_case; suite
# health alarms are <stack>-ops-...
STACK = SUB_VALUES["AWS::StackName"]
ALARM_NAME = re.compile(rf"^{STACK}-(?!ops-)(?P<model>[a-z0-9][a-z0-9-]*)-(?P<signal>[a-z_]+)$")


def arn_text(value: Any) -> str:
    """A policy Resource as text: Fn::Sub rendered, GetAtt/Ref spelled as <Logical.Attr>."""
    if isinstance(value, str):
        return value
    if "Fn::Sub" in value:
        return render_sub(value, _ARN_VALUES)
    if "Fn::GetAtt" in value:
        logical, attribute = value["Fn::GetAtt"]
        return _GETATT_ARNS.get(logical, f"<{logical}.{attribute}>")
    if "Ref" in value:
        return f"<{value['Ref']}>"
    raise AssertionError(f"unexpected policy resource {value!r}")


def allowed(stmts: list[dict[str, Any]], action: str) -> set[str]:
    """Resources (as text) on which the statements allow ``action``."""
    return {
        arn_text(resource)
        for s in stmts
        if s["Effect"] == "Allow" and action in as_list(s["Action"])
        for resource in as_list(s["Resource"])
    }


def object_prefixes(resources_text: set[str], bucket_arn: str) -> set[str]:
    return {r[len(bucket_arn) + 1 :] for r in resources_text if r.startswith(bucket_arn + "/")}


# --------------------------------------------------------------------------- functions
def test_every_function_is_translated_with_its_code_path(resources: dict[str, Any]) -> None:
    lambdas = of_type(resources, "AWS::Lambda::Function")
    assert set(lambdas) == set(FUNCTIONS)
    for function_id, name in FUNCTIONS.items():
        props = lambdas[function_id]["Properties"]
        assert lambdas[function_id]["Metadata"]["StewardCodeUri"] == f"functions/{name}"
        assert props["Handler"] == "app.handler"
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["x86_64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert render_sub(props["FunctionName"], SUB_VALUES) == f"model-steward-dev-{name}"


def test_every_function_sizes_its_timeout_and_memory(resources: dict[str, Any]) -> None:
    for function_id in FUNCTIONS:
        props = resources[function_id]["Properties"]
        assert 1 <= props["Timeout"] <= 900, function_id
        assert 128 <= props["MemorySize"] <= 10240, function_id
    assert resources["HandleAlarmFunction"]["Properties"]["MemorySize"] <= 512  # no data crunching
    assert resources["TrainModelFunction"]["Properties"]["Timeout"] == 900


def test_every_function_dead_letters_failed_async_events(resources: dict[str, Any]) -> None:
    configs = of_type(resources, "AWS::Lambda::EventInvokeConfig")
    by_function = {c["Properties"]["FunctionName"]["Ref"]: c["Properties"] for c in configs.values()}
    assert set(by_function) == set(FUNCTIONS)
    for function_id, config in by_function.items():
        assert config["MaximumRetryAttempts"] == 2, function_id
        assert 60 <= config["MaximumEventAgeInSeconds"] <= 21600, function_id
        assert config["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": ["DeadLetterQueue", "Arn"]
        }


def test_every_function_logs_to_a_log_group_with_retention(resources: dict[str, Any]) -> None:
    for function_id, name in FUNCTIONS.items():
        group_id = resources[function_id]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        group = resources[group_id]
        assert group["Type"] == "AWS::Logs::LogGroup"
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert (
            render_sub(group["Properties"]["LogGroupName"], SUB_VALUES)
            == f"/aws/lambda/model-steward-dev-{name}"
        )


def test_environment_is_exactly_what_each_function_needs(resources: dict[str, Any]) -> None:
    for function_id, expected in EXPECTED_ENV.items():
        env = resources[function_id]["Properties"]["Environment"]["Variables"]
        assert set(env) == expected, function_id
        assert env["POWERTOOLS_SERVICE_NAME"] == FUNCTIONS[function_id]
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == metric_names.NAMESPACE
        assert env["STAGE"] == {"Ref": "Stage"}
        assert env["STACK_NAME"] == {"Ref": "AWS::StackName"}
        assert env["DATA_BUCKET"] == resources["DataBucket"]["Properties"]["BucketName"]
        assert env["REGISTRY_TABLE"] == {"Ref": "RegistryTable"}
        assert env["AUDIT_TABLE"] == {"Ref": "AuditTable"}
        assert env["IDEMPOTENCY_TABLE"] == {"Ref": "IdempotencyTable"}
        assert env["AUDIT_BUCKET"] == {"Ref": "AuditBucket"}
        if "NOTIFICATIONS_TOPIC_ARN" in env:
            assert env["NOTIFICATIONS_TOPIC_ARN"] == {"Ref": "NotificationsTopic"}
        if "ARTIFACTS_BUCKET" in env:
            assert env["ARTIFACTS_BUCKET"] == {"Ref": "ArtifactsBucket"}
        if "TRAIN_FUNCTION_NAME" in env:
            assert env["TRAIN_FUNCTION_NAME"] == resources["TrainModelFunction"]["Properties"]["FunctionName"]
    handle_alarm = resources["HandleAlarmFunction"]["Properties"]["Environment"]["Variables"]
    assert handle_alarm["ALARMS_TOPIC_ARN"] == {"Ref": "AlarmsTopic"}


def test_functions_may_use_exactly_what_their_environment_names(role_statements: Statements) -> None:
    for function_id, env in EXPECTED_ENV.items():
        stmts = role_statements(function_id)
        assert bool(allowed(stmts, "sns:Publish")) == ("NOTIFICATIONS_TOPIC_ARN" in env), function_id
        assert bool(allowed(stmts, "lambda:InvokeFunction")) == ("TRAIN_FUNCTION_NAME" in env), function_id
        uses_artifacts = bool(
            object_prefixes(allowed(stmts, "s3:PutObject"), ARTIFACTS)
            or object_prefixes(allowed(stmts, "s3:GetObject"), ARTIFACTS)
        )
        assert uses_artifacts == ("ARTIFACTS_BUCKET" in env), function_id


def test_each_function_gets_only_the_dependency_layer_it_imports(resources: dict[str, Any]) -> None:
    layers = of_type(resources, "AWS::Lambda::LayerVersion")
    by_name = {
        render_sub(layer["Properties"]["LayerName"], SUB_VALUES).removeprefix(
            f"model-steward-{STAGE}-"
        ): layer_id
        for layer_id, layer in layers.items()
    }
    assert set(by_name) == {"steward", "drift-deps", "label-deps", "ml-deps"}
    for function_id in FUNCTIONS:
        attached = [ref["Ref"] for ref in resources[function_id]["Properties"]["Layers"]]
        expected = [by_name["steward"]]
        if function_id not in LIGHT_FUNCTIONS:
            expected.append(by_name[DEPENDENCY_LAYER[function_id]])
        assert attached == expected, function_id
        # the zipped packages are unpacked (StewardFunction(prepare=unpack_packed_deps)) before use
        env = resources[function_id]["Properties"]["Environment"]["Variables"]
        packed = DEPENDENCY_LAYER.get(function_id) == "ml-deps"
        assert (env.get("STEWARD_PACKED_DEPS") == "/opt/steward-packed") == packed, function_id
        handler_source = (REPO / "functions" / FUNCTIONS[function_id] / "app.py").read_text()
        assert ("prepare=unpack_packed_deps" in handler_source) == packed, function_id


def test_reserved_concurrency_is_optional_for_small_accounts(resources: dict[str, Any]) -> None:
    reserved = {
        function_id: resources[function_id]["Properties"]["ReservedConcurrentExecutions"]
        for function_id in FUNCTIONS
        if "ReservedConcurrentExecutions" in resources[function_id]["Properties"]
    }
    assert {"TrainModelFunction", "CheckWindowFunction", "RunAuditFunction"} <= set(reserved)
    for value in reserved.values():
        condition, amount, otherwise = value["Fn::If"]
        assert condition == "ReservesConcurrency"
        assert isinstance(amount, int) and amount >= 1
        assert otherwise == {"Ref": "AWS::NoValue"}


def test_monitor_batch_scales_out_through_one_state_machine(
    resources: dict[str, Any], role_statements: Statements
) -> None:
    env = resources["MonitorBatchFunction"]["Properties"]["Environment"]["Variables"]
    assert env["SCALE_OUT_STATE_MACHINE_ARN"] == {"Ref": "LargeBatchStateMachine"}
    assert env["SCALE_OUT_BYTES"] == {"Ref": "ScaleOutBytes"}
    assert allowed(role_statements("MonitorBatchFunction"), "states:StartExecution") == {
        "<LargeBatchStateMachine>"
    }
    for function_id in FUNCTIONS:
        if function_id != "MonitorBatchFunction":
            assert not allowed(role_statements(function_id), "states:StartExecution"), function_id


def test_scale_out_machine_runs_a_distributed_map_that_fails_closed(resources: dict[str, Any]) -> None:
    machine = resources["LargeBatchStateMachine"]["Properties"]
    assert render_sub(machine["StateMachineName"], SUB_VALUES) == SCALE_OUT_MACHINE.rsplit(":", 1)[1]
    subs = machine["DefinitionSubstitutions"]
    assert {k: v["Fn::GetAtt"][0] for k, v in subs.items()} == {
        "PlanChunksArn": "PlanChunksFunction",
        "ProfileChunkArn": "ProfileChunkFunction",
        "FinishLargeBatchArn": "FinishLargeBatchFunction",
    }
    definition = state_machine_definition(machine)
    states = definition["States"]
    chunks = states["ProfileChunks"]
    assert chunks["Type"] == "Map" and chunks["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert chunks["ToleratedFailurePercentage"] == 0 and 1 <= chunks["MaxConcurrency"] <= 1000
    assert chunks["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"
    for name in ("PlanChunks", "ProfileChunks", "FinishLargeBatch"):
        assert states[name]["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "FailLargeBatch"}
        ], name
    tasks = [
        states["PlanChunks"],
        states["FinishLargeBatch"],
        chunks["ItemProcessor"]["States"]["ProfileChunk"],
    ]
    for task in tasks:
        (retry,) = task["Retry"]
        assert (
            retry["BackoffRate"] > 1 and retry["MaxAttempts"] >= 2 and "StorageError" in retry["ErrorEquals"]
        )
    assert states["FailLargeBatch"]["Next"] == "LargeBatchFailed"
    assert states["LargeBatchFailed"]["Type"] == "Fail"


# --------------------------------------------------------------------------- triggers
def test_each_upload_prefix_triggers_its_function(resources: dict[str, Any]) -> None:
    notifications = resources["DataBucket"]["Properties"]["NotificationConfiguration"]
    wiring: dict[str, str] = {}
    for config in notifications["LambdaConfigurations"]:
        assert config["Event"] == "s3:ObjectCreated:*"
        rules = config["Filter"]["S3Key"]["Rules"]
        assert [rule["Name"] for rule in rules] == ["prefix"]
        condition, off, prefix = rules[0]["Value"]["Fn::If"]  # UploadEvents=EventBridge turns it off
        assert condition == "UploadsViaEventBridge" and off == f"notifications-off/{prefix}"
        wiring[prefix] = config["Function"]["Fn::GetAtt"][0]
    assert wiring == TRIGGERS
    assert {prefix.rstrip("/") for prefix in TRIGGERS} == set(TRIGGER_PREFIXES)
    permissions = of_type(resources, "AWS::Lambda::Permission")
    s3_invokers = {
        p["Properties"]["FunctionName"]["Ref"]
        for p in permissions.values()
        if p["Properties"]["Principal"] == "s3.amazonaws.com"
    }
    assert s3_invokers == set(TRIGGERS.values())


def test_uploads_can_arrive_through_eventbridge_instead(
    sam_template: dict[str, Any], resources: dict[str, Any]
) -> None:
    parameter = sam_template["Parameters"]["UploadEvents"]
    assert set(parameter["AllowedValues"]) == {"S3Notifications", "EventBridge"}
    assert parameter["Default"] == "S3Notifications"
    bridge = resources["DataBucket"]["Properties"]["NotificationConfiguration"]["EventBridgeConfiguration"]
    on = {"EventBridgeEnabled": True}
    assert bridge == {"Fn::If": ["UploadsViaEventBridge", on, {"Ref": "AWS::NoValue"}]}
    names = {function_id: FUNCTIONS[function_id] for function_id in TRIGGERS.values()}
    mapping = sam_template["Mappings"]["UploadFunctions"]
    rules = {
        r["Properties"]["EventPattern"]["detail"]["object"]["key"][0]["prefix"]["Fn::Sub"][1]["Prefix"]: r
        for r in of_type(resources, "AWS::Events::Rule").values()
        if r.get("Condition") == "UploadsViaEventBridge"
    }
    assert {f"{prefix}/" for prefix in rules} == set(TRIGGERS)
    for prefix, rule in rules.items():
        pattern = rule["Properties"]["EventPattern"]
        assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
        assert pattern["detail"]["bucket"]["name"] == [{"Ref": "DataBucket"}]
        assert mapping[prefix]["Function"] == names[TRIGGERS[f"{prefix}/"]]
    bridge_invokers = [
        p
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
        and p.get("Condition") == "UploadsViaEventBridge"
    ]
    assert len(bridge_invokers) == len(TRIGGERS)


def test_schedules_send_the_expected_inputs(resources: dict[str, Any]) -> None:
    every_rule = of_type(resources, "AWS::Events::Rule")
    rules = {k: r for k, r in every_rule.items() if "ScheduleExpression" in r["Properties"]}
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for rule in rules.values():
        (target,) = rule["Properties"]["Targets"]
        found[target["Arn"]["Fn::GetAtt"][0]] = (
            rule["Properties"]["ScheduleExpression"],
            json.loads(target["Input"]),
        )
    assert found == SCHEDULES


def test_handle_alarm_subscribes_to_the_alarms_topic(resources: dict[str, Any]) -> None:
    subscriptions = [
        s["Properties"]
        for s in of_type(resources, "AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "lambda"
    ]
    assert subscriptions == [
        {
            "Endpoint": {"Fn::GetAtt": ["HandleAlarmFunction", "Arn"]},
            "Protocol": "lambda",
            "TopicArn": {"Ref": "AlarmsTopic"},
        }
    ]
    sns_invokers = [
        p["Properties"]
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "sns.amazonaws.com"
    ]
    assert [p["FunctionName"] for p in sns_invokers] == [{"Ref": "HandleAlarmFunction"}]
    assert [p["SourceArn"] for p in sns_invokers] == [{"Ref": "AlarmsTopic"}]


def test_alert_email_subscriptions_depend_on_the_parameter(resources: dict[str, Any]) -> None:
    emails = {
        s["Properties"]["TopicArn"]["Ref"]: s
        for s in of_type(resources, "AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "email"
    }
    # people subscribe to the human notifications only: raw alarm JSON in an inbox is noise
    assert set(emails) == {"NotificationsTopic"}
    for subscription in emails.values():
        assert subscription["Condition"] == "HasAlertEmail"
        assert subscription["Properties"]["Endpoint"] == {"Ref": "AlertEmail"}


# --------------------------------------------------------------------------- least privilege
def test_function_roles_carry_only_known_managed_policies(resources: dict[str, Any]) -> None:
    for function_id in FUNCTIONS:
        role_id = resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        for arn in resources[role_id]["Properties"]["ManagedPolicyArns"]:
            if isinstance(arn, dict):
                assert arn == {"Ref": "FunctionBasePolicy"}, function_id
            else:
                assert arn in ALLOWED_AWS_MANAGED_POLICIES, (function_id, arn)


def _identity_statements(resources: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for role_id, role in of_type(resources, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            found.extend((role_id, s) for s in statements(policy["PolicyDocument"]))
    for policy_id, policy in of_type(resources, "AWS::IAM::ManagedPolicy").items():
        found.extend((policy_id, s) for s in statements(policy["Properties"]["PolicyDocument"]))
    return found


def test_no_wildcard_actions_or_resources_in_identity_policies(resources: dict[str, Any]) -> None:
    found = _identity_statements(resources)
    assert len(found) > 20
    for owner, statement in found:
        assert statement["Effect"] == "Allow", owner
        for action in as_list(statement["Action"]):
            assert "*" not in action, (owner, action)
        if "*" in as_list(statement["Resource"]):
            unexplained = set(as_list(statement["Action"])) - set(RESOURCE_WILDCARD_EXCEPTIONS)
            assert not unexplained, (owner, unexplained)


def test_policies_name_single_tables_topics_keys_and_prefixes(resources: dict[str, Any]) -> None:
    tables = set(of_type(resources, "AWS::DynamoDB::Table"))
    for owner, statement in _identity_statements(resources):
        actions = as_list(statement["Action"])
        targets = as_list(statement["Resource"])
        service = {action.split(":")[0] for action in actions}
        assert len(service) == 1, (owner, actions)  # one service per statement keeps scopes clear
        if service == {"dynamodb"}:
            assert all(t["Fn::GetAtt"][0] in tables and t["Fn::GetAtt"][1] == "Arn" for t in targets), owner
        elif service == {"sns"}:
            assert targets == [{"Ref": "NotificationsTopic"}], owner
        elif service == {"cloudwatch"}:
            # read the model alarms, or set them to mirror an episode: never metrics, never other alarms
            assert actions in (["cloudwatch:DescribeAlarms"], ["cloudwatch:SetAlarmState"]), owner
            assert [arn_text(t) for t in targets] == [f"{ALARM_ARN_PREFIX}{STACK}-*"], owner
        elif service == {"lambda"}:
            assert actions == ["lambda:InvokeFunction"], owner
            if owner == "LargeBatchStateMachineRole":
                assert {arn_text(t) for t in targets} == {f"<{f}.Arn>" for f in SCALE_OUT_STEPS}, owner
            else:
                assert {arn_text(t) for t in targets} <= TRAIN_FUNCTION_ARNS, owner
        elif service == {"states"}:
            assert {arn_text(t) for t in targets} in (
                {"<LargeBatchStateMachine>"},
                {SCALE_OUT_MACHINE},
                {SCALE_OUT_MACHINE.replace(":stateMachine:", ":execution:") + "/*"},
            ), (owner, targets)
        elif service == {"kms"}:
            assert targets == [{"Fn::GetAtt": ["StewardKey", "Arn"]}], owner
        elif service == {"s3"}:
            for target in map(arn_text, targets):
                bucket, _, key = target.partition("/")
                assert bucket in {DATA, ARTIFACTS, AUDIT}, (owner, target)
                if key:
                    assert not key.startswith("*"), (owner, target)  # always under a prefix
                else:
                    assert actions in (["s3:ListBucket"], ["s3:ListBucket", "s3:ListBucketVersions"]), owner
                    assert "s3:prefix" in statement["Condition"]["StringLike"], owner


def test_every_function_reads_its_trigger_prefix_and_shares_the_base_policy(
    role_statements: Statements,
) -> None:
    for prefix, function_id in TRIGGERS.items():
        readable = object_prefixes(allowed(role_statements(function_id), "s3:GetObject"), DATA)
        assert f"{prefix}*" in readable, function_id
    for function_id in FUNCTIONS:
        stmts = role_statements(function_id)
        for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"):
            assert "<IdempotencyTable.Arn>" in allowed(stmts, action), (function_id, action)
        for action in ("dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"):
            assert "<AuditTable.Arn>" in allowed(stmts, action), (function_id, action)
        for action in ("s3:PutObject", "s3:PutObjectRetention"):
            assert object_prefixes(allowed(stmts, action), AUDIT) == {"audit/*"}, (function_id, action)
        assert "<StewardKey.Arn>" in allowed(stmts, "kms:Decrypt"), function_id
        assert "<StewardKey.Arn>" in allowed(stmts, "kms:GenerateDataKey"), function_id


def test_audit_chain_is_append_only_for_functions(role_statements: Statements) -> None:
    for function_id in FUNCTIONS:
        stmts = role_statements(function_id)
        for action in ("dynamodb:DeleteItem", "dynamodb:BatchWriteItem"):
            assert "<AuditTable.Arn>" not in allowed(stmts, action), (function_id, action)
        updates = [
            s
            for s in stmts
            if s["Effect"] == "Allow"
            and "dynamodb:UpdateItem" in as_list(s["Action"])
            and {"Fn::GetAtt": ["AuditTable", "Arn"]} in as_list(s["Resource"])
        ]
        assert len(updates) == 1, function_id  # only the "exported" flag, nothing else
        attributes = updates[0]["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"]
        assert set(attributes) == {"pk", "sk", "exported"}, function_id
        for action in ("s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"):
            assert not allowed(stmts, action), (function_id, action)
        # the only deletes: a superseded batch's index marker (a versioned bucket keeps it)
        assert allowed(stmts, "s3:DeleteObject") <= {f"{ARTIFACTS}/reports/*/_index/*"}, function_id


def test_no_function_writes_where_it_is_triggered(role_statements: Statements) -> None:
    """Recursion guard: only score_batch writes a trigger prefix (inference/, monitor_batch's)."""
    writes_to_triggers = set()
    for function_id in FUNCTIONS:
        written = object_prefixes(allowed(role_statements(function_id), "s3:PutObject"), DATA)
        own = [p for p, f in TRIGGERS.items() if f == function_id]
        assert not any(w.startswith(p) for w in written for p in own), function_id
        writes_to_triggers |= {(function_id, w) for w in written for p in TRIGGERS if w.startswith(p)}
    assert writes_to_triggers == {("ScoreBatchFunction", "inference/*")}


def test_only_train_model_is_ever_invoked_by_a_function(role_statements: Statements) -> None:
    invokers = {f: allowed(role_statements(f), "lambda:InvokeFunction") for f in FUNCTIONS}
    # handle_alarm asks for a retrain; evaluate_labels asks again for one waiting for labels
    assert {f for f, targets in invokers.items() if targets} == {
        "HandleAlarmFunction",
        "TrainModelFunction",
        "EvaluateLabelsFunction",
    }
    assert all(targets <= TRAIN_FUNCTION_ARNS for targets in invokers.values())


def test_light_functions_only_read_what_they_check(role_statements: Statements) -> None:
    handle_alarm = role_statements("HandleAlarmFunction")
    assert object_prefixes(allowed(handle_alarm, "s3:GetObject"), DATA) == {"specs/*"}
    assert not allowed(handle_alarm, "s3:PutObject") - {f"{AUDIT}/audit/*"}
    run_audit = role_statements("RunAuditFunction")
    assert object_prefixes(allowed(run_audit, "s3:PutObject"), ARTIFACTS) == {"governance/*"}
    assert object_prefixes(allowed(run_audit, "s3:PutObject"), DATA) == set()
    assert {"models/*", "reports/*"} <= object_prefixes(allowed(run_audit, "s3:GetObject"), ARTIFACTS)
    assert "<RegistryTable.Arn>" in allowed(run_audit, "dynamodb:Scan")
    assert "<RegistryTable.Arn>" not in allowed(run_audit, "dynamodb:PutItem")
    assert allowed(run_audit, "cloudwatch:DescribeAlarms") == {f"{ALARM_ARN_PREFIX}{STACK}-*"}


def test_key_policy_delegates_to_iam_and_lets_cloudwatch_publish(resources: dict[str, Any]) -> None:
    key = resources["StewardKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    by_sid = {s["Sid"]: s for s in statements(key["KeyPolicy"])}
    root = by_sid["AccountAdministersKeyThroughIam"]
    # The one documented "*" action: the standard root statement, so IAM policies govern use.
    assert root["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    assert root["Action"] == "kms:*"
    cloudwatch = by_sid["CloudWatchAlarmsPublishToEncryptedTopics"]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert sorted(cloudwatch["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert set(by_sid) == {"AccountAdministersKeyThroughIam", "CloudWatchAlarmsPublishToEncryptedTopics"}


# --------------------------------------------------------------------------- storage
BUCKETS = ("DataBucket", "ArtifactsBucket", "AuditBucket")


@pytest.mark.parametrize("bucket_id", BUCKETS)
def test_buckets_are_versioned_encrypted_private_and_tls_only(
    resources: dict[str, Any], bucket_id: str
) -> None:
    bucket = resources[bucket_id]
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    policies = [
        p["Properties"]
        for p in of_type(resources, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    assert len(policies) == 1
    (deny,) = [s for s in statements(policies[0]["PolicyDocument"]) if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*"
    assert deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [
        {"Fn::GetAtt": [bucket_id, "Arn"]},
        {"Fn::Sub": f"${{{bucket_id}.Arn}}/*"},
    ]


def test_suite_buckets_use_the_key_and_the_data_bucket_name_is_predictable(resources: dict[str, Any]) -> None:
    for bucket_id in ("ArtifactsBucket", "AuditBucket"):
        (rule,) = resources[bucket_id]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": {"Fn::GetAtt": ["StewardKey", "Arn"]},
        }
        assert rule["BucketKeyEnabled"] is True
    name = render_sub(resources["DataBucket"]["Properties"]["BucketName"], SUB_VALUES)
    assert f"arn:aws:s3:::{name}" == DATA


def test_audit_bucket_has_object_lock(resources: dict[str, Any]) -> None:
    props = resources["AuditBucket"]["Properties"]
    assert props["ObjectLockEnabled"] is True
    lock = props["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    assert lock["Rule"]["DefaultRetention"] == {
        "Mode": {"Ref": "AuditRetentionMode"},
        "Days": {"Ref": "AuditRetentionDays"},
    }


def test_audit_retention_defaults_to_governance_with_compliance_allowed(translated: dict[str, Any]) -> None:
    parameter = translated["Parameters"]["AuditRetentionMode"]
    assert parameter["Default"] == "GOVERNANCE"
    assert set(parameter["AllowedValues"]) == {"GOVERNANCE", "COMPLIANCE"}


def test_tables_have_fixed_keys_pitr_and_encryption(resources: dict[str, Any]) -> None:
    expected_keys = {
        "RegistryTable": [("pk", "HASH", "S"), ("sk", "RANGE", "S")],
        "AuditTable": [("pk", "HASH", "S"), ("sk", "RANGE", "N")],
        "IdempotencyTable": [("id", "HASH", "S")],
        "EpisodesTable": [("pk", "HASH", "S"), ("sk", "RANGE", "S")],
    }
    assert set(of_type(resources, "AWS::DynamoDB::Table")) == set(expected_keys)
    for table_id, keys in expected_keys.items():
        props = resources[table_id]["Properties"]
        types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
        assert [
            (k["AttributeName"], k["KeyType"], types[k["AttributeName"]]) for k in props["KeySchema"]
        ] == keys
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"]["SSEEnabled"] is True
    ttl = resources["IdempotencyTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expiration", "Enabled": True}


def test_topics_and_queue_are_encrypted(resources: dict[str, Any]) -> None:
    for topic_id in ("AlarmsTopic", "NotificationsTopic"):
        assert resources[topic_id]["Properties"]["KmsMasterKeyId"] == {"Ref": "StewardKey"}
    queue = resources["DeadLetterQueue"]["Properties"]
    assert queue["KmsMasterKeyId"] == {"Ref": "StewardKey"}
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    (policy,) = [
        p
        for p in of_type(resources, "AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [{"Ref": "AlarmsTopic"}]
    ]
    publishers = [
        s
        for s in statements(policy["Properties"]["PolicyDocument"])
        if s["Effect"] == "Allow" and s["Action"] == "sns:Publish"
    ]
    assert [s["Principal"] for s in publishers] == [{"Service": "cloudwatch.amazonaws.com"}]


# --------------------------------------------------------------------------- alarms
def _alarm_names(resources: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        render_sub(alarm["Properties"]["AlarmName"], SUB_VALUES): alarm["Properties"]
        for alarm in of_type(resources, kind).values()
    }


def test_per_model_alarms_exist_for_each_monitored_model(resources: dict[str, Any]) -> None:
    alarms = _alarm_names(resources, "AWS::CloudWatch::Alarm")
    model_alarms = {name: props for name, props in alarms.items() if ALARM_NAME.match(name)}
    parsed = {(m["model"], m["signal"]) for m in map(ALARM_NAME.match, model_alarms) if m}
    assert parsed == {(model, signal) for model in TWO_MODELS for signal in SIGNALS}
    for name, props in model_alarms.items():
        match = ALARM_NAME.match(name)
        assert match
        model, signal = match["model"], match["signal"]
        probe = AlarmNotification(
            AlarmName=name, NewStateValue="ALARM", StateChangeTime="2026-01-01T00:00:00Z"
        )
        assert (identify(probe, stack=STACK).model, identify(probe, stack=STACK).signal) == (model, signal)
        metric, statistic, comparison, threshold, periods, to_alarm, missing = SIGNALS[signal]
        assert props["Namespace"] == metric_names.NAMESPACE
        assert props["MetricName"] == metric, name
        dims = [{"Name": "model", "Value": model}]
        if signal in EPISODE_SIGNALS:
            dims.append({"Name": "signal", "Value": signal})
            assert props["Period"] == 60, name
        assert props["Dimensions"] == dims, name
        assert props["Statistic"] == statistic, name
        assert props["ComparisonOperator"] == comparison, name
        assert props["Threshold"] == threshold, name
        assert props["EvaluationPeriods"] == periods, name
        assert props["DatapointsToAlarm"] == to_alarm, name
        assert props["TreatMissingData"] == missing, name
        description = render_sub(props["AlarmDescription"], {**SUB_VALUES, "LatencyP95ThresholdMs": "25"})
        assert description.startswith(f"model={model};signal={signal};stage={STAGE};stack={STACK} | "), name
        # every one reaches handle_alarm (the drift family's children speak as data_drift)
        assert props["AlarmActions"] == [{"Ref": "AlarmsTopic"}], name
        assert props["OKActions"] == [{"Ref": "AlarmsTopic"}], name


def test_one_composite_drift_alarm_per_model_shows_the_family(resources: dict[str, Any]) -> None:
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    arn_of = {
        render_sub(a["Properties"]["AlarmName"], SUB_VALUES): f"${{{alarm_id}.Arn}}"
        for alarm_id, a in alarms.items()
    }
    composites = _alarm_names(resources, "AWS::CloudWatch::CompositeAlarm")
    assert set(composites) == {f"{STACK}-{model}-data_drift" for model in TWO_MODELS}
    for name, props in composites.items():
        match = ALARM_NAME.match(name)
        assert match is not None
        children = [arn_of[f"{STACK}-{match['model']}-{signal}"] for signal in COMPOSITE_CHILDREN]
        assert props["AlarmRule"] == {"Fn::Sub": f'ALARM("{children[0]}") OR ALARM("{children[1]}")'}
        # no actions of its own: handle_alarm already answers its children, once for the family
        assert props["ActionsEnabled"] is False and "AlarmActions" not in props
        assert render_sub(props["AlarmDescription"], SUB_VALUES).startswith(
            f"model={match['model']};signal=data_drift;"
        )


def test_suite_health_alarms_watch_every_function_and_the_dlq(resources: dict[str, Any]) -> None:
    alarms = _alarm_names(resources, "AWS::CloudWatch::Alarm")
    ops = {name: props for name, props in alarms.items() if name.startswith(f"{STACK}-ops-")}
    assert not any(ALARM_NAME.match(name) for name in ops)  # handle_alarm must not mistake them
    for function_id, snake in FUNCTIONS.items():
        function_name = resources[function_id]["Properties"]["FunctionName"]
        for metric, suffix in (("Errors", "errors"), ("Throttles", "throttles")):
            props = ops[f"{STACK}-ops-{snake}-{suffix}"]
            assert props["Namespace"] == "AWS/Lambda"
            assert props["MetricName"] == metric
            assert props["Dimensions"] == [{"Name": "FunctionName", "Value": function_name}]
            assert props["AlarmActions"] == [{"Ref": "AlarmsTopic"}]
    dlq = ops[f"{STACK}-ops-dlq-depth"]
    assert dlq["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert dlq["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}
    ]
    assert dlq["ComparisonOperator"] == "GreaterThanThreshold" and dlq["Threshold"] == 0


def test_dashboard_searches_every_model(resources: dict[str, Any]) -> None:
    body = render_sub(
        resources["Dashboard"]["Properties"]["DashboardBody"],
        {**SUB_VALUES, "ArtifactsBucket": "artifacts", "LatencyP95ThresholdMs": "25"},
    )
    widgets = json.loads(body)["widgets"]
    expressions = [
        metric[0]["expression"]
        for widget in widgets
        if widget["type"] == "metric"
        for metric in widget["properties"]["metrics"]
    ]
    for metric in (
        metric_names.DRIFTED_FEATURE_SHARE,
        metric_names.QUALITY_VIOLATIONS,
        metric_names.BATCH_ROWS,
        metric_names.SCORING_LATENCY_P95,
        metric_names.REALIZED_PRIMARY_METRIC,
        metric_names.ESTIMATED_PRIMARY_METRIC,
    ):
        assert any(f"SEARCH('{{ModelSteward,model}} MetricName=\"{metric}\"'" in e for e in expressions), (
            metric
        )
    assert any(
        f"SEARCH('{{ModelSteward,model,signal}} MetricName=\"{metric_names.EPISODE_OPEN}\"'" in e
        for e in expressions
    )


def test_outputs_tell_scripts_where_everything_is(translated: dict[str, Any]) -> None:
    outputs = translated["Outputs"]
    expected = {
        "DataBucketName": {"Ref": "DataBucket"},
        "ArtifactsBucketName": {"Ref": "ArtifactsBucket"},
        "AuditBucketName": {"Ref": "AuditBucket"},
        "RegistryTableName": {"Ref": "RegistryTable"},
        "AuditTableName": {"Ref": "AuditTable"},
        "IdempotencyTableName": {"Ref": "IdempotencyTable"},
        "AlarmsTopicArn": {"Ref": "AlarmsTopic"},
        "NotificationsTopicArn": {"Ref": "NotificationsTopic"},
        "DeadLetterQueueUrl": {"Ref": "DeadLetterQueue"},
        "Stage": {"Ref": "Stage"},
    } | {f"{function_id}Name": {"Ref": function_id} for function_id in FUNCTIONS}
    assert {name: outputs[name]["Value"] for name in expected} == expected


# --------------------------------------------------------------------------- traces and execution logs
def test_every_function_and_the_state_machine_are_traced(resources: dict[str, Any]) -> None:
    for function_id in FUNCTIONS:
        assert resources[function_id]["Properties"]["TracingConfig"] == {"Mode": "Active"}, function_id
    machine = resources["LargeBatchStateMachine"]["Properties"]
    assert machine["TracingConfiguration"] == {"Enabled": True}


def test_state_machine_logs_failed_executions_without_their_data(resources: dict[str, Any]) -> None:
    logging_config = resources["LargeBatchStateMachine"]["Properties"]["LoggingConfiguration"]
    assert logging_config["Level"] in ("ERROR", "ALL") and logging_config["IncludeExecutionData"] is False
    (destination,) = logging_config["Destinations"]
    group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    group = resources[group_id]["Properties"]
    assert render_sub(group["LogGroupName"], SUB_VALUES).startswith("/aws/vendedlogs/states/")
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_a_failed_scale_out_execution_raises_a_suite_alarm(resources: dict[str, Any]) -> None:
    props = resources["LargeBatchFailedAlarm"]["Properties"]
    assert (props["Namespace"], props["MetricName"]) == ("AWS/States", "ExecutionsFailed")
    assert props["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": "LargeBatchStateMachine"}}]
    assert props["ComparisonOperator"] == "GreaterThanThreshold" and props["Threshold"] == 0
    assert props["AlarmActions"] == [{"Ref": "AlarmsTopic"}]
    probe = AlarmNotification(
        AlarmName=render_sub(props["AlarmName"], SUB_VALUES),
        NewStateValue="ALARM",
        StateChangeTime="2026-01-01T00:00:00Z",
        AlarmDescription=render_sub(props["AlarmDescription"], SUB_VALUES),
    )
    assert identify(probe).kind == "suite", "handle_alarm sends an operational note, never a retrain"

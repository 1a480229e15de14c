"""What the local cloud assumes about moto's internals and gaps, checked against the installed moto.

pyproject pins ``moto>=5.2.5,<5.3``. When one of these fails after a moto upgrade, the message
says which part of stewardtools.localcloud to revisit (every private interface it uses is in
localcloud/motohooks.py). Each test states the assumption in its name.
"""

from __future__ import annotations

import inspect
import io
import json
import zipfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from stewardtools.localcloud import motohooks

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch.type_defs import DimensionTypeDef
    from mypy_boto3_s3.type_defs import LambdaFunctionConfigurationTypeDef

REGION = "us-east-1"
ACCOUNT = "123456789012"


def _loud(condition: bool, message: str) -> None:
    if not condition:
        pytest.fail(f"moto assumption broken: {message}", pytrace=False)


def _parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS")


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def _function(name: str = "fn") -> str:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return e\n")
    created = boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": buffer.getvalue()},
        Environment={"Variables": {"COLOR": "blue"}},
    )
    return str(created["FunctionArn"])


class _Capture:
    """Temporarily replaces LambdaFunction._invoke_lambda to see what moto passes it."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, Any]] = []
        self.headers: list[Any] = []

    def __enter__(self) -> _Capture:
        cls = motohooks.lambda_function_class()
        self._invoke_lambda, self._invoke = cls._invoke_lambda, cls.invoke
        capture = self

        def _invoke_lambda(fn: Any, event: Any = None) -> tuple[str, bool, str]:
            capture.calls.append((fn, event))
            return json.dumps({"handled": True}), False, "log line"

        def invoke(fn: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
            capture.headers.append(request_headers.get("x-amz-invocation-type"))
            return capture._invoke(fn, body, request_headers, response_headers)

        cls._invoke_lambda, cls.invoke = _invoke_lambda, invoke
        return self

    def __exit__(self, *exc: object) -> None:
        cls = motohooks.lambda_function_class()
        cls._invoke_lambda, cls.invoke = self._invoke_lambda, self._invoke


# --- Lambda ------------------------------------------------------------------------------------
def test_lambda_invoke_goes_through_private_invoke_lambda_with_the_decoded_event() -> None:
    cls = motohooks.lambda_function_class()
    _loud(
        _parameters(cls._invoke_lambda) == ["self", "event"],
        "LambdaFunction._invoke_lambda(self, event) changed: update runtime.install()",
    )
    _loud(
        _parameters(cls.invoke) == ["self", "body", "request_headers", "response_headers"],
        "LambdaFunction.invoke(self, body, request_headers, response_headers) changed: "
        "update runtime.install()",
    )


def test_lambda_invoke_api_reaches_the_patch_with_its_invocation_type(aws: None) -> None:
    _function()
    client = boto3.client("lambda", region_name=REGION)
    with _Capture() as capture:
        sync = client.invoke(FunctionName="fn", Payload=b'{"a": 1}')
        queued = client.invoke(FunctionName="fn", InvocationType="Event", Payload=b'{"b": 2}')
    _loud(
        [event for _, event in capture.calls] == [{"a": 1}, {"b": 2}],
        "_invoke_lambda no longer receives the JSON-decoded payload",
    )
    _loud(
        capture.headers == [None, "Event"],
        "the x-amz-invocation-type request header is not visible to invoke()",
    )
    _loud(json.loads(sync["Payload"].read()) == {"handled": True}, "the patched payload is not returned")
    _loud(queued["StatusCode"] == 202, "InvocationType=Event no longer answers 202")
    fn = capture.calls[0][0]
    _loud(
        fn.function_name == "fn" and fn.environment_vars == {"COLOR": "blue"},
        "LambdaFunction.function_name / environment_vars changed: update runtime._moto_environment",
    )
    _loud(
        callable(getattr(fn, "save_logs", None)) and hasattr(fn, "logs_group_name"),
        "LambdaFunction.save_logs / logs_group_name changed: update runtime._save_moto_logs",
    )


def test_s3_notifications_invoke_lambda_with_quote_plus_encoded_keys(aws: None) -> None:
    arn = _function()
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="notified")
    route: LambdaFunctionConfigurationTypeDef = {
        "LambdaFunctionArn": arn,
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}},
    }
    s3.put_bucket_notification_configuration(
        Bucket="notified", NotificationConfiguration={"LambdaFunctionConfigurations": [route]}
    )
    _loud(
        _parameters(motohooks.s3_event_builder()) == ["event_name", "bucket", "key", "notification_id"],
        "moto.s3.notifications._get_s3_event changed: update runtime.install() (S3 event enrichment)",
    )
    with _Capture() as capture:
        s3.put_object(Bucket="notified", Key="in/a b.csv", Body=b"x")
        s3.put_object(Bucket="notified", Key="out/c.csv", Body=b"x")
    _loud(len(capture.calls) == 1, "S3 prefix filters no longer select the notified function")
    key = capture.calls[0][1]["Records"][0]["s3"]["object"]["key"]
    _loud(
        key == "in%2Fa+b.csv", f"moto's S3 event key encoding changed ({key!r}); runtime rewrites it to AWS's"
    )


def test_cloudformation_function_environment_is_resolved_and_layers_lack_physical_ids(aws: None) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="code")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x", "x")
    s3.put_object(Bucket="code", Key="k", Body=buffer.getvalue())
    template = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
            "Layer": {
                "Type": "AWS::Lambda::LayerVersion",
                "Properties": {"LayerName": "my-layer", "Content": {"S3Bucket": "code", "S3Key": "k"}},
            },
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": "f",
                    "Handler": "app.handler",
                    "Runtime": "python3.12",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"S3Bucket": "code", "S3Key": "k"},
                    "Environment": {"Variables": {"TOPIC": {"Ref": "Topic"}}},
                },
            },
            "Alarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": "a",
                    "MetricName": "m",
                    "Namespace": "n",
                    "Statistic": "Sum",
                    "Period": 60,
                    "EvaluationPeriods": 1,
                    "Threshold": 1,
                    "ComparisonOperator": "GreaterThanThreshold",
                },
            },
            "Sub": {
                "Type": "AWS::SNS::Subscription",
                "Properties": {
                    "TopicArn": {"Ref": "Topic"},
                    "Protocol": "email",
                    "Endpoint": "a@example.com",
                },
            },
        },
        "Outputs": {"LayerArn": {"Value": {"Ref": "Layer"}}},
    }
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(StackName="s", TemplateBody=json.dumps(template))
    stack = cloudformation.describe_stacks(StackName="s")["Stacks"][0]
    _loud(stack["StackStatus"] == "CREATE_COMPLETE", "a stack with unsupported types no longer completes")
    variables = boto3.client("lambda", region_name=REGION).get_function(FunctionName="f")["Configuration"][
        "Environment"
    ]["Variables"]
    _loud(
        variables == {"TOPIC": f"arn:aws:sns:{REGION}:{ACCOUNT}:t"},
        "moto no longer resolves Refs in a function's Environment: runtime reads environment_vars",
    )
    alarms = boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]
    _loud(
        alarms == [],
        "moto's CloudFormation now creates AWS::CloudWatch::Alarm: stop LocalCloud._apply_alarms "
        "from creating them twice",
    )
    subscriptions = boto3.client("sns", region_name=REGION).list_subscriptions()["Subscriptions"]
    _loud(
        subscriptions == [],
        "moto's CloudFormation now creates AWS::SNS::Subscription: stop "
        "LocalCloud._apply_subscriptions from subscribing twice",
    )
    layers = boto3.client("lambda", region_name=REGION).list_layers()["Layers"]
    _loud(
        len(layers) == 1 and "-Layer-" in layers[0]["LayerName"],
        "moto's layer naming (<stack>-<logical id>-<suffix>) changed: "
        "update LocalCloud._fix_layer_references",
    )


# --- S3 ------------------------------------------------------------------------------------------
def test_cloudformation_buckets_ignore_object_lock_and_the_api_enforces_it(aws: None) -> None:
    template = {
        "Resources": {
            "B": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "BucketName": "locked",
                    "ObjectLockEnabled": True,
                    "VersioningConfiguration": {"Status": "Enabled"},
                },
            }
        }
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="s", TemplateBody=json.dumps(template)
    )
    s3 = boto3.client("s3", region_name=REGION)
    with pytest.raises(s3.exceptions.ClientError):
        s3.get_object_lock_configuration(
            Bucket="locked"
        )  # if this passes, drop LocalCloud._ensure_object_lock
    s3.create_bucket(Bucket="api-locked", ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket="api-locked",
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
        },
    )
    version = s3.put_object(Bucket="api-locked", Key="k", Body=b"x")["VersionId"]
    with pytest.raises(s3.exceptions.ClientError):
        s3.delete_object(Bucket="api-locked", Key="k", VersionId=version)


# --- SNS -----------------------------------------------------------------------------------------
def test_sns_records_messages_and_subscription_publish_keeps_its_signature(aws: None) -> None:
    cls = motohooks.sns_subscription_class()
    _loud(
        _parameters(cls.publish)
        == [
            "self",
            "message",
            "message_id",
            "subject",
            "message_attributes",
            "group_id",
            "deduplication_id",
            "message_structure",
        ],
        "Subscription.publish signature changed: update sns_delivery.install()",
    )
    _loud(
        callable(getattr(cls, "_parse_message_structure", None)),
        "Subscription._parse_message_structure is gone: update sns_delivery.install()",
    )
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="t")["TopicArn"]
    subscription = sns.subscribe(
        TopicArn=topic, Protocol="email", Endpoint="a@example.com", ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    sns.set_subscription_attributes(
        SubscriptionArn=subscription,
        AttributeName="FilterPolicy",
        AttributeValue=json.dumps({"kind": ["alarm"]}),
    )
    message_id = sns.publish(TopicArn=topic, Message="hello", Subject="s")["MessageId"]
    sent = motohooks.sns_topic(topic).sent_notifications
    _loud(
        sent and sent[0][:3] == (message_id, "hello", "s"),
        "Topic.sent_notifications no longer records (message_id, message, subject, ...)",
    )
    backend_subscription = next(iter(motohooks.sns_backend_for(topic).subscriptions.values()))
    _loud(
        hasattr(backend_subscription, "_filter_policy_matcher") and backend_subscription.topic.arn == topic,
        "Subscription._filter_policy_matcher / topic changed: update sns_delivery.install()",
    )


def test_moto_sns_to_lambda_events_are_placeholders_the_local_cloud_replaces(aws: None) -> None:
    arn = _function()
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="t")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)
    with _Capture() as capture:
        sns.publish(TopicArn=topic, Message="m")
    _loud(
        len(capture.calls) == 1,
        "SNS no longer invokes subscribed Lambda functions through LambdaFunction.invoke",
    )
    _loud(
        callable(getattr(motohooks.lambda_backend_module(), "get_backend", None)),
        "moto.awslambda.utils.get_backend is gone: update sns_delivery.SnsDelivery.deliver",
    )


# --- CloudWatch ----------------------------------------------------------------------------------
def test_cloudwatch_never_evaluates_and_keeps_the_gaps_the_alarm_engine_fills(aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="alarms")["TopicArn"]
    cloudwatch.put_metric_alarm(
        AlarmName="a",
        MetricName="m",
        Namespace="n",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[topic],
        Dimensions=[{"Name": "model", "Value": "x"}],
        TreatMissingData="breaching",
        DatapointsToAlarm=1,
    )
    cloudwatch.put_metric_data(
        Namespace="n",
        MetricData=[
            {"MetricName": "m", "Value": 5, "Dimensions": [{"Name": "model", "Value": "x"}]},
            {"MetricName": "m", "StatisticValues": {"Sum": 4, "Minimum": 1, "Maximum": 3, "SampleCount": 2}},
        ],
    )
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=["a"])["MetricAlarms"]
    _loud(
        alarm["StateValue"] == "OK", "moto alarms no longer start in OK (the engine sets INSUFFICIENT_DATA)"
    )
    _loud(
        {"Dimensions", "TreatMissingData", "DatapointsToAlarm", "Threshold"} <= set(alarm),
        "DescribeAlarms lost fields the alarm engine reads",
    )
    cloudwatch.set_alarm_state(AlarmName="a", StateValue="ALARM", StateReason="test")
    _loud(
        motohooks.sns_topic(topic).sent_notifications == [],
        "moto's SetAlarmState now runs AlarmActions: alarm_engine's hook would notify twice",
    )
    _loud(motohooks.alarm_history_unsupported(), "moto implements DescribeAlarmHistory now: use it")
    _loud(
        not hasattr(motohooks.cloudwatch_response_class(), "put_composite_alarm"),
        "moto implements PutCompositeAlarm now: drop alarm_engine's routing to put_metric_alarm",
    )
    backend_class = motohooks.cloudwatch_backend_class()
    _loud(
        _parameters(backend_class.set_alarm_state)
        == ["self", "alarm_name", "reason", "reason_data", "state_value"],
        "CloudWatchBackend.set_alarm_state signature changed: update alarm_engine.install()",
    )
    _loud(
        _parameters(backend_class.put_metric_alarm)[:2] == ["self", "name"],
        "CloudWatchBackend.put_metric_alarm(name, ...) changed: update alarm_engine.install()",
    )
    stored = motohooks.metric_samples(ACCOUNT, REGION)
    single = [d for d in stored if hasattr(d, "value")]
    aggregated = [d for d in stored if not hasattr(d, "value")]
    _loud(
        len(single) == 1
        and single[0].value == 5.0
        and single[0].timestamp.tzinfo is None
        and [(d.name, d.value) for d in single[0].dimensions] == [("model", "x")],
        "stored metric data changed shape (value, naive UTC timestamp, dimensions): "
        "update alarm_engine._sample",
    )
    _loud(
        len(aggregated) == 1
        and (aggregated[0].sum, aggregated[0].min, aggregated[0].max, aggregated[0].sample_count)
        == (4, 1, 3, 2),
        "statistic sets changed shape (sum, min, max, sample_count): update alarm_engine._sample",
    )


def test_get_metric_statistics_matches_dimensions_by_subset_until_the_alarm_engine_narrows_it(
    aws: None,
) -> None:
    from stewardtools.localcloud import alarm_engine

    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    model: DimensionTypeDef = {"Name": "model", "Value": "x"}
    variant: DimensionTypeDef = {"Name": "variant", "Value": "challenger"}
    cloudwatch.put_metric_data(
        Namespace="n",
        MetricData=[
            {"MetricName": "m", "Value": 1.0, "Dimensions": [model]},
            {"MetricName": "m", "Value": 9.0, "Dimensions": [model, variant]},
        ],
    )

    def maxima(dimensions: list[DimensionTypeDef]) -> list[tuple[float, float]]:
        points = cloudwatch.get_metric_statistics(
            Namespace="n",
            MetricName="m",
            Dimensions=dimensions,
            Period=86400,
            StartTime="2000-01-01",
            EndTime="2100-01-01",
            Statistics=["Maximum", "SampleCount"],
        )["Datapoints"]
        return [(p["Maximum"], p["SampleCount"]) for p in points]

    _loud(
        maxima([model]) == [(9.0, 2.0)],
        "moto's GetMetricStatistics matches dimensions exactly now: drop alarm_engine's narrowing",
    )
    installed = not alarm_engine._ORIGINALS
    alarm_engine.install()
    try:
        assert maxima([model]) == [(1.0, 1.0)]  # {model} is its own metric, as on AWS
        assert maxima([model, variant]) == [(9.0, 1.0)]
        assert maxima([]) == []
    finally:
        if installed:
            alarm_engine.uninstall()


def test_put_composite_alarm_routed_to_put_metric_alarm_stores_a_composite(aws: None) -> None:
    responses = motohooks.cloudwatch_response_class()
    responses.put_composite_alarm = responses.put_metric_alarm  # what alarm_engine.install() does
    try:
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        cloudwatch.put_composite_alarm(AlarmName="c", AlarmRule='ALARM("a") OR ALARM("b")', AlarmActions=[])
        composite = cloudwatch.describe_alarms(AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
    finally:
        del responses.put_composite_alarm
    _loud(
        [(c["AlarmName"], c["AlarmRule"]) for c in composite] == [("c", 'ALARM("a") OR ALARM("b")')],
        "routing PutCompositeAlarm to put_metric_alarm no longer stores a composite alarm",
    )


# --- EventBridge and server mode -------------------------------------------------------------------
def test_scheduled_rules_keep_their_targets_input_and_never_fire(aws: None) -> None:
    arn = _function()
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name="r", ScheduleExpression="rate(1 minute)")
    events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": arn, "Input": '{"action": "x"}'}])
    (target,) = events.list_targets_by_rule(Rule="r")["Targets"]
    _loud(target.get("Input") == '{"action": "x"}', "EventBridge targets lost their Input")
    _loud(hasattr(motohooks.events_rule_class(), "send_to_targets"), "events Rule.send_to_targets is gone")


def test_threaded_server_shares_backends_with_this_process() -> None:
    from moto.s3.models import s3_backends
    from moto.server import ThreadedMotoServer

    from stewardtools.localcloud.deploy import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        s3.create_bucket(Bucket="served-bucket")
        _loud(
            "served-bucket" in s3_backends[ACCOUNT]["global"].buckets,
            "ThreadedMotoServer no longer shares the process's backends: "
            "the in-process hooks would not apply",
        )
    finally:
        server.stop()
        s3_backends[ACCOUNT]["global"].reset()

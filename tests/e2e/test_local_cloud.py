"""The local cloud runs the real template: deploy, triggers, schedules, alarms, email, failures, serving.

Driven like a user would drive AWS: boto3 calls against the deployed stack, then assertions on
what the functions did (their invocation records, logs, output objects), on alarm states and
on the emails in the outbox.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from stewardtools.localcloud.deploy import DEFAULT_STACK_NAME, LocalCloud
from stewardtools.localcloud.emf import parse_emf_line
from stewardtools.localcloud.resolve import StackContext
from stewardtools.localcloud.scheduler import rate_of

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
MODEL = "credit-default"  # the model the local_cloud fixture monitors
STAGE = "local"
Recorder = Any  # conftest.Recorder: .folder (a handler folder), .calls (what it received)
PREFIX_FUNCTIONS = {
    "training/": "TrainModelFunction",
    "reference/": "CreateBaselineFunction",
    "scoring/": "ScoreBatchFunction",
    "inference/": "MonitorBatchFunction",
    "labels/": "EvaluateLabelsFunction",
}


def _alarm(signal_name: str) -> str:
    return f"{DEFAULT_STACK_NAME}-{MODEL}-{signal_name}"  # alarm names start with the stack's name


def _new_invocations(cloud: LocalCloud, before: int) -> list[Any]:
    return cloud.invocations[before:]


# --- deploy ----------------------------------------------------------------------------------
def test_stack_outputs_name_every_bucket_table_topic_and_queue(local_cloud: LocalCloud) -> None:
    outputs = local_cloud.outputs
    s3, dynamodb, sns, sqs = (local_cloud.client(s) for s in ("s3", "dynamodb", "sns", "sqs"))
    for key in ("DataBucketName", "ArtifactsBucketName", "AuditBucketName"):
        s3.head_bucket(Bucket=outputs[key])
    for key in ("RegistryTableName", "AuditTableName", "IdempotencyTableName"):
        assert dynamodb.describe_table(TableName=outputs[key])["Table"]["TableStatus"] == "ACTIVE"
    for key in ("AlarmsTopicArn", "NotificationsTopicArn"):
        assert sns.get_topic_attributes(TopicArn=outputs[key])["Attributes"]["TopicArn"] == outputs[key]
    assert (
        sqs.get_queue_attributes(QueueUrl=outputs["DeadLetterQueueUrl"], AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        == outputs["DeadLetterQueueArn"]
    )
    assert outputs["StewardLayerArn"].startswith("arn:aws:lambda:"), "layer outputs resolve to ARNs"
    stack = json.loads((local_cloud.state_dir / "stack.json").read_text())
    assert stack["outputs"] == outputs


def _template_subscriptions(cloud: LocalCloud) -> set[tuple[str, str]]:
    """(topic ARN, protocol) of every AWS::SNS::Subscription the template creates here."""
    ctx = StackContext(
        template=cloud.translated,
        parameters=cloud.parameters,
        physical_ids=cloud.resources,
        stack_name=cloud.stack_name,
        region=cloud.region,
        account_id=cloud.account_id,
    )
    return {
        (ctx.resolve(r["Properties"]["TopicArn"]), r["Properties"]["Protocol"])
        for logical_id, r in cloud.translated["Resources"].items()
        if r["Type"] == "AWS::SNS::Subscription" and ctx.resource_enabled(logical_id)
    }


def test_what_moto_cloudformation_ignores_is_applied(local_cloud: LocalCloud) -> None:
    s3, outputs = local_cloud.client("s3"), local_cloud.outputs
    for key in ("DataBucketName", "ArtifactsBucketName", "AuditBucketName"):
        assert s3.get_bucket_versioning(Bucket=outputs[key]).get("Status") == "Enabled"
    lock = s3.get_object_lock_configuration(Bucket=outputs["AuditBucketName"])["ObjectLockConfiguration"]
    assert lock["Rule"]["DefaultRetention"]["Mode"] in ("GOVERNANCE", "COMPLIANCE")
    notifications = s3.get_bucket_notification_configuration(Bucket=outputs["DataBucketName"])
    routes = {
        config["Filter"]["Key"]["FilterRules"][0]["Value"]: config["LambdaFunctionArn"].rsplit(":", 1)[-1]
        for config in notifications["LambdaFunctionConfigurations"]
    }
    assert routes == {prefix: local_cloud.function_name(fn) for prefix, fn in PREFIX_FUNCTIONS.items()}
    expected = _template_subscriptions(local_cloud)
    assert (outputs["AlarmsTopicArn"], "lambda") in expected, "handle_alarm listens to the alarms topic"
    subscriptions = local_cloud.client("sns").list_subscriptions()["Subscriptions"]
    assert expected <= {(s["TopicArn"], s["Protocol"]) for s in subscriptions}
    ttl = local_cloud.client("dynamodb").describe_time_to_live(TableName=outputs["IdempotencyTableName"])
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    alarms = local_cloud.client("cloudwatch").describe_alarms(
        AlarmNamePrefix=f"{DEFAULT_STACK_NAME}-{MODEL}-"
    )
    names = {a["AlarmName"] for a in alarms["MetricAlarms"] + alarms["CompositeAlarms"]}
    assert {_alarm("drift"), _alarm("quality"), _alarm("freshness"), _alarm("data_drift")} <= names


# --- S3 triggers -----------------------------------------------------------------------------
def test_upload_to_a_trigger_prefix_runs_the_matching_real_handler(local_cloud: LocalCloud) -> None:
    before = len(local_cloud.invocations)
    key = f"inference/{MODEL}/e2e batch 1.csv"  # a space: S3 events carry it URL-encoded
    uploaded = local_cloud.upload(key, b"id,x\n1,2\n")

    runs = _new_invocations(local_cloud, before)
    assert [(r.function, r.trigger, r.invocation_type) for r in runs] == [
        ("MonitorBatchFunction", "s3", "Event")
    ]
    run = runs[0]
    assert run.ok, run.error_message
    record = run.event["Records"][0]["s3"]
    assert record["object"]["key"] == "inference/credit-default/e2e+batch+1.csv"
    assert record["object"]["versionId"] == uploaded["version_id"]
    # the real monitor_batch decided something about this batch and left its evidence in S3
    result = json.dumps(run.result)
    assert "e2e" in result
    log = local_cloud.logs("monitor_batch")
    assert f"START RequestId: {run.request_id}" in log and f"END RequestId: {run.request_id}" in log
    group = f"/aws/lambda/{local_cloud.function_name('monitor_batch')}"
    copied = local_cloud.client("logs").filter_log_events(logGroupName=group)["events"]
    assert any("batch" in e["message"] for e in copied), "a copy lands in CloudWatch Logs (aws logs tail)"


def test_an_object_under_an_unknown_prefix_triggers_nothing_and_is_kept(local_cloud: LocalCloud) -> None:
    before = len(local_cloud.invocations)
    local_cloud.upload("misc/notes.txt", b"keep me")
    assert _new_invocations(local_cloud, before) == []
    body = local_cloud.client("s3").get_object(Bucket=local_cloud.data_bucket, Key="misc/notes.txt")["Body"]
    assert body.read() == b"keep me"


# --- schedules -------------------------------------------------------------------------------
def test_a_fired_schedule_runs_its_function_with_the_rule_input(local_cloud: LocalCloud) -> None:
    before = len(local_cloud.invocations)
    fired = local_cloud.fire_schedule("run_audit")
    assert len(fired) == 1 and fired[0].schedule == "rate(1 day)"
    runs = _new_invocations(local_cloud, before)
    assert [r.function for r in runs] == ["RunAuditFunction"]
    assert runs[0].trigger == f"schedule:{fired[0].rule_name}"
    assert runs[0].event == {"action": "run_audit"}
    assert runs[0].ok, runs[0].error_message


def test_a_schedule_without_input_delivers_the_scheduled_event_envelope(
    local_cloud: LocalCloud, recorder: Recorder
) -> None:
    events = local_cloud.client("events")
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{local_cloud.function_name('check_window')}"
    events.put_rule(Name="e2e-every-5-minutes", ScheduleExpression="rate(5 minutes)")
    events.put_targets(Rule="e2e-every-5-minutes", Targets=[{"Id": "fn", "Arn": arn}])
    with local_cloud.code_override("check_window", recorder.folder):
        local_cloud.fire_schedule("e2e-every-5-minutes")
    (call,) = recorder.calls
    event = call["event"]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["version"] == "0" and event["resources"] == [
        "arn:aws:events:us-east-1:123456789012:rule/e2e-every-5-minutes"
    ]
    assert call["env"]["AWS_LAMBDA_FUNCTION_NAME"] == local_cloud.function_name("check_window")
    assert call["env"]["DATA_BUCKET"] == local_cloud.data_bucket, "the function's Environment applies"
    assert call["env"]["AWS_ENDPOINT_URL"] is None, "in-process mode talks to moto without an endpoint"
    with pytest.raises(LookupError):
        local_cloud.fire_schedule("no-such-schedule")


# --- alarms ----------------------------------------------------------------------------------
def _put_episode(cloud: LocalCloud, value: float) -> None:
    """What observe_batch publishes: EpisodeOpen 1 while the drift episode is open, 0 once closed."""
    cloud.client("cloudwatch").put_metric_data(
        Namespace="ModelSteward",
        MetricData=[
            {
                "MetricName": "EpisodeOpen",
                "Dimensions": [{"Name": "model", "Value": MODEL}, {"Name": "signal", "Value": "drift"}],
                "Value": value,
                "Timestamp": cloud.now,
            }
        ],
    )


def test_an_open_episode_alarms_and_notifies_its_topic_subscribers(
    local_cloud: LocalCloud, recorder: Recorder
) -> None:
    """EpisodeOpen{signal=drift} -> drift alarm (1 of 1) -> alarms topic -> handle_alarm (here the
    recorder, parsing the event strictly) and an email subscriber (added like a user would); the
    composite data_drift follows its child but has no actions of its own."""
    cloud = local_cloud
    watched = {_alarm("drift"), _alarm("data_drift")}  # other tests' alarms may change meanwhile
    sns_client = cloud.client("sns")
    oncall = sns_client.subscribe(
        TopicArn=cloud.outputs["AlarmsTopicArn"],
        Protocol="email",
        Endpoint="oncall@example.com",
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    assert cloud.alarm_state(_alarm("drift")) in {"OK", "INSUFFICIENT_DATA"}
    try:
        with cloud.code_override("handle_alarm", recorder.folder):
            _put_episode(cloud, 0.0)  # a batch that opened nothing
            cloud.advance(minutes=1)
            assert [c.new_state for c in cloud.evaluate_alarms() if c.alarm_name in watched] in (
                [],
                ["OK"],
                ["OK", "OK"],
            )
            recorder.clear()
            sent_before = len(cloud.outbox_messages())
            cloud.advance(minutes=1)
            _put_episode(cloud, 1.0)
            changes = [c for c in cloud.evaluate_alarms() if c.alarm_name in watched]
    finally:
        sns_client.unsubscribe(SubscriptionArn=oncall)
    assert [(c.alarm_name, c.new_state) for c in changes] == [
        (_alarm("drift"), "ALARM"),
        (_alarm("data_drift"), "ALARM"),
    ]
    # the child notifies the alarms topic; the composite is the family's view only
    assert changes[0].actions == (cloud.outputs["AlarmsTopicArn"],) and changes[1].actions == ()
    (call,) = [c for c in recorder.calls if c.get("alarms")]
    (notification,) = call["alarms"]  # parsed strictly with Powertools' SnsEnvelope
    assert notification["AlarmName"] == _alarm("drift")
    assert notification["NewStateValue"] == "ALARM"
    assert notification["Region"] == "US East (N. Virginia)"
    sns = call["event"]["Records"][0]["Sns"]
    assert sns["TopicArn"] == cloud.outputs["AlarmsTopicArn"]
    assert sns["Subject"] == f'ALARM: "{_alarm("drift")}" in US East (N. Virginia)'
    emails = [m for m in cloud.outbox_messages()[sent_before:] if m.to == "oncall@example.com"]
    assert [m.subject for m in emails] == [sns["Subject"]]
    text = emails[0].path.read_text()
    assert "has entered the ALARM state" in text and "EpisodeOpen" in text
    assert [h.alarm_name for h in cloud.alarm_history if h.alarm_name in watched][-2:] == [
        _alarm("drift"),
        _alarm("data_drift"),
    ]

    # the episode closes: OK again, child and composite
    cloud.advance(minutes=1)
    _put_episode(cloud, 0.0)
    changes = [c for c in cloud.evaluate_alarms() if c.alarm_name in watched]
    assert {(c.alarm_name, c.new_state) for c in changes} == {
        (_alarm("drift"), "OK"),
        (_alarm("data_drift"), "OK"),
    }


def test_an_alarm_set_by_hand_runs_the_real_handle_alarm_which_emails_people(local_cloud: LocalCloud) -> None:
    """The operator's check from docs/operations.md: set-alarm-state reaches the real handler."""
    cloud = local_cloud
    before, sent_before = len(cloud.invocations), len(cloud.outbox_messages())
    cloud.client("cloudwatch").set_alarm_state(
        AlarmName=_alarm("quality"), StateValue="ALARM", StateReason="test"
    )
    assert cloud.alarm_state(_alarm("quality")) == "ALARM"
    runs = [r for r in _new_invocations(cloud, before) if r.function == "HandleAlarmFunction"]
    assert runs and runs[0].trigger == "sns" and runs[0].ok, runs and runs[0].error_message
    emails = [m for m in cloud.outbox_messages()[sent_before:] if m.to == "ops@example.com"]
    assert any("quality" in m.subject + m.body for m in emails), [m.subject for m in emails]


def test_emf_lines_printed_by_a_handler_become_metrics_at_simulated_time(
    local_cloud: LocalCloud, recorder: Recorder
) -> None:
    cloud = local_cloud
    cloud.advance(minutes=30)
    emf = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": "E2E",
                    "Dimensions": [["model"]],
                    "Metrics": [{"Name": "Rows", "Unit": "Count"}],
                }
            ],
        },
        "model": MODEL,
        "Rows": [3, 4],
    }
    with cloud.code_override("check_window", recorder.folder):
        assert cloud.invoke("check_window", {"emf": emf}).ok
    stats = cloud.client("cloudwatch").get_metric_statistics(
        Namespace="E2E",
        MetricName="Rows",
        Dimensions=[{"Name": "model", "Value": MODEL}],
        StartTime=cloud.now.replace(second=0, microsecond=0) - dt.timedelta(minutes=1),
        EndTime=cloud.now + dt.timedelta(minutes=1),
        Period=60,
        Statistics=["Sum"],
    )
    assert [p["Sum"] for p in stats["Datapoints"]] == [7.0], "EMF values land at the simulated now"


def test_emf_parser_follows_the_specification() -> None:
    line = json.dumps(
        {
            "_aws": {
                "Timestamp": 1700000000000,
                "CloudWatchMetrics": [
                    {
                        "Namespace": "NS",
                        "Dimensions": [["model"], ["model", "feature"]],
                        "Metrics": [{"Name": "Score", "Unit": "None"}, {"Name": "Missing"}],
                    }
                ],
            },
            "model": "m",
            "feature": "f",
            "Score": 0.5,
        }
    )
    metrics = parse_emf_line(line)
    assert [(m.name, m.dimensions, m.values) for m in metrics] == [
        ("Score", (("model", "m"),), (0.5,)),
        ("Score", (("model", "m"), ("feature", "f")), (0.5,)),
    ]
    assert parse_emf_line('{"level": "INFO", "message": "not a metric"}') == []
    assert parse_emf_line("plain text") == []


def test_messages_for_people_land_in_the_outbox_once_per_subscriber(local_cloud: LocalCloud) -> None:
    cloud = local_cloud
    before = len(cloud.outbox_messages())
    cloud.client("sns").publish(
        TopicArn=cloud.outputs["NotificationsTopicArn"],
        Subject="Model awaiting approval",
        Message="credit-default v2 beat the champion; approve with `steward models approve`.",
    )
    (email,) = cloud.outbox_messages()[before:]
    assert (email.to, email.subject) == ("ops@example.com", "Model awaiting approval")
    assert email.path.parent == cloud.state_dir / "outbox" and email.path.name.endswith(
        f"-{cloud.outputs['NotificationsTopicArn'].rsplit(':', 1)[-1]}-{before + 1:04d}.txt"
    )
    text = email.path.read_text()
    assert "Subject: Model awaiting approval" in text and "steward models approve" in text


def test_rate_expressions_drive_local_up_schedules() -> None:
    assert rate_of("rate(1 hour)") == dt.timedelta(hours=1)
    assert rate_of("rate(5 minutes)") == dt.timedelta(minutes=5)
    assert rate_of("rate(1 day)") == dt.timedelta(days=1)
    assert rate_of("cron(0 12 * * ? *)") is None and rate_of("rate(five minutes)") is None


# --- failures ----------------------------------------------------------------------------------
def test_a_failing_async_invocation_is_retried_then_dead_lettered_and_alarmed(
    local_cloud: LocalCloud, recorder: Recorder
) -> None:
    cloud = local_cloud
    function = cloud.function_name("check_window")
    payload = {"fail": True, "marker": "e2e-dlq"}
    with cloud.code_override("check_window", recorder.folder):
        response = cloud.client("lambda").invoke(
            FunctionName=function, InvocationType="Event", Payload=json.dumps(payload).encode()
        )
    assert response["StatusCode"] == 202
    assert len(recorder.calls) == 3, "1 attempt + MaximumRetryAttempts 2"
    run = cloud.invocations_of("check_window")[-1]
    assert (run.ok, run.attempts, run.error_type) == (False, 3, "RuntimeError")
    assert run.sent_to == cloud.outputs["DeadLetterQueueArn"]
    sqs = cloud.client("sqs")
    messages = sqs.receive_message(QueueUrl=cloud.outputs["DeadLetterQueueUrl"], MaxNumberOfMessages=10)
    bodies = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
    (record,) = [b for b in bodies if b.get("requestPayload") == payload]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    for message in messages.get("Messages", []):  # back on the queue for the depth alarm below
        sqs.change_message_visibility(
            QueueUrl=cloud.outputs["DeadLetterQueueUrl"],
            ReceiptHandle=message["ReceiptHandle"],
            VisibilityTimeout=0,
        )
    changes = {(c.alarm_name, c.new_state) for c in cloud.evaluate_alarms()}
    errors = f"{DEFAULT_STACK_NAME}-ops-check_window-errors"
    assert (errors, "ALARM") in changes, "AWS/Lambda Errors are published"
    assert (f"{DEFAULT_STACK_NAME}-ops-dlq-depth", "ALARM") in changes, "AWS/SQS queue depth is sampled"


def test_a_synchronous_invoke_returns_the_handler_result(local_cloud: LocalCloud, recorder: Recorder) -> None:
    cloud = local_cloud
    with cloud.code_override("check_window", recorder.folder):
        response = cloud.client("lambda").invoke(
            FunctionName=cloud.function_name("check_window"), Payload=b"{}"
        )
        failed = cloud.client("lambda").invoke(
            FunctionName=cloud.function_name("check_window"), Payload=b'{"fail": true}'
        )
    assert json.loads(response["Payload"].read()) == {
        "recorded": True,
        "function": cloud.function_name("check_window"),
    }
    assert "FunctionError" in failed and json.loads(failed["Payload"].read())["errorType"] == "RuntimeError"
    assert [c["remaining_ms"] > 0 for c in recorder.calls] == [True, True], "synchronous: no retry"


def test_only_one_local_cloud_runs_per_process(local_cloud: LocalCloud, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="another LocalCloud"):
        LocalCloud(template=TEMPLATE, state_dir=tmp_path).start()


# --- `steward local up` ------------------------------------------------------------------------
def _read_until_ready(process: subprocess.Popen[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        if line.startswith("READY "):
            return line.split()[1]
    raise AssertionError("local up did not become ready:\n" + "".join(seen))


@pytest.mark.slow
def test_local_up_serves_the_stack_to_boto3_and_runs_handlers(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_ENDPOINT_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stewardtools.cli.main",
            "local",
            "up",
            "--port",
            "0",
            "--state-dir",
            str(state),
            "--models",
            MODEL,
            "--alarm-interval",
            "1",
            "--template",
            str(TEMPLATE),
            "--parameter-overrides",
            "ScaleOutBytes=1048576",
            "LogRetentionDays=7",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        endpoint = _read_until_ready(process, timeout=120)
        assert endpoint.startswith("http://127.0.0.1:")
        stack = json.loads((state / "stack.json").read_text())
        assert stack["parameters"]["ScaleOutBytes"] == "1048576"  # as `sam deploy --parameter-overrides`
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        bucket = stack["outputs"]["DataBucketName"]
        s3.put_object(Bucket=bucket, Key=f"inference/{MODEL}/served.csv", Body=b"id,x\n1,2\n")
        records: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not records:
            path = state / "logs" / "invocations.jsonl"
            if path.is_file():
                records = [json.loads(line) for line in path.read_text().splitlines()]
            time.sleep(0.2)
        assert [(r["function"], r["trigger"]) for r in records] == [("MonitorBatchFunction", "s3")]
        log = (state / "logs" / "monitor_batch.log").read_text()
        assert "served" in log, "the handler's own log line names the batch"
        written = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        written += [
            o["Key"]
            for o in s3.list_objects_v2(Bucket=stack["outputs"]["ArtifactsBucketName"]).get("Contents", [])
        ]
        assert any("served" in key and not key.startswith("inference/") for key in written), written
        # a day passes on the running cloud: the hourly and daily schedules fire, alarms evaluate
        advanced = subprocess.run(
            [
                sys.executable,
                "-m",
                "stewardtools.cli.main",
                "local",
                "advance",
                "--hours",
                "25",
                "--state-dir",
                str(state),
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert advanced.returncode == 0, advanced.stdout + advanced.stderr
        assert "25 h passed; the local cloud's clock is now" in advanced.stdout
        fired = [line for line in advanced.stdout.splitlines() if "schedule fired:" in line]
        assert sum("CheckWindow" in line for line in fired) >= 24, advanced.stdout  # hourly
        assert any("RunAudit" in line for line in fired), advanced.stdout  # daily
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, output
    assert "stopped" in output

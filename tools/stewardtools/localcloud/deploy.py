"""The local cloud: the real template.yaml deployed into moto, with handlers running in-process.

``LocalCloud`` is what ``steward demo``, ``steward local up`` and the e2e tests use::

    with LocalCloud(models=["credit-default"]) as cloud:
        cloud.upload("inference/credit-default/batch.csv", Path("batch.csv"))  # runs monitor_batch
        cloud.advance(minutes=5)
        cloud.evaluate_alarms()          # ALARM -> SNS -> email (outbox) + handle_alarm
        cloud.fire_schedule("check_window")
        print(cloud.logs("monitor_batch"), cloud.outbox_messages())

Deploying means: start moto (in-process ``mock_aws``, or a ``ThreadedMotoServer`` on
127.0.0.1 when serving), translate the SAM template offline (:mod:`.translate`), create the
CloudFormation stack in moto, then apply through the API what moto's CloudFormation ignores
(see docs/local-cloud.md for the list), and hook moto so that functions run
(:mod:`.runtime`), SNS deliveries look like AWS's (:mod:`.sns_delivery`, :mod:`.outbox`) and
alarms are evaluated and act (:mod:`.alarm_engine`).

State (logs, invocation records, outbox, alarm history, stack.json) lives in ``state_dir``
(default ``.steward/local`` under the working directory); its known sub-folders are emptied at
each deploy, so every run starts clean.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import json
import logging
import os
import shutil
import socket
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from modelsteward import clock as suite_clock
from modelsteward.errors import ConfigError, StorageError
from stewardtools.localcloud import alarm_engine, runtime, sns_delivery
from stewardtools.localcloud.alarm_engine import AlarmChange, AlarmEngine
from stewardtools.localcloud.clock import SimulatedClock
from stewardtools.localcloud.emf import EmfBridge
from stewardtools.localcloud.outbox import Outbox, OutboxMessage
from stewardtools.localcloud.resolve import StackContext
from stewardtools.localcloud.runtime import (
    DEFAULT_MAX_RETRY_ATTEMPTS,
    FunctionSpec,
    Invocation,
    LambdaRuntime,
)
from stewardtools.localcloud.scheduler import ScheduledTarget, ScheduleTracker, fire_schedule
from stewardtools.localcloud.translate import CODE_URI_METADATA, LOCAL_CODE_BUCKET, load_template, translate

log = logging.getLogger(__name__)

DEFAULT_STACK_NAME = "model-steward"
DEFAULT_REGION = "us-east-1"
DEFAULT_ALERT_EMAIL = "ops@example.com"
ACCOUNT_ID = "123456789012"  # moto's default account
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",  # nosec B105 - moto's fake credentials, local only
    "AWS_SESSION_TOKEN": "test",  # nosec B105 - moto's fake credentials, local only
}
STATE_SUBDIRS = ("logs", "outbox", "alarms", "objects")
_RUNNING: LocalCloud | None = None


def default_template() -> Path:
    """template.yaml in the working directory, else the one of this source checkout."""
    here = Path.cwd() / "template.yaml"
    if here.is_file():
        return here
    checkout = Path(__file__).resolve().parents[3] / "template.yaml"
    if checkout.is_file():
        return checkout
    raise ConfigError("template.yaml not found: run from the project folder or pass template=")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    """ThreadedMotoServer hangs on a busy port instead of failing: check first.

    The probe binds as the server does, with SO_REUSEADDR (werkzeug sets it): a port whose only
    sockets are in TIME_WAIT (a `steward local up` killed a moment ago) is free, one that something
    listens on is not."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


class LocalCloud:
    """The stack on moto; a context manager (``start()`` / ``stop()`` also work)."""

    def __init__(
        self,
        *,
        template: Path | None = None,
        stack_name: str = DEFAULT_STACK_NAME,
        region: str = DEFAULT_REGION,
        stage: str = "local",
        alert_email: str = DEFAULT_ALERT_EMAIL,
        models: Sequence[str] | str | None = None,
        parameters: Mapping[str, str] | None = None,
        state_dir: Path | None = None,
        serve: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        code_overrides: Mapping[str, Path] | None = None,
        clock: SimulatedClock | None = None,
        settle_alarms: bool = True,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.template_path = Path(template) if template else default_template()
        self.stack_name = stack_name
        self.region = region
        self.account_id = ACCOUNT_ID
        self.serve = serve
        self.host = host
        self.port = port
        self.state_dir = (state_dir or self.default_state_dir()).resolve()
        self.code_overrides = {key: Path(value) for key, value in (code_overrides or {}).items()}
        self.clock = clock or SimulatedClock(frozen=not serve)
        self.settle_alarms = settle_alarms
        self._echo = echo
        model_list = [models] if isinstance(models, str) else list(models or [])
        self.parameters: dict[str, str] = {"Stage": stage, "AlertEmail": alert_email}
        if model_list:
            self.parameters["MonitoredModels"] = ",".join(m.strip() for m in model_list if m.strip())
        self.parameters.update(parameters or {})
        self.outputs: dict[str, str] = {}
        self.resources: dict[str, str] = {}
        self.stack_id = ""
        self.state_machines: Any = None  # localcloud.stepfunctions.LocalStateMachines once deployed
        self.endpoint_url: str | None = None
        self.translated: dict[str, Any] = {}
        self._clients: dict[str, Any] = {}
        self._saved_env: dict[str, str | None] = {}
        self._mock: Any = None
        self._server: Any = None
        self._runtime: LambdaRuntime | None = None
        self._engine: AlarmEngine | None = None
        self._outbox: Outbox | None = None
        self._started = False
        self._start_lock = threading.Lock()
        self._invoke_configs: dict[str, dict[str, Any]] = {}
        self._template_code_dirs: dict[str, Path] = {}
        self.alarm_names: dict[str, str] = {}

    @staticmethod
    def default_state_dir() -> Path:
        return Path.cwd() / ".steward" / "local"

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> LocalCloud:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalCloud:
        global _RUNNING
        with self._start_lock:
            if self._started:
                return self
            if _RUNNING is not None and _RUNNING is not self:
                raise ConfigError(
                    "another LocalCloud is running in this process (moto's state and the handler hooks "
                    "are process-wide): stop it first"
                )
            _RUNNING = self
            self._prepare_state_dir()
            self._set_environment()
            try:
                self._start_moto()
                # handlers run here: their utcnow() (cooldowns, windows, audit stamps) follows advance()
                suite_clock.set_clock(self.clock.now)
                with warnings_quiet():
                    self._deploy()
            except BaseException:
                self._teardown()
                _RUNNING = None
                raise
            self._started = True
        return self

    def stop(self) -> None:
        global _RUNNING
        with self._start_lock:
            self._teardown()
            self._started = False
            if _RUNNING is self:
                _RUNNING = None

    def _teardown(self) -> None:
        if self._runtime is not None:
            self._runtime.stop()
            self._runtime = None
        alarm_engine.uninstall()
        sns_delivery.uninstall()
        from stewardtools.localcloud import stepfunctions

        stepfunctions.activate(None)
        runtime.uninstall()
        if self._server is not None:
            with contextlib.suppress(Exception):
                self._server.stop()
            self._server = None
        if self._mock is not None:
            with contextlib.suppress(Exception):
                self._mock.stop()
            self._mock = None
        self._clients.clear()
        suite_clock.set_clock(None)
        self._restore_environment()

    def _prepare_state_dir(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for name in STATE_SUBDIRS:
            shutil.rmtree(self.state_dir / name, ignore_errors=True)
            (self.state_dir / name).mkdir()
        (self.state_dir / "stack.json").unlink(missing_ok=True)

    def _set_environment(self) -> None:
        values: dict[str, str | None] = {
            **FAKE_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": None,
        }
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _restore_environment(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def _start_moto(self) -> None:
        if self.serve:
            from moto.server import ThreadedMotoServer

            self.port = self.port or free_port(self.host)
            if not port_is_free(self.host, self.port):
                raise ConfigError(f"port {self.port} on {self.host} is in use (0 = any free port)")
            logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
            self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
            self._server.start()
            self.endpoint_url = f"http://{self.host}:{self.port}"
        else:
            from moto import mock_aws

            self._mock = mock_aws()
            self._mock.start()

    # -- clients --------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        """A boto3 client on this local cloud (endpoint set when serving)."""
        cached = self._clients.get(service)
        if cached is None:
            import boto3

            cached = boto3.client(  # type: ignore[call-overload]
                service,
                region_name=self.region,
                endpoint_url=self.endpoint_url,
                aws_access_key_id="test",
                aws_secret_access_key="test",  # noqa: S106  # nosec B106 - moto's fake keys
            )
            self._clients[service] = cached
        return cached

    # -- deploy ---------------------------------------------------------------------------------
    def _deploy(self) -> None:
        template = load_template(self.template_path)
        self.translated = translate(template, region=self.region, parameters=self.parameters)
        self._upload_code_placeholders()
        self._create_stack()
        ctx = StackContext(
            template=self.translated,
            parameters=self.parameters,
            physical_ids=self.resources,
            stack_name=self.stack_name,
            region=self.region,
            account_id=self.account_id,
            stack_id=self.stack_id,
        )
        self._fix_layer_references(ctx)
        self._start_services()
        assert self._engine is not None
        with self._engine.muted():
            self._apply_buckets(ctx)
            self._apply_tables(ctx)
            self._apply_subscriptions(ctx)
            self._apply_policies(ctx)
            self._apply_event_invoke_configs(ctx)
            self._register_functions(ctx)
            self._register_state_machines(ctx)
            self._apply_alarms(ctx)
            if self.settle_alarms:
                self._engine.evaluate()
        self._write_stack_file()

    def _upload_code_placeholders(self) -> None:
        """moto reads each function's and layer's code object: a tiny zip stands in for it."""
        s3 = self.client("s3")
        s3.create_bucket(Bucket=LOCAL_CODE_BUCKET)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("LOCAL-CLOUD.txt", "code runs from the source folder, not from this zip\n")
        keys = set()
        for resource in self.translated.get("Resources", {}).values():
            props = resource.get("Properties", {})
            location = props.get("Code") or props.get("Content")
            if isinstance(location, dict) and location.get("S3Bucket") == LOCAL_CODE_BUCKET:
                keys.add(str(location["S3Key"]))
        for key in sorted(keys):
            s3.put_object(Bucket=LOCAL_CODE_BUCKET, Key=key, Body=buffer.getvalue())

    def _create_stack(self) -> None:
        cloudformation = self.client("cloudformation")
        cloudformation.create_stack(
            StackName=self.stack_name,
            TemplateBody=json.dumps(self.translated),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        stack = cloudformation.describe_stacks(StackName=self.stack_name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise StorageError(
                f"local stack {self.stack_name}: {stack['StackStatus']} {stack.get('StackStatusReason', '')}"
            )
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        self.stack_id = str(stack["StackId"])  # bucket names carry part of it (template.yaml)
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=self.stack_name):
            for item in page["StackResourceSummaries"]:
                if item.get("PhysicalResourceId"):
                    self.resources[item["LogicalResourceId"]] = item["PhysicalResourceId"]

    def _fix_layer_references(self, ctx: StackContext) -> None:
        """moto's CloudFormation gives layer versions no physical id (outputs read "<moto...>"): look
        their ARNs up and re-resolve the outputs that refer to them."""
        lambda_ = self.client("lambda")
        layers = lambda_.list_layers().get("Layers", [])
        for logical_id, _resource in self._resources_of(ctx, "AWS::Lambda::LayerVersion"):
            # moto names the layer <stack>-<logical id>-<suffix>, whatever LayerName says
            for layer in layers:
                if f"-{logical_id}-" in layer["LayerName"] or layer["LayerName"].endswith(f"-{logical_id}"):
                    self.resources[logical_id] = layer["LatestMatchingVersion"]["LayerVersionArn"]
        for key, output in self.translated.get("Outputs", {}).items():
            if str(self.outputs.get(key, "")).startswith("<moto"):
                with _best_effort(f"output {key}"):
                    self.outputs[key] = str(ctx.resolve(output["Value"]))

    def _start_services(self) -> None:
        objects = (self.state_dir / "objects").resolve()
        self._outbox = Outbox(self.state_dir / "outbox", objects=objects, fetch=self._local_object)
        bridge = EmfBridge(self.client("cloudwatch"), self.clock)
        self._runtime = LambdaRuntime(
            log_dir=self.state_dir / "logs",
            clock=self.clock,
            region=self.region,
            emf=bridge,
            endpoint_url=self.endpoint_url,
            async_mode="background" if self.serve else "inline",
            client_factory=self.client,
            echo=self._echo,
        )
        self._runtime.start()
        sns_delivery.activate(
            sns_delivery.SnsDelivery(self._outbox, self.clock, self._runtime.handles, self.region)
        )
        self._engine = AlarmEngine(
            client_factory=self.client,
            clock=self.clock,
            account_id=self.account_id,
            region=self.region,
            history_path=self.state_dir / "alarms" / "history.jsonl",
            invoke_lambda=lambda arn, event: self._require_runtime().invoke_async(arn, event, "cloudwatch"),
        )
        alarm_engine.activate(self._engine)

    def _resources_of(self, ctx: StackContext, *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in self.translated.get("Resources", {}).items():
            if resource.get("Type") in types and ctx.resource_enabled(logical_id):
                yield logical_id, resource

    def _apply_buckets(self, ctx: StackContext) -> None:
        s3 = self.client("s3")
        for logical_id, resource in self._resources_of(ctx, "AWS::S3::Bucket"):
            bucket = self.resources[logical_id]
            props = ctx.resolve(resource.get("Properties", {}))
            if props.get("ObjectLockEnabled") in (True, "true", "True"):
                self._ensure_object_lock(bucket, props)
            if "VersioningConfiguration" in props:
                s3.put_bucket_versioning(
                    Bucket=bucket,
                    VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]},
                )
            encryption = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration")
            if encryption:
                rules = [
                    {
                        "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                        **(
                            {"BucketKeyEnabled": bool(rule["BucketKeyEnabled"])}
                            if "BucketKeyEnabled" in rule
                            else {}
                        ),
                    }
                    for rule in encryption
                ]
                s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": rules})
            if "PublicAccessBlockConfiguration" in props:
                block = {k: bool(v) for k, v in props["PublicAccessBlockConfiguration"].items()}
                s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=block)
            if "OwnershipControls" in props:
                with _best_effort(f"ownership controls of {bucket}"):
                    s3.put_bucket_ownership_controls(
                        Bucket=bucket, OwnershipControls=props["OwnershipControls"]
                    )
            if "LifecycleConfiguration" in props:
                with _best_effort(f"lifecycle of {bucket}"):
                    s3.put_bucket_lifecycle_configuration(
                        Bucket=bucket,
                        LifecycleConfiguration={"Rules": _lifecycle_rules(props["LifecycleConfiguration"])},
                    )
            if "NotificationConfiguration" in props:
                s3.put_bucket_notification_configuration(
                    Bucket=bucket,
                    NotificationConfiguration=_notification_configuration(props["NotificationConfiguration"]),
                )

    def _ensure_object_lock(self, bucket: str, props: Mapping[str, Any]) -> None:
        """moto's CloudFormation ignores ObjectLockEnabled, and Object Lock can only be switched on
        when a bucket is created: the (still empty) bucket is re-created with it, same name."""
        s3 = self.client("s3")
        try:
            s3.get_object_lock_configuration(Bucket=bucket)
        except s3.exceptions.ClientError:
            if s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0):
                raise StorageError(
                    f"bucket {bucket} has objects; cannot re-create it with Object Lock"
                ) from None
            s3.delete_bucket(Bucket=bucket)
            kwargs: dict[str, Any] = {"Bucket": bucket, "ObjectLockEnabledForBucket": True}
            if self.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            s3.create_bucket(**kwargs)
        configuration = props.get("ObjectLockConfiguration")
        if configuration:
            lock: dict[str, Any] = {"ObjectLockEnabled": configuration.get("ObjectLockEnabled", "Enabled")}
            retention = configuration.get("Rule", {}).get("DefaultRetention")
            if retention:
                lock["Rule"] = {
                    "DefaultRetention": {
                        key: (int(value) if key in ("Days", "Years") else value)
                        for key, value in retention.items()
                    }
                }
            s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=lock)

    def _apply_tables(self, ctx: StackContext) -> None:
        dynamodb = self.client("dynamodb")
        for logical_id, resource in self._resources_of(ctx, "AWS::DynamoDB::Table"):
            ttl = ctx.resolve(resource.get("Properties", {})).get("TimeToLiveSpecification")
            if ttl and ttl.get("Enabled") in (True, "true"):
                with _best_effort(f"TTL of {logical_id}"):
                    dynamodb.update_time_to_live(
                        TableName=self.resources[logical_id],
                        TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
                    )

    def _apply_subscriptions(self, ctx: StackContext) -> None:
        sns = self.client("sns")
        for _logical_id, resource in self._resources_of(ctx, "AWS::SNS::Subscription"):
            props = ctx.resolve(resource["Properties"])
            attributes = {
                key: json.dumps(props[key])
                if isinstance(props[key], dict)
                else str(props[key]).lower()
                if isinstance(props[key], bool)
                else str(props[key])
                for key in ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy")
                if key in props
            }
            sns.subscribe(
                TopicArn=props["TopicArn"],
                Protocol=props["Protocol"],
                Endpoint=props["Endpoint"],
                Attributes=attributes,
                ReturnSubscriptionArn=True,
            )

    def _apply_policies(self, ctx: StackContext) -> None:
        """Topic and queue policies are stored (moto does not enforce them). Bucket policies are not
        applied: moto enforces Deny statements but cannot evaluate conditions such as
        aws:SecureTransport, so the template's TLS-only policies would refuse every local request."""
        sns, sqs = self.client("sns"), self.client("sqs")
        for logical_id, resource in self._resources_of(ctx, "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"):
            props = ctx.resolve(resource["Properties"])
            document = json.dumps(props["PolicyDocument"])
            with _best_effort(f"policy {logical_id}"):
                if resource["Type"] == "AWS::SNS::TopicPolicy":
                    for topic in props["Topics"]:
                        sns.set_topic_attributes(
                            TopicArn=topic, AttributeName="Policy", AttributeValue=document
                        )
                else:
                    for queue in props["Queues"]:
                        sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": document})

    def _apply_event_invoke_configs(self, ctx: StackContext) -> None:
        lambda_ = self.client("lambda")
        for _logical_id, resource in self._resources_of(ctx, "AWS::Lambda::EventInvokeConfig"):
            props = ctx.resolve(resource["Properties"])
            name = props["FunctionName"]
            self._invoke_configs[name] = props
            config = {
                k: props[k]
                for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
                if k in props
            }
            for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
                if key in config:
                    config[key] = int(config[key])
            with _best_effort(f"event invoke config of {name}"):
                lambda_.put_function_event_invoke_config(FunctionName=name, **config)

    def _register_functions(self, ctx: StackContext) -> None:
        runtime_ = self._require_runtime()
        base = self.template_path.parent
        for logical_id, resource in self._resources_of(ctx, "AWS::Lambda::Function"):
            raw = resource.get("Properties", {})
            props = {
                key: ctx.resolve(raw[key])
                for key in ("Handler", "MemorySize", "Timeout", "DeadLetterConfig")
                if key in raw
            }
            name = self.resources[logical_id]
            code_uri = resource.get("Metadata", {}).get(CODE_URI_METADATA)
            override = self.code_overrides.get(logical_id)
            if override is None and code_uri is None:
                log.warning("function %s has no local code folder; it keeps moto's behaviour", logical_id)
                continue
            code_dir = (override or base / str(code_uri)).resolve()
            if code_uri is not None:
                self._template_code_dirs[logical_id] = (base / str(code_uri)).resolve()
            config = self._invoke_configs.get(name, {})
            runtime_.register(
                FunctionSpec(
                    logical_id=logical_id,
                    function_name=name,
                    function_arn=f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}",
                    code_dir=code_dir,
                    handler=str(props.get("Handler") or "app.handler"),
                    memory_mb=int(props.get("MemorySize", 128)),
                    timeout_s=int(props.get("Timeout", 3)),
                    max_retry_attempts=int(config.get("MaximumRetryAttempts", DEFAULT_MAX_RETRY_ATTEMPTS)),
                    on_failure=config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"),
                    dead_letter=props.get("DeadLetterConfig", {}).get("TargetArn"),
                    short_name=Path(str(code_uri)).name if code_uri else logical_id,
                )
            )

    def _register_state_machines(self, ctx: StackContext) -> None:
        """Executions of the template's state machines run their real definitions locally
        (localcloud/stepfunctions.py: moto stores them but does not run them in-process)."""
        from stewardtools.localcloud import stepfunctions

        s3 = self.client("s3")
        self.state_machines = stepfunctions.LocalStateMachines(
            runtime=self._require_runtime(),
            read_s3=lambda bucket, key: s3.get_object(Bucket=bucket, Key=key)["Body"].read(),
        )
        for logical_id, resource in self._resources_of(ctx, *stepfunctions.STATE_MACHINE_TYPES):
            definition = stepfunctions.state_machine_definition(resource["Properties"], ctx.resolve)
            self.state_machines.register(self.resources[logical_id], definition)
        stepfunctions.activate(self.state_machines)

    def _apply_alarms(self, ctx: StackContext) -> None:
        cloudwatch = self.client("cloudwatch")
        metric = list(self._resources_of(ctx, "AWS::CloudWatch::Alarm"))
        composite = list(self._resources_of(ctx, "AWS::CloudWatch::CompositeAlarm"))
        for logical_id, resource in metric + composite:  # names first: rules and Refs name alarms
            name = resource.get("Properties", {}).get("AlarmName")
            ctx.extra_names[logical_id] = (
                str(ctx.resolve(name)) if name else f"{self.stack_name}-{logical_id}-LOCAL"
            )
        for logical_id, resource in metric:
            props = ctx.resolve(resource["Properties"])
            props["AlarmName"] = ctx.extra_names[logical_id]
            cloudwatch.put_metric_alarm(**_metric_alarm_arguments(props))
        for logical_id, resource in composite:
            props = ctx.resolve(resource["Properties"])
            props["AlarmName"] = ctx.extra_names[logical_id]
            allowed = (
                "AlarmName",
                "AlarmDescription",
                "AlarmRule",
                "ActionsEnabled",
                "AlarmActions",
                "OKActions",
                "InsufficientDataActions",
            )
            cloudwatch.put_composite_alarm(**{k: v for k, v in props.items() if k in allowed})
        self.alarm_names = dict(ctx.extra_names)

    def _write_stack_file(self) -> None:
        document = {
            "stack_name": self.stack_name,
            "region": self.region,
            "endpoint_url": self.endpoint_url,
            "outputs": self.outputs,
            "resources": self.resources,
            "parameters": self.parameters,
            "alarms": self.alarm_names,
            "state_dir": str(self.state_dir),
        }
        (self.state_dir / "stack.json").write_text(json.dumps(document, indent=2), encoding="utf-8")

    # -- using it -------------------------------------------------------------------------------
    def _require_runtime(self) -> LambdaRuntime:
        if self._runtime is None:
            raise ConfigError("the local cloud is not running (use it as a context manager or call start())")
        return self._runtime

    @property
    def data_bucket(self) -> str:
        return self.outputs["DataBucketName"]

    def upload(self, key: str, data: Path | bytes | str, *, bucket: str | None = None) -> dict[str, Any]:
        """Put an object (default: the data bucket); triggers whatever S3 notifications say.

        ``key`` ending in "/" with a file path appends the file's name (like ``aws s3 cp``).
        Returns bucket, key, version id and ETag.
        """
        target = bucket or self.data_bucket
        if isinstance(data, Path):
            if key.endswith("/"):
                key += data.name
            body = data.read_bytes()
        else:
            body = data.encode("utf-8") if isinstance(data, str) else data
        response = self.client("s3").put_object(Bucket=target, Key=key, Body=body)
        return {
            "bucket": target,
            "key": key,
            "version_id": response.get("VersionId"),
            "etag": response.get("ETag"),
        }

    @property
    def now(self) -> dt.datetime:
        return self.clock.now()

    def advance(self, minutes: float = 0.0, *, hours: float = 0.0, seconds: float = 0.0) -> dt.datetime:
        """Let simulated time pass (metric timestamps and alarm evaluation follow it)."""
        return self.clock.advance(minutes=minutes, hours=hours, seconds=seconds)

    def pass_time(
        self, hours: float, *, tracker: ScheduleTracker | None = None, step_hours: float = 1.0
    ) -> dict[str, Any]:
        """Let ``hours`` pass as they would on AWS: in steps of at most ``step_hours``, each step
        moves the clock (cooldowns and freshness age with it), fires the ``rate(...)`` schedules that
        fell due and evaluates the alarms. Returns what fired and what changed."""
        if hours <= 0:
            raise ConfigError("time only moves forward: give a positive number of hours")
        tracker = tracker or ScheduleTracker()
        tracker.due(self.client("events"), self.now)  # rules never seen before start counting now
        fired: list[str] = []
        changes: list[AlarmChange] = []
        left = hours
        while left > 1e-9:
            step = min(step_hours, left)
            self.advance(hours=step)
            left -= step
            for rule in tracker.due(self.client("events"), self.now):
                self.fire_schedule(rule)
                fired.append(rule)
            changes += self.evaluate_alarms()
        return {"now": self.now.isoformat(), "fired": fired, "alarm_changes": [c.summary() for c in changes]}

    def evaluate_alarms(self) -> list[AlarmChange]:
        """Evaluate every alarm now; returns the state changes (their actions have run)."""
        if self._engine is None:
            raise ConfigError("the local cloud is not running")
        changes = self._engine.evaluate()
        self.wait_idle()
        return changes

    @property
    def alarm_history(self) -> list[AlarmChange]:
        return list(self._engine.history) if self._engine else []

    def alarm_state(self, name: str) -> str:
        alarms = self.client("cloudwatch").describe_alarms(
            AlarmNames=[name], AlarmTypes=["MetricAlarm", "CompositeAlarm"]
        )
        found = alarms.get("MetricAlarms", []) + alarms.get("CompositeAlarms", [])
        if not found:
            raise KeyError(name)
        return str(found[0]["StateValue"])

    def fire_schedule(self, rule_or_function: str | None = None) -> list[ScheduledTarget]:
        """Fire scheduled rules (all, or by rule name / function) through the async path."""
        runtime_ = self._require_runtime()

        def matches(target_arn: str, select: str) -> bool:
            try:
                return runtime_.spec_for(target_arn) == runtime_.spec_for(select)
            except KeyError:
                return False

        fired = fire_schedule(
            self.client("events"),
            runtime_.invoke_async,
            self.clock,
            self.account_id,
            self.region,
            rule_or_function,
            matches,
        )
        self.wait_idle()
        return fired

    def invoke(self, function: str, event: Any) -> Invocation:
        """Run a function synchronously (RequestResponse) and return its record."""
        return self._require_runtime().invoke_sync(function, event)

    def wait_idle(self, timeout: float = 120.0) -> bool:
        """Wait until queued asynchronous invocations have run."""
        return self._require_runtime().wait_idle(timeout) if self._runtime else True

    @property
    def invocations(self) -> list[Invocation]:
        return list(self._runtime.invocations) if self._runtime else []

    def invocations_of(self, function: str) -> list[Invocation]:
        spec = self._require_runtime().spec_for(function)
        return [i for i in self.invocations if i.function == spec.logical_id]

    def function_name(self, function: str) -> str:
        return self._require_runtime().spec_for(function).function_name

    def override_code(self, function: str, code_dir: Path | None) -> Path:
        """Run ``function`` from another folder from now on (None = its template folder again).

        The hook for trying a handler change, or a test handler, without redeploying; returns the
        folder used before. ``LocalCloud(code_overrides={logical_id: folder})`` does the same at
        deploy time.
        """
        runtime_ = self._require_runtime()
        spec = runtime_.spec_for(function)
        template_dir = (self.template_path.parent / "functions" / spec.log_name).resolve()
        origin = self._template_code_dirs.setdefault(spec.logical_id, template_dir)
        runtime_.register(
            dataclasses.replace(spec, code_dir=Path(code_dir).resolve() if code_dir else origin)
        )
        runtime_.forget_modules()
        return spec.code_dir

    @contextlib.contextmanager
    def code_override(self, function: str, code_dir: Path) -> Iterator[None]:
        """``override_code`` for the duration of a ``with`` block."""
        previous = self.override_code(function, code_dir)
        try:
            yield
        finally:
            self.override_code(function, previous)

    def logs(self, function: str) -> str:
        """The captured log of a function (by logical id, physical name or folder name)."""
        spec = self._require_runtime().spec_for(function)
        path = self.state_dir / "logs" / f"{spec.log_name}.log"
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    def _local_object(self, bucket: str, key: str) -> bytes | None:
        """An object of the local S3, read in-process (the outbox copies what emails link to)."""
        from moto.s3.models import s3_backends

        try:
            found = s3_backends[self.account_id]["aws"].get_object(bucket, key)
            return bytes(found.value) if found is not None else None
        except Exception:  # a link to an object that is gone: the email still goes out
            return None

    def outbox_messages(self) -> list[OutboxMessage]:
        return list(self._outbox.messages) if self._outbox else []


# --- helpers ------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _best_effort(what: str) -> Iterator[None]:
    """For settings moto may not support: a warning, never a failed deploy."""
    try:
        yield
    except Exception as exc:
        log.warning("local cloud: could not apply %s: %s", what, exc)


@contextlib.contextmanager
def warnings_quiet() -> Iterator[None]:
    """moto warns once per resource type its CloudFormation skips; the local cloud applies them."""
    import warnings

    moto_logger = logging.getLogger("moto")
    level = moto_logger.level
    moto_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*not supported by moto's CloudFormation.*")
            yield
    finally:
        moto_logger.setLevel(level)


def _filter_rules(filter_: Mapping[str, Any] | None) -> dict[str, Any]:
    rules = (filter_ or {}).get("S3Key", {}).get("Rules", [])
    return (
        {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}} if rules else {}
    )


def _notification_configuration(config: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation's NotificationConfiguration -> the PutBucketNotificationConfiguration shape."""
    result: dict[str, Any] = {}
    kinds = (
        ("LambdaConfigurations", "LambdaFunctionConfigurations", "Function", "LambdaFunctionArn"),
        ("QueueConfigurations", "QueueConfigurations", "Queue", "QueueArn"),
        ("TopicConfigurations", "TopicConfigurations", "Topic", "TopicArn"),
    )
    for cfn_key, api_key, target_key, api_target in kinds:
        items = []
        for entry in config.get(cfn_key, []):
            item: dict[str, Any] = {api_target: entry[target_key], "Events": [entry["Event"]]}
            item.update({"Filter": f} if (f := _filter_rules(entry.get("Filter"))) else {})
            items.append(item)
        if items:
            result[api_key] = items
    if config.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled") in (True, "true"):
        result["EventBridgeConfiguration"] = {}
    return result


def _lifecycle_rules(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    rules = []
    for rule in config.get("Rules", []):
        item: dict[str, Any] = {
            "ID": rule.get("Id", "rule"),
            "Status": rule["Status"],
            "Filter": {"Prefix": rule.get("Prefix", "")},
        }
        if "AbortIncompleteMultipartUpload" in rule:
            item["AbortIncompleteMultipartUpload"] = {
                "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
            }
        if "ExpirationInDays" in rule:
            item["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
        if "NoncurrentVersionExpiration" in rule:
            item["NoncurrentVersionExpiration"] = {
                "NoncurrentDays": int(rule["NoncurrentVersionExpiration"].get("NoncurrentDays", 1))
            }
        rules.append(item)
    return rules


_INT_FIELDS = ("Period", "EvaluationPeriods", "DatapointsToAlarm")
_METRIC_ALARM_FIELDS = (
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)


def _metric_alarm_arguments(props: Mapping[str, Any]) -> dict[str, Any]:
    """AWS::CloudWatch::Alarm properties -> PutMetricAlarm arguments (numbers typed)."""
    arguments = {key: props[key] for key in _METRIC_ALARM_FIELDS if key in props}
    for key in _INT_FIELDS:
        if key in arguments:
            arguments[key] = int(arguments[key])
    if "Threshold" in arguments:
        arguments["Threshold"] = float(arguments["Threshold"])
    if "ActionsEnabled" in arguments:
        arguments["ActionsEnabled"] = arguments["ActionsEnabled"] in (True, "true", "True")
    return arguments

"""Runs the stack's Lambda handlers in-process when moto invokes a function (no Docker).

moto invokes functions from its own fan-out (S3 -> Lambda notifications, SNS -> Lambda
subscriptions, ``lambda.invoke``) through ``LambdaFunction.invoke`` ->
``LambdaFunction._invoke_lambda``, which normally starts a Docker container. :func:`install`
replaces ``_invoke_lambda`` (and wraps ``invoke`` to learn the invocation type) so that, for the
functions a :class:`LambdaRuntime` manages, the real ``handler(event, context)`` runs here:

* the handler module (``<code dir>/app.py`` for ``Handler: app.handler``) is imported once per
  function under a unique module name, with the code dir on ``sys.path`` like ``/var/task``;
* the function's Environment (resolved by moto's CloudFormation) plus the variables Lambda sets
  (``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_REGION`` ...; ``AWS_ENDPOINT_URL`` in server mode) are
  applied for the duration of the call and restored afterwards;
* modelsteward's per-process caches (settings, contexts, clients, idempotency) are reset
  before and after each call, since each function has its own settings;
* stdout/stderr (Powertools Logger, EMF) are captured into ``<log dir>/<function>.log`` in
  CloudWatch Logs' START/END/REPORT framing, copied to moto's CloudWatch Logs, and EMF lines are
  replayed as CloudWatch metrics.

Handlers run one at a time: environment variables and those caches are process-wide, so a
re-entrant lock serialises invocations (a handler's own synchronous ``lambda.invoke`` nests).
Asynchronous invocations (S3, SNS, EventBridge, ``InvocationType=Event``) are queued like AWS
queues them; a queued event runs after the current handler returns (``inline`` mode: on the
thread that caused it, before the triggering call returns, which makes tests deterministic) or
on a worker thread (``background`` mode, used when serving). A failed asynchronous invocation is
retried ``MaximumRetryAttempts`` times (default 2, no real waiting) and then sent to the
function's OnFailure destination / dead-letter queue in AWS's record format.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import importlib.util
import io
import itertools
import json
import logging
import os
import queue
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TextIO

from modelsteward.observability import peak_memory_mb
from modelsteward.packed_deps import ENV as PACKED_DEPS_ENV
from stewardtools.localcloud.clock import SimulatedClock
from stewardtools.localcloud.emf import EmfBridge

log = logging.getLogger(__name__)

AsyncMode = Literal["inline", "background"]
ASYNC_TRIGGERS = ("s3", "sns", "eventbridge", "schedule")
DEFAULT_MAX_RETRY_ATTEMPTS = 2  # Lambda's default for asynchronous invocations
SYNC_LOCK_TIMEOUT_S = 120.0


# --- what the runtime knows about each function ---------------------------------------------
@dataclass(frozen=True)
class FunctionSpec:
    """A deployed function and where its code lives."""

    logical_id: str
    function_name: str
    function_arn: str
    code_dir: Path
    handler: str = "app.handler"
    memory_mb: int = 128
    timeout_s: int = 3
    max_retry_attempts: int = DEFAULT_MAX_RETRY_ATTEMPTS
    on_failure: str | None = None  # EventInvokeConfig DestinationConfig.OnFailure.Destination
    dead_letter: str | None = None  # DeadLetterConfig.TargetArn
    short_name: str = ""  # the template's code folder name, e.g. "monitor_batch"

    @property
    def log_name(self) -> str:
        """Name of its log file and its short alias: ``monitor_batch`` reads best."""
        return self.short_name or self.code_dir.name or self.logical_id


@dataclass
class Invocation:
    """One handler run (an asynchronous event retried 3 times is one Invocation with attempts=3)."""

    function: str  # logical id
    function_name: str
    trigger: str  # s3 | sns | schedule:<rule> | eventbridge | invoke | sqs
    invocation_type: str  # Event | RequestResponse
    request_id: str
    started_at: dt.datetime  # simulated clock
    event: Any
    ok: bool = False
    attempts: int = 0
    duration_ms: float = 0.0
    result: Any = None
    error_type: str | None = None
    error_message: str | None = None
    sent_to: str | None = None  # failure destination, when retries were exhausted

    def summary(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "function_name": self.function_name,
            "trigger": self.trigger,
            "invocation_type": self.invocation_type,
            "request_id": self.request_id,
            "started_at": self.started_at.isoformat(),
            "ok": self.ok,
            "attempts": self.attempts,
            "duration_ms": round(self.duration_ms, 1),
            "error_type": self.error_type,
            "error_message": self.error_message,
            "sent_to": self.sent_to,
        }


class FakeLambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    def __init__(self, spec: FunctionSpec, request_id: str) -> None:
        self.function_name = spec.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.function_arn
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{spec.function_name}"
        self.log_stream_name = f"{dt.date.today():%Y/%m/%d}/[$LATEST]{request_id.replace('-', '')}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + spec.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# --- output capture ---------------------------------------------------------------------------
class _RoutingStream(io.TextIOBase):
    """Stands in for sys.stdout/stderr: inside a handler, writes go to that invocation's buffer."""

    def __init__(self, original: TextIO, local: threading.local) -> None:
        self._original = original
        self._local = local

    def _target(self) -> TextIO:
        stack: list[io.StringIO] = getattr(self._local, "buffers", [])
        return stack[-1] if stack else self._original

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        with contextlib.suppress(Exception):
            self._target().flush()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._original, "encoding", "utf-8") or "utf-8"

    def isatty(self) -> bool:
        return False


def _powertools_stream_handlers() -> Iterator[logging.StreamHandler[Any]]:
    """StreamHandlers installed by Powertools Loggers (they keep the stdout they saw at import)."""
    try:
        from aws_lambda_powertools.logging.formatter import BasePowertoolsFormatter
    except ImportError:  # pragma: no cover - powertools is a dependency
        return
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler and isinstance(
                handler.formatter, BasePowertoolsFormatter
            ):
                yield handler


# --- the runtime --------------------------------------------------------------------------------
@dataclass
class _AsyncJob:
    spec: FunctionSpec
    event: Any
    trigger: str


@dataclass
class LambdaRuntime:
    """Runs the managed functions' handlers; see the module docstring for the rules."""

    log_dir: Path
    clock: SimulatedClock
    region: str = "us-east-1"
    emf: EmfBridge | None = None
    endpoint_url: str | None = None
    async_mode: AsyncMode = "inline"
    client_factory: Callable[[str], Any] | None = None
    echo: Callable[[str], None] | None = None  # one line per invocation, for `steward local up`
    functions: dict[str, FunctionSpec] = field(default_factory=dict)  # by physical name
    invocations: list[Invocation] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._local = threading.local()
        self._modules: dict[str, Callable[..., Any]] = {}
        self._pending: list[_AsyncJob] = []
        self._pending_lock = threading.Lock()
        self._queue: queue.Queue[_AsyncJob | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._records_lock = threading.Lock()
        self._stdout = _RoutingStream(sys.stdout, self._local)
        self._stderr = _RoutingStream(sys.stderr, self._local)
        self._retargeted: list[tuple[logging.StreamHandler[Any], Any]] = []
        self._sequencer = itertools.count(1)

    # -- registry
    def register(self, spec: FunctionSpec) -> None:
        self.functions[spec.function_name] = spec

    def spec_for(self, name_or_id: str) -> FunctionSpec:
        """By physical name, ARN, logical id or code dir name (``monitor_batch``)."""
        name = (
            name_or_id.split(":function:", 1)[1].split(":")[0] if ":function:" in name_or_id else name_or_id
        )
        if name in self.functions:
            return self.functions[name]
        for spec in self.functions.values():
            if name in (spec.logical_id, spec.log_name):
                return spec
        known = sorted(s.log_name for s in self.functions.values())
        raise KeyError(f"no local function {name_or_id!r}; known: {known}")

    def handles(self, function_name: str) -> bool:
        return function_name in self.functions

    # -- lifecycle
    def start(self) -> None:
        """Patch moto and start the worker thread (background mode)."""
        global _ACTIVE
        if self.async_mode == "background":
            self._worker = threading.Thread(target=self._work, name="steward-lambda-worker", daemon=True)
            self._worker.start()
        install()
        _ACTIVE = self

    def stop(self) -> None:
        global _ACTIVE
        if _ACTIVE is self:
            _ACTIVE = None
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout=30)
            self._worker = None
        for handler, stream in self._retargeted:
            with contextlib.suppress(Exception):
                handler.setStream(stream)
        self._retargeted.clear()
        if sys.stdout is self._stdout:
            sys.stdout = self._stdout._original
        if sys.stderr is self._stderr:
            sys.stderr = self._stderr._original

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until queued asynchronous invocations have run (background mode)."""
        if self.async_mode == "inline":
            self.drain()
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.02)
        return False

    # -- entry points
    def invoke_async(self, function: str, event: Any, trigger: str = "invoke") -> None:
        """Queue an asynchronous invocation (what EventBridge, S3 and SNS do)."""
        self._submit(_AsyncJob(self.spec_for(function), event, trigger))

    def invoke_sync(self, function: str, event: Any, trigger: str = "invoke") -> Invocation:
        """Run now and return the record (RequestResponse)."""
        spec = self.spec_for(function)
        record = self._new_record(spec, event, trigger, "RequestResponse")
        self._attempt(spec, event, record)
        self._finish(record)
        self.drain_if_idle()
        return record

    def handle_moto_invoke(self, fn: Any, event: Any, invocation_type: str | None) -> tuple[str, bool, str]:
        """Called from the patched ``_invoke_lambda``: returns (payload, errored, log tail)."""
        spec = self.functions[fn.function_name]
        trigger = classify_trigger(event)
        if invocation_type is None:
            invocation_type = "Event" if trigger in ASYNC_TRIGGERS else "RequestResponse"
        if invocation_type == "DryRun":
            return "", False, ""
        if invocation_type == "Event":
            self._submit(_AsyncJob(spec, event, trigger))
            return "", False, ""
        record = self._new_record(spec, event, trigger, "RequestResponse")
        lines = self._attempt(spec, event, record)
        self._finish(record)
        self.drain_if_idle()
        if record.ok:
            return json.dumps(record.result, default=str), False, "\n".join(lines[-20:])
        return json.dumps(self._error_payload(record)), True, "\n".join(lines[-20:])

    # -- asynchronous queue
    def _submit(self, job: _AsyncJob) -> None:
        if self.async_mode == "background":
            self._queue.put(job)
            return
        with self._pending_lock:
            self._pending.append(job)
        self.drain_if_idle()

    def _depth(self) -> int:
        return int(getattr(self._local, "depth", 0))

    def drain_if_idle(self) -> None:
        if self.async_mode == "inline" and self._depth() == 0:
            self.drain()

    def drain(self) -> None:
        """Run queued asynchronous invocations (and the ones they cause) until none is left."""
        while True:
            with self._pending_lock:
                if not self._pending:
                    return
                job = self._pending.pop(0)
            self._run_async(job)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                self._run_async(job)
            except Exception:  # pragma: no cover - _run_async records its own failures
                log.exception("local cloud worker failed")
            finally:
                self._queue.task_done()

    def defer(self, work: Callable[[], None]) -> None:
        """Queue work that is not a Lambda invocation (a state machine execution) with the events."""
        self._submit(work)  # type: ignore[arg-type]

    def _run_async(self, job: _AsyncJob) -> None:
        if not isinstance(job, _AsyncJob):
            job()  # deferred work (defer); it records its own outcome
            return
        record = self._new_record(job.spec, job.event, job.trigger, "Event")
        for _attempt in range(1 + max(0, job.spec.max_retry_attempts)):
            self._attempt(job.spec, job.event, record)
            if record.ok:
                break
        if not record.ok:
            record.sent_to = self._send_failure(job.spec, job.event, record)
        self._finish(record)

    # -- one attempt
    def _new_record(self, spec: FunctionSpec, event: Any, trigger: str, invocation_type: str) -> Invocation:
        return Invocation(
            function=spec.logical_id,
            function_name=spec.function_name,
            trigger=trigger,
            invocation_type=invocation_type,
            request_id=str(uuid.uuid4()),
            started_at=self.clock.now(),
            event=event,
        )

    def _attempt(self, spec: FunctionSpec, event: Any, record: Invocation) -> list[str]:
        """Run the handler once under the lock; update ``record``; return the captured lines."""
        if not self._lock.acquire(timeout=SYNC_LOCK_TIMEOUT_S):
            record.ok, record.error_type = False, "LocalCloudBusy"
            record.error_message = (
                "another handler held the local cloud for too long (a synchronous lambda.invoke from "
                "inside a handler is not supported in server mode)"
            )
            return []
        request_id = record.request_id if record.attempts == 0 else str(uuid.uuid4())
        buffer = io.StringIO()
        started = time.perf_counter()
        record.attempts += 1
        stack: list[io.StringIO] = getattr(self._local, "buffers", [])
        self._local.buffers = stack
        stack.append(buffer)
        self._local.depth = self._depth() + 1
        try:
            self._retarget_powertools_handlers()
            with self._function_environment(spec), self._capturing_output():
                try:
                    handler = self._handler(spec)
                    record.result = handler(event, FakeLambdaContext(spec, request_id))
                    record.ok, record.error_type, record.error_message = True, None, None
                except (Exception, SystemExit) as exc:  # the handler's failure is the invocation's result
                    record.ok = False
                    record.error_type = type(exc).__name__
                    record.error_message = str(exc)[:2000]
                    buffer.write(_error_line(request_id, exc))
        finally:
            stack.pop()
            self._local.depth = self._depth() - 1
            record.duration_ms = (time.perf_counter() - started) * 1000.0
            self._lock.release()
        lines = buffer.getvalue().splitlines()
        self._write_log(spec, request_id, lines, record)
        self._save_moto_logs(spec, lines)
        if self.emf is not None:
            try:
                self.emf.replay(lines)
                self.emf.put("AWS/Lambda", self._service_metrics(spec, record))
            except Exception:  # metrics must not break the invocation record
                log.exception("metrics of %s could not be stored", spec.logical_id)
        return lines

    def _service_metrics(self, spec: FunctionSpec, record: Invocation) -> list[dict[str, Any]]:
        """What Lambda itself publishes per invocation (the suite's function alarms watch them)."""
        dims = [{"Name": "FunctionName", "Value": spec.function_name}]
        now = self.clock.now()
        return [
            {
                "MetricName": "Invocations",
                "Dimensions": dims,
                "Timestamp": now,
                "Unit": "Count",
                "Value": 1.0,
            },
            {
                "MetricName": "Errors",
                "Dimensions": dims,
                "Timestamp": now,
                "Unit": "Count",
                "Value": 0.0 if record.ok else 1.0,
            },
            {
                "MetricName": "Duration",
                "Dimensions": dims,
                "Timestamp": now,
                "Unit": "Milliseconds",
                "Value": round(record.duration_ms, 3),
            },
        ]

    @contextlib.contextmanager
    def _capturing_output(self) -> Iterator[None]:
        """sys.stdout/stderr route to the invocation's buffer while a handler runs.

        Installed per invocation (not once) because test runners and CLIs swap sys.stdout too;
        other threads' output passes through to whatever stream was there before.
        """
        replaced = []
        for name, proxy in (("stdout", self._stdout), ("stderr", self._stderr)):
            current = getattr(sys, name)
            if current is not proxy:
                proxy._original = current
                setattr(sys, name, proxy)
                replaced.append((name, current))
        try:
            yield
        finally:
            for name, current in replaced:
                setattr(sys, name, current)

    def _handler(self, spec: FunctionSpec) -> Callable[..., Any]:
        cached = self._modules.get(spec.logical_id)
        if cached is not None:
            return cached
        module_path, _, attribute = spec.handler.rpartition(".")
        source = spec.code_dir / (module_path.replace(".", "/") + ".py")
        if not source.is_file():
            raise ModuleNotFoundError(f"handler module not found: {source}")
        module_name = f"_steward_local_{spec.logical_id}_{module_path.replace('.', '_')}"
        module_spec = importlib.util.spec_from_file_location(module_name, source)
        if module_spec is None or module_spec.loader is None:
            raise ModuleNotFoundError(f"cannot import {source}")
        module: ModuleType = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        sys.path.insert(0, str(spec.code_dir))
        try:
            module_spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
        finally:
            with contextlib.suppress(ValueError):
                sys.path.remove(str(spec.code_dir))
        handler = getattr(module, attribute, None)
        if not callable(handler):
            raise AttributeError(f"{source} has no callable {attribute!r}")
        self._modules[spec.logical_id] = handler
        found: Callable[..., Any] = handler
        return found

    def forget_modules(self) -> None:
        """Re-import handlers on their next run (after editing a function's code)."""
        self._modules.clear()

    @contextlib.contextmanager
    def _function_environment(self, spec: FunctionSpec) -> Iterator[None]:
        fn_env = self._moto_environment(spec)
        values = {
            **fn_env,
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout_s),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "_HANDLER": spec.handler,
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
        }
        values.setdefault("POWERTOOLS_SERVICE_NAME", spec.log_name)
        values.setdefault("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon locally
        # emails link to local files, not the AWS console (links.py; the outbox copies the objects)
        values.setdefault("STEWARD_LOCAL_OBJECTS", str((self.log_dir.parent / "objects").resolve()))
        if self.endpoint_url:
            values["AWS_ENDPOINT_URL"] = self.endpoint_url
        removed = [] if self.endpoint_url else ["AWS_ENDPOINT_URL"]
        # no layers are mounted here: the venv holds every package MlDepsLayer ships zipped
        values.pop(PACKED_DEPS_ENV, None)
        removed.append(PACKED_DEPS_ENV)
        saved = {key: os.environ.get(key) for key in [*values, *removed]}
        _reset_modelsteward_caches()
        try:
            for key in removed:
                os.environ.pop(key, None)
            os.environ.update(values)
            yield
        finally:
            for key, old in saved.items():
                if old is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = old
            _reset_modelsteward_caches()

    def _moto_environment(self, spec: FunctionSpec) -> dict[str, str]:
        """The function's Environment.Variables as moto holds them (CloudFormation-resolved)."""
        from stewardtools.localcloud import motohooks

        fn = motohooks.lambda_function(spec.function_name, spec.function_arn, self.region)
        return {str(k): str(v) for k, v in (getattr(fn, "environment_vars", None) or {}).items()}

    def _retarget_powertools_handlers(self) -> None:
        for handler in _powertools_stream_handlers():
            if handler.stream is not self._stdout:
                self._retargeted.append((handler, handler.stream))
                try:
                    handler.setStream(self._stdout)  # type: ignore[arg-type]
                except ValueError:  # the old stream was closed (e.g. pytest's capture): just swap
                    handler.stream = self._stdout  # type: ignore[assignment]

    # -- records, logs, failures
    def _finish(self, record: Invocation) -> None:
        with self._records_lock:
            self.invocations.append(record)
            with (self.log_dir / "invocations.jsonl").open("a", encoding="utf-8") as out:
                out.write(json.dumps(record.summary()) + "\n")
        if self.echo is not None:
            status = "ok" if record.ok else f"ERROR {record.error_type}: {record.error_message}"
            self.echo(
                f"{record.function} <- {record.trigger} ({record.invocation_type}, "
                f"{record.attempts} attempt(s), {record.duration_ms:.0f} ms): {status}"
            )

    def _write_log(self, spec: FunctionSpec, request_id: str, lines: list[str], record: Invocation) -> None:
        path = self.log_dir / f"{spec.log_name}.log"
        peak_mb = round(peak_memory_mb())
        with self._records_lock, path.open("a", encoding="utf-8") as out:
            out.write(f"START RequestId: {request_id} Version: $LATEST Trigger: {record.trigger}\n")
            for line in lines:
                out.write(line + "\n")
            if record.duration_ms > spec.timeout_s * 1000:
                out.write(
                    f"WARNING RequestId: {request_id} ran {record.duration_ms:.0f} ms, longer than the "
                    f"function's Timeout of {spec.timeout_s} s: AWS would have stopped it\n"
                )
            out.write(f"END RequestId: {request_id}\n")
            out.write(
                f"REPORT RequestId: {request_id}\tDuration: {record.duration_ms:.2f} ms\t"
                f"Memory Size: {spec.memory_mb} MB\tMax Memory Used: {peak_mb} MB (whole process)\t"
                f"Status: {'ok' if record.ok else 'error'}\n"
            )

    def _save_moto_logs(self, spec: FunctionSpec, lines: list[str]) -> None:
        """A copy in moto's CloudWatch Logs, so ``aws logs tail /aws/lambda/<name>`` works."""
        from stewardtools.localcloud import motohooks

        with contextlib.suppress(Exception):  # a convenience: never fails an invocation
            fn = motohooks.lambda_function(spec.function_name, spec.function_arn, self.region)
            fn.logs_backend.ensure_log_group(fn.logs_group_name)
            fn.save_logs("\n".join(lines) or "(no output)")

    @staticmethod
    def _error_payload(record: Invocation) -> dict[str, Any]:
        return {
            "errorMessage": record.error_message,
            "errorType": record.error_type,
            "requestId": record.request_id,
            "stackTrace": [],
        }

    def _send_failure(self, spec: FunctionSpec, event: Any, record: Invocation) -> str | None:
        """Retries exhausted: the OnFailure destination gets AWS's invocation record; else the DLQ."""
        target = spec.on_failure or spec.dead_letter
        if target is None or self.client_factory is None:
            return None
        try:
            if spec.on_failure:
                body = json.dumps(self._destination_record(spec, event, record), default=str)
                _deliver(self.client_factory, target, body, attributes=None)
            else:
                attributes = {
                    "RequestID": record.request_id,
                    "ErrorCode": "200",
                    "ErrorMessage": (record.error_message or "")[:256],
                }
                _deliver(self.client_factory, target, json.dumps(event, default=str), attributes=attributes)
        except Exception:
            log.exception("could not deliver the failed event of %s to %s", spec.logical_id, target)
            return None
        return target

    def _destination_record(self, spec: FunctionSpec, event: Any, record: Invocation) -> dict[str, Any]:
        return {
            "version": "1.0",
            "timestamp": self.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "requestContext": {
                "requestId": record.request_id,
                "functionArn": f"{spec.function_arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": record.attempts,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": self._error_payload(record),
        }

    def next_sequencer(self) -> str:
        return f"{next(self._sequencer):018X}"


def _deliver(
    client_factory: Callable[[str], Any], arn: str, body: str, attributes: Mapping[str, str] | None
) -> None:
    service = arn.split(":")[2]
    if service == "sqs":
        sqs = client_factory("sqs")
        url = sqs.get_queue_url(QueueName=arn.split(":")[-1], QueueOwnerAWSAccountId=arn.split(":")[4])[
            "QueueUrl"
        ]
        kwargs: dict[str, Any] = {"QueueUrl": url, "MessageBody": body}
        if attributes:
            kwargs["MessageAttributes"] = {
                k: {"DataType": "String", "StringValue": v or "-"} for k, v in attributes.items()
            }
        sqs.send_message(**kwargs)
    elif service == "sns":
        sns_kwargs: dict[str, Any] = {"TopicArn": arn, "Message": body}
        if attributes:
            sns_kwargs["MessageAttributes"] = {
                k: {"DataType": "String", "StringValue": v or "-"} for k, v in attributes.items()
            }
        client_factory("sns").publish(**sns_kwargs)
    elif service == "lambda":
        client_factory("lambda").invoke(FunctionName=arn, InvocationType="Event", Payload=body.encode())
    else:
        raise ValueError(f"unsupported failure destination {arn}")


def _error_line(request_id: str, exc: BaseException) -> str:
    """What Lambda logs for an unhandled exception (one JSON line; stack trace included)."""
    payload = {
        "errorMessage": str(exc)[:2000],
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_exception(exc)[-12:],
    }
    return f"[ERROR] {type(exc).__name__}: {str(exc)[:500]}\n{json.dumps(payload)}\n"


def _reset_modelsteward_caches() -> None:
    """Each function has its own settings and clients; nothing may leak from the previous one."""
    from modelsteward.adapters.aws import reset_clients
    from modelsteward.config import reset_settings
    from modelsteward.idempotency import reset_idempotency
    from modelsteward.services.context import reset_contexts

    reset_settings()
    reset_contexts()
    reset_clients()
    reset_idempotency()


def classify_trigger(event: Any) -> str:
    """Which service produced an event, from its shape (AWS invokes these asynchronously)."""
    if isinstance(event, dict):
        records = event.get("Records")
        if isinstance(records, list) and records and isinstance(records[0], dict):
            source = records[0].get("eventSource") or records[0].get("EventSource")
            return {"aws:s3": "s3", "aws:sns": "sns", "aws:sqs": "sqs"}.get(str(source), "invoke")
        if event.get("Event") == "s3:TestEvent":
            return "s3"
        if "detail-type" in event and "source" in event:
            return "schedule" if event.get("detail-type") == "Scheduled Event" else "eventbridge"
    return "invoke"


# --- the moto patch ------------------------------------------------------------------------------
_ACTIVE: LambdaRuntime | None = None
_INVOCATION_TYPE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "steward_invocation_type", default=None
)
_ORIGINALS: dict[str, Any] = {}


def active_runtime() -> LambdaRuntime | None:
    return _ACTIVE


def install() -> None:
    """Patch moto's LambdaFunction (idempotent). Unmanaged functions keep moto's behaviour."""
    from stewardtools.localcloud import motohooks

    if _ORIGINALS:
        return
    cls = motohooks.lambda_function_class()
    _ORIGINALS["invoke"] = cls.invoke
    _ORIGINALS["_invoke_lambda"] = cls._invoke_lambda
    _ORIGINALS["_get_s3_event"] = motohooks.s3_event_builder()

    def invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
        header = None
        with contextlib.suppress(Exception):
            header = request_headers.get("x-amz-invocation-type") or request_headers.get(
                "X-Amz-Invocation-Type"
            )
        token = _INVOCATION_TYPE.set(header)
        try:
            return _ORIGINALS["invoke"](self, body, request_headers, response_headers)
        finally:
            _INVOCATION_TYPE.reset(token)

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        runtime = _ACTIVE
        if runtime is None or not runtime.handles(self.function_name):
            return _ORIGINALS["_invoke_lambda"](self, event)  # type: ignore[no-any-return]
        return runtime.handle_moto_invoke(self, {} if event is None else event, _INVOCATION_TYPE.get())

    def _get_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        body: dict[str, Any] = _ORIGINALS["_get_s3_event"](event_name, bucket, key, notification_id)
        runtime = _ACTIVE
        for record in body.get("Records", []):
            obj = record.get("s3", {}).get("object", {})
            if runtime is not None and isinstance(getattr(key, "name", None), str):
                obj["key"] = urllib.parse.quote_plus(key.name, safe="/")  # AWS keeps "/" (moto: %2F)
            if getattr(key, "_is_versioned", False) and getattr(key, "version_id", "null") != "null":
                obj.setdefault("versionId", key.version_id)
            if runtime is not None:
                obj.setdefault("sequencer", runtime.next_sequencer())
        return body

    cls.invoke = invoke
    cls._invoke_lambda = _invoke_lambda
    motohooks.set_s3_event_builder(_get_s3_event)


def uninstall() -> None:
    from stewardtools.localcloud import motohooks

    if not _ORIGINALS:
        return
    cls = motohooks.lambda_function_class()
    cls.invoke = _ORIGINALS.pop("invoke")
    cls._invoke_lambda = _ORIGINALS.pop("_invoke_lambda")
    motohooks.set_s3_event_builder(_ORIGINALS.pop("_get_s3_event"))

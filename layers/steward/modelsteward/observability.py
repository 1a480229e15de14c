"""Logs and traces of one invocation, the way Powertools' docs set them up.

Every handler wears one decorator, :class:`modelsteward.lambda_function.StewardFunction`, which
stacks the same three pieces for it::

    @logger.inject_lambda_context(clear_state=True)      # request id, cold start, function name...
    @tracer.capture_lambda_handler(capture_response=False)  # one segment per invocation
    def invoke(event, context):
        start_invocation(logger, tracer, event, context)   # correlation id, library loggers
        ...

:func:`start_invocation` does what the decorators cannot know:

* the **correlation id** (``correlation_id`` on every line, a ``correlation_id`` trace annotation):
  the S3 object key of the batch (also what the scale-out state machine passes on in ``run.key``,
  so monitor_batch, plan_chunks, profile_chunk and finish_large_batch share it), the alarm's name,
  ``retrain:<model>`` or the scheduled action; the Lambda request id when an event has none;
* **library loggers through the Powertools formatter**: the suite's modules log with
  ``logging.getLogger(__name__)`` and ``extra={...}``; their records go through the handler's
  Powertools handler, so they are JSON lines with the same request id, cold-start flag,
  correlation id, and their ``extra`` fields (``copy_config_to_registered_loggers`` does the same
  for top-level loggers only; the local cloud and CLI loggers stay as they are).

Traces: ``TRACED_MODULES`` are patched by Tracer, so every AWS SDK call (S3, DynamoDB, SNS,
Lambda, Step Functions, CloudWatch) is a subsegment. Tracer disables itself outside Lambda and
where ``POWERTOOLS_TRACE_DISABLED`` is set (the local cloud). Responses are not captured: traces
carry no report contents.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

#: what Tracer patches: botocore is underneath every boto3 client
TRACED_MODULES = ("botocore",)

#: the runtime's loggers (not the local cloud's or the CLI's, which run outside Lambda)
LIBRARY_LOGGERS = (
    "modelsteward.services",
    "modelsteward.adapters",
    "modelsteward.domain",
    "modelsteward.reporting",
    "modelsteward.events",
    "modelsteward.idempotency",
    "modelsteward.packed_deps",
    "modelsteward.spec",
)


def correlation_id(event: Any) -> str | None:
    """What ties this invocation to the other functions' lines about the same thing."""
    if not isinstance(event, Mapping):
        return None
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], Mapping):
        record = records[0]
        s3 = record.get("s3")
        if isinstance(s3, Mapping):  # S3 notification (keys arrive URL-encoded)
            key = (s3.get("object") or {}).get("key")
            return unquote_plus(str(key)) if key else None
        sns = record.get("Sns")
        if isinstance(sns, Mapping):  # CloudWatch alarm through SNS
            name = _alarm_name(sns.get("Message"))
            return name or (str(sns["MessageId"]) if sns.get("MessageId") else None)
    detail = event.get("detail")
    if isinstance(detail, Mapping):
        key = (detail.get("object") or {}).get("key") if isinstance(detail.get("object"), Mapping) else None
        if key:  # S3 through EventBridge
            return unquote_plus(str(key))
        if detail.get("alarmName"):  # CloudWatch alarm state change through EventBridge
            return str(detail["alarmName"])
    run = event.get("run")
    if isinstance(run, Mapping) and run.get("key"):  # scale-out state machine steps
        return str(run["key"])
    action = event.get("action")
    if isinstance(action, str) and action:
        parts = [action, *(str(event[k]) for k in ("model", "window", "start") if event.get(k))]
        return ":".join(parts)
    if event.get("id") and event.get("detail-type"):  # an EventBridge event of another kind
        return str(event["id"])
    return None


def _alarm_name(message: Any) -> str | None:
    try:
        data = json.loads(message) if isinstance(message, str | bytes) else message
    except ValueError:
        return None
    name = data.get("AlarmName") if isinstance(data, Mapping) else None
    return str(name) if name else None


def route_library_logs(logger: Any) -> None:
    """The suite's stdlib loggers write through ``logger``'s Powertools handler (JSON, context keys,
    ``extra`` fields). Per invocation: in the local cloud one process runs every function."""
    handlers = list(logger.handlers)
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers = handlers
        library.setLevel(logger.log_level)
        library.propagate = False


def start_invocation(logger: Any, tracer: Any, event: Any, context: Any) -> str:
    """Set the correlation id on ``logger`` (and the trace), route library logs; returns the id."""
    value = correlation_id(event) or str(getattr(context, "aws_request_id", "") or "unknown")
    logger.set_correlation_id(value)
    route_library_logs(logger)
    if tracer is not None:
        tracer.put_annotation(key="correlation_id", value=value[:250])
    return value


def peak_memory_mb() -> float:
    """Peak resident memory of this process in MiB (Lambda bills and stops a function by it).

    On Linux, VmHWM of /proc/self/status: the high-water mark of this process's own pages.
    getrusage's ru_maxrss is not that: it survives exec, so a process started by a larger one (a
    test worker, a benchmark runner) reports its parent's peak when that was higher."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass  # not Linux: ru_maxrss is what there is (bytes on macOS, KiB elsewhere)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)

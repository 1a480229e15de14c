"""Messages in the dead-letter queue: which function failed, on what event, with which error.

Two formats reach an SQS queue when an asynchronous invocation fails every retry:

* the **on-failure destination record** (``EventInvokeConfig.DestinationConfig.OnFailure``, what
  template.yaml configures): ``{"version": "1.0", "requestContext": {"functionArn", "condition",
  "approximateInvokeCount", ...}, "requestPayload": <the original event>, "responseContext": ...,
  "responsePayload": {"errorType", "errorMessage", ...}}``;
* the legacy **dead-letter queue** (``DeadLetterConfig``): the original event as the body and the
  error in message attributes (``RequestID``, ``ErrorCode``, ``ErrorMessage``); it does not name the
  function, so replaying it needs the function from the caller.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class QueuedMessage:
    message_id: str
    receipt_handle: str
    body: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InvokeOutcome:
    ok: bool
    error_type: str | None = None
    error_message: str | None = None
    response: Any = None


@dataclass(frozen=True)
class DeadLetter:
    """One failed invocation, ready to be replayed (``function`` None: the message does not say)."""

    function: str | None
    payload: Any
    error_type: str | None = None
    error_message: str | None = None
    condition: str | None = None
    attempts: int | None = None
    request_id: str | None = None
    failed_at: str | None = None
    format: str = "destination"

    @property
    def function_name(self) -> str | None:
        """``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`` -> ``<name>``."""
        if self.function is None:
            return None
        if ":function:" in self.function:
            return self.function.split(":function:", 1)[1].split(":", 1)[0]
        return self.function


def unqualified(function_arn: str) -> str:
    """The function ARN without a ``$LATEST`` qualifier (a version or alias qualifier is kept)."""
    return function_arn[: -len(":$LATEST")] if function_arn.endswith(":$LATEST") else function_arn


def parse_dead_letter(body: str, attributes: Mapping[str, str] | None = None) -> DeadLetter:
    """A queue message as a DeadLetter; a body that is not JSON is kept as the payload text."""
    try:
        data: Any = json.loads(body)
    except (json.JSONDecodeError, TypeError):
        data = body
    if isinstance(data, dict) and isinstance(data.get("requestContext"), dict) and "requestPayload" in data:
        context = data["requestContext"]
        response = data.get("responsePayload")
        error = response if isinstance(response, dict) else {}
        arn = context.get("functionArn")
        return DeadLetter(
            function=unqualified(str(arn)) if arn else None,
            payload=data["requestPayload"],
            error_type=error.get("errorType"),
            error_message=error.get("errorMessage") if error else (str(response) if response else None),
            condition=context.get("condition"),
            attempts=context.get("approximateInvokeCount"),
            request_id=context.get("requestId"),
            failed_at=data.get("timestamp"),
        )
    attrs = dict(attributes or {})
    return DeadLetter(
        function=None,
        payload=data,
        error_type=attrs.get("ErrorCode"),
        error_message=attrs.get("ErrorMessage"),
        request_id=attrs.get("RequestID"),
        format="dead_letter_queue",
    )


def describe_payload(payload: Any, limit: int = 80) -> str:
    """A short description of the original event for a progress line (never the data itself)."""
    if isinstance(payload, dict):
        records = payload.get("Records")
        if isinstance(records, list) and records and isinstance(records[0], dict):
            first = records[0]
            s3 = first.get("s3")
            if isinstance(s3, dict):
                key = (s3.get("object") or {}).get("key", "?")
                return f"s3 {str(key)[:limit]}"
            if first.get("EventSource") == "aws:sns" or "Sns" in first:
                subject = (first.get("Sns") or {}).get("Subject") or "notification"
                return f"sns {str(subject)[:limit]}"
        if "action" in payload:
            extra = ", ".join(f"{k}={payload[k]}" for k in ("model", "start") if payload.get(k))
            return f"action {payload['action']}" + (f" ({extra})" if extra else "")
        if payload.get("detail-type"):
            return f"event {payload['detail-type']}"[:limit]
    return type(payload).__name__

"""The dead-letter queue (SQS) and synchronous re-invocation (Lambda), for ``steward replay``.

The replayer waits for each function's answer (RequestResponse), so its Lambda client has a read
timeout above Lambda's 15-minute maximum and no automatic retries (a retry could run an event twice).
"""

from __future__ import annotations

import json
import os
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from modelsteward.adapters.aws import client, translate
from stewardtools.operations.dead_letter import InvokeOutcome, QueuedMessage

_LONG_CALLS = Config(read_timeout=905, connect_timeout=10, retries={"max_attempts": 1, "mode": "standard"})


class SqsDeadLetterQueue:
    def __init__(self, queue_url: str, sqs: Any | None = None) -> None:
        self.queue_url = queue_url
        self._sqs = sqs

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            self._sqs = client("sqs")
        return self._sqs

    def receive(self, max_messages: int, visibility_timeout: int) -> list[QueuedMessage]:
        """Up to ``max_messages`` (1-10), hidden from other readers for ``visibility_timeout`` seconds."""
        try:
            resp = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=max(1, min(10, max_messages)),
                VisibilityTimeout=visibility_timeout,
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"receive from {self.queue_url}") from exc
        return [
            QueuedMessage(
                message_id=m["MessageId"],
                receipt_handle=m["ReceiptHandle"],
                body=m.get("Body", ""),
                attributes=_string_attributes(m.get("MessageAttributes") or {}),
            )
            for m in resp.get("Messages", [])
        ]

    def delete(self, receipt_handle: str) -> None:
        try:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt_handle)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"delete a message of {self.queue_url}") from exc

    def release(self, receipt_handle: str) -> None:
        """Make a received message visible again now (it stays in the queue for the next replay)."""
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=0
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"release a message of {self.queue_url}") from exc


def _string_attributes(attributes: dict[str, Any]) -> dict[str, str]:
    return {name: str(value.get("StringValue", "")) for name, value in attributes.items()}


class LambdaSyncInvoker:
    def __init__(self, lambda_client: Any | None = None) -> None:
        self._client = lambda_client

    @property
    def lam(self) -> Any:
        if self._client is None:
            import boto3

            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
            self._client = boto3.client("lambda", region_name=region, config=_LONG_CALLS)
        return self._client

    def invoke(self, function: str, payload: Any) -> InvokeOutcome:
        """Run ``function`` on ``payload`` and wait: ok unless it raised (FunctionError)."""
        try:
            resp = self.lam.invoke(
                FunctionName=function,
                InvocationType="RequestResponse",
                Payload=json.dumps(payload, default=str).encode(),
            )
            raw = resp["Payload"].read() if resp.get("Payload") is not None else b""
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"invoke {function}") from exc
        try:
            answer: Any = json.loads(raw) if raw else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            answer = raw.decode("utf-8", "replace")
        if resp.get("FunctionError"):
            error = answer if isinstance(answer, dict) else {}
            return InvokeOutcome(
                False,
                str(error.get("errorType") or resp["FunctionError"]),
                str(error.get("errorMessage") or answer or "")[:500],
                answer,
            )
        return InvokeOutcome(True, response=answer)

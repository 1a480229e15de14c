"""Invoker on Lambda: asynchronous ``Event`` invocations (retries and the DLQ are Lambda's)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .aws import client, translate


class LambdaInvoker:
    def __init__(self, lambda_client: Any | None = None) -> None:
        self._client = lambda_client

    def invoke_async(self, function_name: str, payload: Mapping[str, Any]) -> None:
        lam = self._client or client("lambda")
        try:
            lam.invoke(
                FunctionName=function_name,
                InvocationType="Event",
                Payload=json.dumps(payload, default=str).encode(),
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"invoke {function_name}") from exc

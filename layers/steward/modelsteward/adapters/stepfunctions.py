"""Start executions of the suite's state machines (the scale-out path of monitor_batch)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .aws import client, translate


class StepFunctionsStarter:
    def __init__(self, sfn_client: Any | None = None) -> None:
        self._client = sfn_client

    def start(self, state_machine_arn: str, name: str, payload: Mapping[str, Any]) -> str:
        """Start one execution; the same name and input return the running one (at-least-once safe)."""
        sfn = self._client or client("stepfunctions")
        try:
            resp = sfn.start_execution(
                stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload, default=str)
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"start execution {name} of {state_machine_arn}") from exc
        return str(resp["executionArn"])

"""Read a deployed stack's outputs (resource names) so the CLI needs only ``--stack``."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from modelsteward.adapters.aws import client, translate
from modelsteward.errors import NotFound


def stack_outputs(stack_name: str) -> dict[str, str]:
    """``{OutputKey: OutputValue}`` of a CloudFormation stack; NotFound names a missing stack."""
    try:
        resp = client("cloudformation").describe_stacks(StackName=stack_name)
    except ClientError as exc:
        message = str(exc.response.get("Error", {}).get("Message", ""))
        if "does not exist" in message:
            raise NotFound(f"stack '{stack_name}' does not exist (deploy it, or pass --stack NAME)") from exc
        raise translate(exc, f"describe stack {stack_name}") from exc
    except BotoCoreError as exc:
        raise translate(exc, f"describe stack {stack_name}") from exc
    stacks = resp.get("Stacks") or []
    if not stacks:
        raise NotFound(f"stack '{stack_name}' does not exist")
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs") or []}

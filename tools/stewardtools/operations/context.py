"""A Context for the `steward` CLI, built from a deployed stack's outputs (or the environment).

The CLI runs on a person's machine, not in Lambda: resource names come from the stack's outputs
(``--stack``), the endpoint from ``--endpoint-url`` / ``AWS_ENDPOINT_URL`` (the local cloud), and
the audit actor is ``cli:<OS user>`` so every decision names who made it.
"""

from __future__ import annotations

import getpass
import os

from modelsteward.config import Settings, settings
from modelsteward.services.context import Context, wire

from .replay import DeadLetterQueue, SyncInvoker

#: Stack output key -> Settings field (template.yaml ``Outputs``).
OUTPUT_SETTINGS = {
    "DataBucketName": "DATA_BUCKET",
    "ArtifactsBucketName": "ARTIFACTS_BUCKET",
    "AuditBucketName": "AUDIT_BUCKET",
    "RegistryTableName": "REGISTRY_TABLE",
    "AuditTableName": "AUDIT_TABLE",
    "IdempotencyTableName": "IDEMPOTENCY_TABLE",
    "EpisodesTableName": "EPISODES_TABLE",
    "NotificationsTopicArn": "NOTIFICATIONS_TOPIC_ARN",
    "AlarmsTopicArn": "ALARMS_TOPIC_ARN",
    "TrainModelFunctionName": "TRAIN_FUNCTION_NAME",
    "Stage": "STAGE",
}


def cli_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        user = os.environ.get("USER") or "unknown"
    return f"cli:{user}"


def settings_from_outputs(outputs: dict[str, str]) -> Settings:
    values = {env: outputs[key] for key, env in OUTPUT_SETTINGS.items() if outputs.get(key)}
    values.setdefault(
        "AWS_DEFAULT_REGION",
        os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1",
    )
    return Settings.model_validate(values)


def cli_context(stack_name: str | None, actor: str | None = None) -> Context:
    """Ports wired to the stack's resources; without a stack name, to the environment's settings."""
    if stack_name:
        from stewardtools.adapters.stack import stack_outputs

        s = settings_from_outputs(stack_outputs(stack_name))
    else:
        s = settings()
    return wire_for_a_person(s, actor=actor or cli_actor())


def wire_for_a_person(s: Settings, *, actor: str) -> Context:
    """The CLI's ports: the same adapters, metrics kept in memory (a person's run emits no EMF)."""
    from modelsteward.adapters.metrics import RecordingMetrics

    return wire(s, actor=actor, metrics=RecordingMetrics())


def dead_letter_ports(queue_url: str) -> tuple[DeadLetterQueue, SyncInvoker]:
    """What ``steward replay`` drains a dead-letter queue with: the queue and a synchronous invoke."""
    from stewardtools.adapters.dead_letters import LambdaSyncInvoker, SqsDeadLetterQueue

    return SqsDeadLetterQueue(queue_url), LambdaSyncInvoker()

"""The reliability suite's building blocks (imported by its tests and conftest): the ledger of what a
test tried, the moto stack, per-request atomic DynamoDB, and a barrier-started thread runner."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto_atomic import serialized_dynamodb  # noqa: F401 - re-exported for the tests

REGION = "us-east-1"
ACCOUNT = "123456789012"


@dataclass
class Ledger:
    """What one test tried; ``kind`` is duplicate | fault | race | scan (the report's sections)."""

    test: str
    entries: list[dict[str, Any]] = field(default_factory=list)

    def duplicate(self, function: str, deliveries: int, mode: str, **facts: Any) -> None:
        self.entries.append({"kind": "duplicate", "function": function, "deliveries": deliveries,
                             "mode": mode, **facts})  # fmt: skip

    def fault(self, service: str, call_site: str, fault: str, times: int, outcome: str, **facts: Any) -> None:
        self.entries.append({"kind": "fault", "service": service, "call_site": call_site, "fault": fault,
                             "times": times, "outcome": outcome, **facts})  # fmt: skip

    def scan(self, name: str, files: int, **facts: Any) -> None:
        self.entries.append({"kind": "scan", "name": name, "files": files, **facts})

    def race(self, name: str, workers: int, operations: int, **facts: Any) -> None:
        self.entries.append({"kind": "race", "name": name, "workers": workers, "operations": operations,
                             **facts})  # fmt: skip


@dataclass(frozen=True)
class Stack:
    data_bucket: str = "rel-data"
    artifacts_bucket: str = "rel-artifacts"
    audit_bucket: str = "rel-audit"
    registry_table: str = "rel-registry"
    audit_table: str = "rel-audit"
    idempotency_table: str = "rel-idempotency"
    topic_arn: str = f"arn:aws:sns:{REGION}:{ACCOUNT}:rel-notifications"

    @property
    def env(self) -> dict[str, str]:
        return {
            "DATA_BUCKET": self.data_bucket,
            "ARTIFACTS_BUCKET": self.artifacts_bucket,
            "AUDIT_BUCKET": self.audit_bucket,
            "REGISTRY_TABLE": self.registry_table,
            "AUDIT_TABLE": self.audit_table,
            "IDEMPOTENCY_TABLE": self.idempotency_table,
            "NOTIFICATIONS_TOPIC_ARN": self.topic_arn,
            "POWERTOOLS_METRICS_NAMESPACE": "ModelSteward",
            "STAGE": "test",
        }

    def emails(self) -> list[tuple[str, str]]:
        """(subject, message) of every notification published to the topic (moto keeps them)."""
        from moto.sns.models import sns_backends

        topic = sns_backends[ACCOUNT][REGION].topics[self.topic_arn]
        return [(n[2], n[1]) for n in topic.sent_notifications]


def reset_caches() -> None:
    from modelsteward.adapters.aws import reset_clients
    from modelsteward.config import reset_settings
    from modelsteward.idempotency import reset_idempotency
    from modelsteward.services.context import reset_contexts

    reset_settings()
    reset_clients()
    reset_contexts()
    reset_idempotency()


def create_table(ddb: Any, name: str, keys: list[tuple[str, str, str]]) -> None:
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": n, "KeyType": k} for n, k, _ in keys],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, _, t in keys],
    )


def run_threads(fns: list[Callable[[], Any]]) -> list[tuple[Any, BaseException | None]]:
    """Start every callable at once (a barrier) and collect (result, exception) in order."""
    barrier = threading.Barrier(len(fns))
    out: list[tuple[Any, BaseException | None]] = [(None, None)] * len(fns)

    def run(i: int, fn: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            out[i] = (fn(), None)
        except BaseException as exc:  # reported to the test, which decides
            out[i] = (None, exc)

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out

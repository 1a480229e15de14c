"""Reliability suite fixtures: a moto stack with the real adapters, fault injection on the adapters'
cached boto3 clients, and a ledger that counts what each test tried.

The ledger: every test that takes the ``ledger`` fixture records what it attempted (duplicate
deliveries, injected faults per call site, races); after the test's call phase the entries are
appended, with the test's outcome, to ``build/reliability/<worker>.jsonl`` (one file per xdist
worker, so no locking). ``make reliability-report`` (tests/reliability/render_report.py) merges
them into docs/reliability.md. The folder is emptied when a (controller) session starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(os.environ.get("RELIABILITY_RESULTS", ROOT / "build" / "reliability"))
REGION = "us-east-1"
ACCOUNT = "123456789012"
LEDGER_KEY = pytest.StashKey[list[dict[str, Any]]]()


# --- the ledger ---------------------------------------------------------------------------------------
def pytest_sessionstart(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):  # an xdist worker: the controller cleared already
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    for old in RESULTS.glob("*.jsonl"):
        old.unlink()


@dataclass
class Ledger:
    """What one test tried; ``kind`` is duplicate | fault | race (the report's sections)."""

    test: str
    entries: list[dict[str, Any]] = field(default_factory=list)

    def duplicate(self, function: str, deliveries: int, mode: str, **facts: Any) -> None:
        self.entries.append({"kind": "duplicate", "function": function, "deliveries": deliveries,
                             "mode": mode, **facts})  # fmt: skip

    def fault(self, service: str, call_site: str, fault: str, times: int, outcome: str, **facts: Any) -> None:
        self.entries.append({"kind": "fault", "service": service, "call_site": call_site, "fault": fault,
                             "times": times, "outcome": outcome, **facts})  # fmt: skip

    def race(self, name: str, workers: int, operations: int, **facts: Any) -> None:
        self.entries.append({"kind": "race", "name": name, "workers": workers, "operations": operations,
                             **facts})  # fmt: skip


@pytest.fixture
def ledger(request: pytest.FixtureRequest) -> Ledger:
    entries: list[dict[str, Any]] = []
    request.node.stash[LEDGER_KEY] = entries
    return Ledger(request.node.nodeid, entries)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    entries = item.stash.get(LEDGER_KEY, None)
    if report.when != "call" or entries is None:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / f"{worker}.jsonl").open("a", encoding="utf-8") as out:
        for entry in entries:
            out.write(json.dumps({"test": item.nodeid, "passed": report.passed, **entry}, default=str) + "\n")


# --- a moto stack with the stack's environment ------------------------------------------------------
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


def _table(ddb: Any, name: str, keys: list[tuple[str, str, str]]) -> None:
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": n, "KeyType": k} for n, k, _ in keys],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, _, t in keys],
    )


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """Buckets (versioned; the audit bucket with Object Lock), the three tables and the topic on moto."""
    s = Stack()
    for name, value in s.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("TRAIN_FUNCTION_NAME", raising=False)
    with mock_aws():
        reset_caches()
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (s.data_bucket, s.artifacts_bucket):
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.create_bucket(Bucket=s.audit_bucket, ObjectLockEnabledForBucket=True)
        ddb = boto3.client("dynamodb", region_name=REGION)
        _table(ddb, s.registry_table, [("pk", "HASH", "S"), ("sk", "RANGE", "S")])
        _table(ddb, s.audit_table, [("pk", "HASH", "S"), ("sk", "RANGE", "N")])
        _table(ddb, s.idempotency_table, [("id", "HASH", "S")])
        boto3.client("sns", region_name=REGION).create_topic(Name=s.topic_arn.rsplit(":", 1)[1])
        yield s
        reset_caches()


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's standard retries sleep up to 2**attempt s between attempts: not in a unit of time
    a test suite can afford. The number of attempts (max_attempts 5) is unchanged."""
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


@contextlib.contextmanager
def serialized_dynamodb() -> Iterator[None]:
    """DynamoDB applies each request atomically; moto's in-process backend does not under threads.
    Same helper as tests/integration/governance_fixtures.py (that module is not importable from here)."""
    from unittest import mock

    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    with mock.patch.object(DynamoHandler, "call_action", call_action):
        yield


def run_threads(fns: list[Callable[[], Any]]) -> list[tuple[Any, BaseException | None]]:
    """Start every callable at once (a barrier) and collect (result, exception) in order."""
    barrier = threading.Barrier(len(fns))
    out: list[tuple[Any, BaseException | None]] = [(None, None)] * len(fns)

    def run(i: int, fn: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            out[i] = (fn(), None)
        except BaseException as exc:  # noqa: BLE001 - reported to the test, which decides
            out[i] = (None, exc)

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out

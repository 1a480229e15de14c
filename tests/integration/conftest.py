"""Integration fixtures: the suite's buckets and tables on moto, with the stack's environment variables.

``aws`` starts ``mock_aws``, creates the three versioned buckets and the three tables with the
template's key schemas, sets the environment the functions read, and resets every process cache
(settings, clients, contexts, idempotency persistence) so each test starts clean.
``context`` is a Context on those resources with in-memory metrics and audit fakes.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws
from moto_stack import MotoStack, reset_caches

from modelsteward.adapters.metrics import RecordingMetrics
from modelsteward.services.context import Context

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

STACK = MotoStack("steward", notifications=False, audit_lock=False)
DATA_BUCKET = STACK.data_bucket
ARTIFACTS_BUCKET = STACK.artifacts_bucket


@dataclass
class Cloud:
    s3: S3Client
    dynamodb: DynamoDBClient
    data_bucket: str = DATA_BUCKET
    artifacts_bucket: str = ARTIFACTS_BUCKET
    audit_bucket: str = STACK.audit_bucket

    def put(self, key: str, body: bytes, bucket: str = DATA_BUCKET) -> dict[str, Any]:
        """Upload like a user; returns the S3 notification event moto would deliver."""
        resp = self.s3.put_object(Bucket=bucket, Key=key, Body=body)
        return s3_event(bucket, key, resp.get("VersionId"), len(body))

    def get_json(self, key: str, bucket: str = ARTIFACTS_BUCKET) -> Any:
        return json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def keys(self, prefix: str, bucket: str) -> list[str]:
        resp = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(o["Key"] for o in resp.get("Contents", []))


def s3_event(bucket: str, key: str, version_id: str | None, size: int) -> dict[str, Any]:
    """An ObjectCreated notification with the key URL-encoded the way S3 (and moto) sends it."""
    obj: dict[str, Any] = {"key": urllib.parse.quote_plus(key), "size": size, "eTag": "etag"}
    if version_id:
        obj["versionId"] = version_id
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-01-01T00:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": obj,
                },
            }
        ]
    }


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    for name, value in STACK.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("NOTIFICATIONS_TOPIC_ARN", raising=False)
    with mock_aws():
        reset_caches()
        STACK.create()
        s3 = boto3.client("s3", region_name="us-east-1")
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        yield Cloud(s3=s3, dynamodb=ddb)
        reset_caches()


class FakeAudit:
    """In-memory AuditLog: keeps appended events in order (the hash chain is tested elsewhere)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def append(self, event: Mapping[str, Any]) -> dict[str, Any]:
        record = {"seq": len(self.events) + 1, **dict(event)}
        self.events.append(record)
        return record

    def records(self) -> Sequence[dict[str, Any]]:
        return list(self.events)

    def actions(self) -> list[str]:
        return [e["action"] for e in self.events]


@dataclass(kw_only=True)
class RecordingContext(Context):
    """The ``context`` fixture's Context, typed with the fakes the tests read back."""

    metrics: RecordingMetrics
    audit: FakeAudit


@pytest.fixture
def context(aws: Cloud) -> RecordingContext:
    """A Context on the moto resources with recording metrics and an in-memory audit log."""
    from modelsteward.adapters.s3 import S3ObjectStore
    from modelsteward.config import settings

    return RecordingContext(
        settings=settings(),
        store=S3ObjectStore(),
        metrics=RecordingMetrics(),
        audit=FakeAudit(),
        actor="test",
    )


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "req-1"


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()

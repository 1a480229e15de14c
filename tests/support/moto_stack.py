"""The suite's buckets, tables and topic on moto, named ``<prefix>-...`` like a deployed stack, with
the environment the functions read. One definition for the integration, governance and
reliability suites; the key schemas are template.yaml's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
from narrowing import present

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.literals import KeyTypeType, ScalarAttributeTypeType

REGION = "us-east-1"
ACCOUNT = "123456789012"
# (attribute, key type, attribute type) per table, as template.yaml declares them
KEY_SCHEMAS: dict[str, list[tuple[str, KeyTypeType, ScalarAttributeTypeType]]] = {
    "registry": [("pk", "HASH", "S"), ("sk", "RANGE", "S")],
    "audit": [("pk", "HASH", "S"), ("sk", "RANGE", "N")],
    "idempotency": [("id", "HASH", "S")],
    "episodes": [("pk", "HASH", "S"), ("sk", "RANGE", "S")],
}


@dataclass(frozen=True)
class MotoStack:
    prefix: str
    notifications: bool = True  # the notifications topic and NOTIFICATIONS_TOPIC_ARN
    audit_lock: bool = True  # the audit bucket has Object Lock, as deployed
    audit_retention_days: int | None = None  # its default COMPLIANCE retention, if any

    @property
    def data_bucket(self) -> str:
        return f"{self.prefix}-data"

    @property
    def artifacts_bucket(self) -> str:
        return f"{self.prefix}-artifacts"

    @property
    def audit_bucket(self) -> str:
        return f"{self.prefix}-audit"

    @property
    def registry_table(self) -> str:
        return f"{self.prefix}-registry"

    @property
    def audit_table(self) -> str:
        return f"{self.prefix}-audit"

    @property
    def episodes_table(self) -> str:
        return f"{self.prefix}-episodes"

    @property
    def idempotency_table(self) -> str:
        return f"{self.prefix}-idempotency"

    @property
    def topic_arn(self) -> str:
        return f"arn:aws:sns:{REGION}:{ACCOUNT}:{self.prefix}-notifications"

    @property
    def env(self) -> dict[str, str]:
        env = {
            "DATA_BUCKET": self.data_bucket,
            "ARTIFACTS_BUCKET": self.artifacts_bucket,
            "AUDIT_BUCKET": self.audit_bucket,
            "REGISTRY_TABLE": self.registry_table,
            "AUDIT_TABLE": self.audit_table,
            "IDEMPOTENCY_TABLE": self.idempotency_table,
            "EPISODES_TABLE": self.episodes_table,
            "POWERTOOLS_METRICS_NAMESPACE": "ModelSteward",
            "STAGE": "test",
        }
        if self.notifications:
            env["NOTIFICATIONS_TOPIC_ARN"] = self.topic_arn
        return env

    def create(self) -> MotoStack:
        """Inside mock_aws: versioned buckets, the tables and (optionally) the topic."""
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (self.data_bucket, self.artifacts_bucket):
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        if self.audit_lock:
            s3.create_bucket(Bucket=self.audit_bucket, ObjectLockEnabledForBucket=True)
        else:
            s3.create_bucket(Bucket=self.audit_bucket)
            s3.put_bucket_versioning(Bucket=self.audit_bucket, VersioningConfiguration={"Status": "Enabled"})
        if self.audit_retention_days is not None:
            s3.put_object_lock_configuration(
                Bucket=self.audit_bucket,
                ObjectLockConfiguration={
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": self.audit_retention_days}},
                },
            )
        ddb = boto3.client("dynamodb", region_name=REGION)
        for table, name in (
            ("registry", self.registry_table),
            ("audit", self.audit_table),
            ("idempotency", self.idempotency_table),
            ("episodes", self.episodes_table),
        ):
            keys = KEY_SCHEMAS[table]
            ddb.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": a, "KeyType": k} for a, k, _ in keys],
                AttributeDefinitions=[{"AttributeName": a, "AttributeType": t} for a, _, t in keys],
            )
        if self.notifications:
            boto3.client("sns", region_name=REGION).create_topic(Name=f"{self.prefix}-notifications")
        return self

    def emails(self) -> list[tuple[str, str]]:
        """(subject, message) of every notification published to the topic (moto keeps them)."""
        from moto.sns.models import sns_backends

        topic = sns_backends[ACCOUNT][REGION].topics[self.topic_arn]
        return [(present(n[2]), n[1]) for n in topic.sent_notifications]


def reset_caches() -> None:
    """Settings, clients, contexts and idempotency persistence are per process: start each test clean."""
    from modelsteward.adapters.aws import reset_clients
    from modelsteward.config import reset_settings
    from modelsteward.idempotency import reset_idempotency
    from modelsteward.services.context import reset_contexts

    reset_settings()
    reset_clients()
    reset_contexts()
    reset_idempotency()

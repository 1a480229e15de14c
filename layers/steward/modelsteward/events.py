"""Typed views of the events the functions receive (Powertools data classes underneath)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event

from .errors import InvalidInput
from .ports import ObjectRef


@dataclass(frozen=True)
class S3Upload:
    bucket: str
    key: str  # decoded
    version_id: str | None
    size: int
    etag: str | None

    def idempotency_key(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "key": self.key, "version": self.version_id or self.etag or ""}

    def object_ref(self) -> ObjectRef:
        """The exact object version this upload created (lineage, quarantine reasons, audit)."""
        return ObjectRef(self.bucket, self.key, self.version_id, None, self.size)


def s3_uploads(event: dict[str, Any]) -> list[S3Upload]:
    """Object-created records of an S3 notification; test events and other records are skipped."""
    if event.get("Event") == "s3:TestEvent":
        return []
    if "Records" not in event:
        raise InvalidInput("event is not an S3 notification (no 'Records')", code="bad_event")
    uploads = []
    for rec in S3Event(event).records:
        if not rec.event_name.startswith("ObjectCreated"):
            continue
        obj = rec.s3.get_object
        uploads.append(
            S3Upload(
                bucket=rec.s3.bucket.name,
                key=unquote_plus(obj.key),
                version_id=obj.get("versionId"),
                size=int(obj.get("size") or 0),
                etag=obj.get("eTag"),
            )
        )
    return uploads

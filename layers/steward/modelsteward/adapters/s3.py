"""ObjectStore on S3: every read and write returns the exact version (lineage needs it)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import LimitExceeded, NotFound
from ..ports import ObjectRef, StoredObject
from .aws import client, translate


class S3ObjectStore:
    def __init__(self, s3: Any | None = None, *, kms_key_id: str | None = None) -> None:
        self._s3 = s3
        self._kms_key_id = kms_key_id

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = client("s3")
        return self._s3

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectRef:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            resp = self.s3.head_object(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"head s3://{bucket}/{key}") from exc
        return ObjectRef(
            bucket,
            key,
            resp.get("VersionId"),
            resp.get("Metadata", {}).get("sha256"),
            resp.get("ContentLength"),
        )

    def get(
        self, bucket: str, key: str, version_id: str | None = None, *, max_bytes: int | None = None
    ) -> StoredObject:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            resp = self.s3.get_object(**kwargs)
            size = int(resp.get("ContentLength") or 0)
            if max_bytes is not None and size > max_bytes:
                resp["Body"].close()
                raise LimitExceeded(
                    f"object is {size} bytes, above the limit of {max_bytes} bytes for one function run; "
                    "split it or use the scale-out path"
                )
            body = resp["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"get s3://{bucket}/{key}") from exc
        ref = ObjectRef(bucket, key, resp.get("VersionId"), hashlib.sha256(body).hexdigest(), len(body))
        lm = resp.get("LastModified")
        return StoredObject(ref, body, dict(resp.get("Metadata") or {}), lm.isoformat() if lm else None)

    def get_range(self, bucket: str, key: str, version_id: str | None, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of one object version (S3 GetObject ``Range``; scale-out chunks)."""
        if end <= start:
            return b""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, "Range": f"bytes={start}-{end - 1}"}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            resp = self.s3.get_object(**kwargs)
            return bytes(resp["Body"].read())
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"get s3://{bucket}/{key} bytes {start}-{end - 1}") from exc

    def put(
        self,
        bucket: str,
        key: str,
        body: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectRef:
        digest = hashlib.sha256(body).hexdigest()
        kwargs: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "Body": body,
            "ContentType": content_type,
            "Metadata": {**(metadata or {}), "sha256": digest},
        }
        if self._kms_key_id:
            kwargs.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=self._kms_key_id)
        try:
            resp = self.s3.put_object(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"put s3://{bucket}/{key}") from exc
        return ObjectRef(bucket, key, resp.get("VersionId"), digest, len(body))

    def list_keys(self, bucket: str, prefix: str) -> Iterator[str]:
        try:
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    yield obj["Key"]
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"list s3://{bucket}/{prefix}") from exc

    def delete(self, bucket: str, key: str) -> None:
        """Delete the current version (a versioned bucket keeps it behind a delete marker)."""
        try:
            self.s3.delete_object(Bucket=bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"delete s3://{bucket}/{key}") from exc

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.head(bucket, key)
        except NotFound:
            return False
        return True

"""In-memory implementations of the runtime's ports for unit tests that need no moto.

Each class subclasses its Protocol, so mypy checks every signature against the port it stands in for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

from modelsteward.errors import NotFound
from modelsteward.ports import ObjectRef, ObjectStore, Registry, StoredObject


class MemoryStore(ObjectStore):
    """Versioned buckets in a dict: each put appends a version, numbered from "1" like a counter."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], list[bytes]] = {}

    def put(
        self,
        bucket: str,
        key: str,
        body: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectRef:
        versions = self.objects.setdefault((bucket, key), [])
        versions.append(body)
        return ObjectRef(bucket, key, str(len(versions)), hashlib.sha256(body).hexdigest(), len(body))

    def get(
        self, bucket: str, key: str, version_id: str | None = None, *, max_bytes: int | None = None
    ) -> StoredObject:
        if (bucket, key) not in self.objects:
            raise NotFound(f"s3://{bucket}/{key}")
        versions = self.objects[(bucket, key)]
        body = versions[int(version_id) - 1] if version_id else versions[-1]
        return StoredObject(ObjectRef(bucket, key, version_id or str(len(versions))), body)

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectRef:
        return self.get(bucket, key, version_id).ref

    def get_range(self, bucket: str, key: str, version_id: str | None, start: int, end: int) -> bytes:
        return self.get(bucket, key, version_id).body[start:end]

    def list_keys(self, bucket: str, prefix: str) -> Iterator[str]:
        return iter(sorted(k for b, k in self.objects if b == bucket and k.startswith(prefix)))

    def exists(self, bucket: str, key: str) -> bool:
        return (bucket, key) in self.objects

    def delete(self, bucket: str, key: str) -> None:
        self.objects.pop((bucket, key), None)


class RegistryStub(Registry):
    """A Registry whose every call fails the test: subclass it and override what the code under test uses."""

    def _unexpected(self, name: str) -> AssertionError:
        return AssertionError(f"Registry.{name} is not expected in this test")

    def next_version(self, model: str) -> int:
        raise self._unexpected("next_version")

    def put_version(self, model: str, version: int, row: Mapping[str, Any]) -> None:
        raise self._unexpected("put_version")

    def get_version(self, model: str, version: int) -> dict[str, Any]:
        raise self._unexpected("get_version")

    def list_versions(self, model: str) -> list[dict[str, Any]]:
        raise self._unexpected("list_versions")

    def champion(self, model: str) -> dict[str, Any] | None:
        raise self._unexpected("champion")

    def list_models(self) -> list[str]:
        raise self._unexpected("list_models")

    def update_version(
        self,
        model: str,
        version: int,
        changes: Mapping[str, Any],
        *,
        expected: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        raise self._unexpected("update_version")

    def promote(
        self,
        model: str,
        version: int,
        *,
        actor: str,
        reason: str,
        expected_champion: int | None,
        expected_decision_seq: int | None = None,
        retire_current: bool = False,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        raise self._unexpected("promote")

    def get_model_state(self, model: str) -> dict[str, Any]:
        raise self._unexpected("get_model_state")

    def update_model_state(
        self, model: str, changes: Mapping[str, Any], *, expected: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        raise self._unexpected("update_model_state")

"""What services need from the outside world. Adapters implement these; tests may fake them.

Services take ports as arguments, so the domain never imports boto3 and every side effect is
visible in a signature.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ObjectRef:
    """An exact object version: what lineage and audit records point at."""

    bucket: str
    key: str
    version_id: str | None = None
    sha256: str | None = None
    size: int | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def as_dict(self) -> dict[str, Any]:
        return {"uri": self.uri, "version_id": self.version_id, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class StoredObject:
    ref: ObjectRef
    body: bytes
    metadata: Mapping[str, str] = field(default_factory=dict)
    last_modified: str | None = None


class ObjectStore(Protocol):
    def get(
        self, bucket: str, key: str, version_id: str | None = None, *, max_bytes: int | None = None
    ) -> StoredObject: ...
    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectRef: ...
    def get_range(self, bucket: str, key: str, version_id: str | None, start: int, end: int) -> bytes: ...
    def put(
        self,
        bucket: str,
        key: str,
        body: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectRef: ...
    def list_keys(self, bucket: str, prefix: str) -> Iterator[str]: ...
    def exists(self, bucket: str, key: str) -> bool: ...
    def delete(self, bucket: str, key: str) -> None: ...


class MetricsSink(Protocol):
    """CloudWatch metrics (EMF in Lambda). Dimensions are small dicts such as {"model": m}."""

    def put(
        self, name: str, value: float, unit: str = "Count", dimensions: Mapping[str, str] | None = None
    ) -> None: ...
    def flush(self) -> None: ...


class Notifier(Protocol):
    def publish(self, subject: str, message: str, attributes: Mapping[str, str] | None = None) -> str: ...


class Invoker(Protocol):
    """Asynchronous invocation of another function of the suite (e.g. handle_alarm -> train_model)."""

    def invoke_async(self, function_name: str, payload: Mapping[str, Any]) -> None: ...


class Registry(Protocol):
    """The model registry (DynamoDB). Writes that decide (promote, approve) are conditional."""

    def next_version(self, model: str) -> int: ...
    def put_version(self, model: str, version: int, row: Mapping[str, Any]) -> None: ...
    def get_version(self, model: str, version: int) -> dict[str, Any]: ...
    def list_versions(self, model: str) -> list[dict[str, Any]]: ...
    def champion(self, model: str) -> dict[str, Any] | None: ...
    def list_models(self) -> list[str]: ...
    def update_version(
        self,
        model: str,
        version: int,
        changes: Mapping[str, Any],
        *,
        expected: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]: ...
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
    ) -> None: ...
    def get_model_state(self, model: str) -> dict[str, Any]: ...
    def update_model_state(
        self, model: str, changes: Mapping[str, Any], *, expected: Mapping[str, Any] | None = None
    ) -> dict[str, Any]: ...


class AuditLog(Protocol):
    """Append-only, hash-chained audit trail (see domain.audit_chain)."""

    def append(self, event: Mapping[str, Any]) -> dict[str, Any]: ...
    def records(self) -> Sequence[dict[str, Any]]: ...


class EpisodeStore(Protocol):
    """One episode book per model (domain.episodes.EpisodeBook), written under a version condition."""

    def get(self, model: str) -> dict[str, Any]: ...
    def put(self, model: str, book: Mapping[str, Any], *, expected_version: int) -> None: ...


class AlarmStates(Protocol):
    """SetAlarmState on the stack's episode alarms (the suite mirrors each episode into its alarm)."""

    def set_state(
        self, name: str, state: str, reason: str, data: Mapping[str, Any] | None = None
    ) -> None: ...


class AlarmLookup(Protocol):
    """DescribeAlarms for named metric alarms (what a state change's rule facts are read from)."""

    def describe(self, names: Sequence[str]) -> list[dict[str, Any]]: ...


class Executions(Protocol):
    """Start a state machine execution; the same name and input return the running one."""

    def start(self, state_machine_arn: str, name: str, payload: Mapping[str, Any]) -> str: ...


class AlarmCatalog(Protocol):
    """Names of the CloudWatch alarms that exist (the governance audit checks every model has some)."""

    def alarm_names(self, prefix: str) -> list[str]: ...

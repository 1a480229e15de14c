"""Fixtures for the registry and train_model tests: a Context on moto with the real registry and audit log.

Imported by test_registry.py and test_train_model.py; builds on the ``aws`` fixture of this suite's
conftest (buckets, tables and the stack environment on moto).
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
import yaml
from moto_atomic import serialized_dynamodb

from modelsteward.adapters.dynamodb_audit import DynamoAuditLog
from modelsteward.adapters.dynamodb_registry import DynamoRegistry
from modelsteward.adapters.metrics import RecordingMetrics
from modelsteward.services.context import Context

if TYPE_CHECKING:
    from conftest import Cloud  # this suite's conftest (pytest imports it; never at run time here)

ROOT = Path(__file__).resolve().parents[2]
MODEL = "credit-default"


class RecordingNotifier:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str, dict[str, str]]] = []

    def publish(self, subject: str, message: str, attributes: Mapping[str, str] | None = None) -> str:
        self.messages.append((subject, message, dict(attributes or {})))
        return f"m-{len(self.messages)}"

    def subjects(self) -> list[str]:
        return [s for s, _, _ in self.messages]


@dataclass(kw_only=True)
class StewardContext(Context):
    """The Context ``make_context`` wires, typed with its adapters so tests read them without casts."""

    metrics: RecordingMetrics
    notifier: RecordingNotifier | None = None
    registry: DynamoRegistry
    audit: DynamoAuditLog


def make_context(actor: str = "test", notifier: RecordingNotifier | None = None) -> StewardContext:
    from modelsteward.adapters.s3 import S3ObjectStore
    from modelsteward.config import settings

    s = settings()
    return StewardContext(
        settings=s,
        store=S3ObjectStore(),
        metrics=RecordingMetrics(),
        notifier=notifier,
        registry=DynamoRegistry(s.registry_table),
        audit=DynamoAuditLog(s.audit_table),
        actor=actor,
    )


@pytest.fixture
def steward(aws: Cloud) -> StewardContext:
    """A Context with the real DynamoDB registry and audit log and a recording notifier."""
    return make_context(notifier=RecordingNotifier())


def example_spec(name: str = MODEL, **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "specs" / f"{name}.yaml").read_text())
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key] = {**doc[key], **copy.deepcopy(value)}
        else:
            doc[key] = copy.deepcopy(value)
    return doc


def put_spec(aws: Cloud, doc: Mapping[str, Any]) -> None:
    from modelsteward.layout import spec_key

    aws.put(spec_key(doc["name"]), yaml.safe_dump(dict(doc)).encode())


def csv_bytes(frame: pd.DataFrame) -> bytes:
    out = frame.copy()
    if "timestamp" in out:
        out["timestamp"] = pd.to_datetime(out["timestamp"]).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    text: str = out.to_csv(index=False)  # pandas ships no type hints
    return text.encode()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def actions(ctx: StewardContext, model: str | None = None) -> list[str]:
    return [r["action"] for r in ctx.audit.records() if model is None or r.get("model") == model]


def records(ctx: StewardContext, action: str) -> list[dict[str, Any]]:
    return [r for r in ctx.audit.records() if r["action"] == action]


@pytest.fixture
def atomic_requests() -> Iterator[None]:
    """Each mocked DynamoDB request atomic, as DynamoDB makes each request (and transaction)."""
    with serialized_dynamodb():
        yield

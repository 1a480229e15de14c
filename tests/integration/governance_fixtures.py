"""Building blocks of the governance tests: a moto stack, an in-memory registry, and hand-built
model lifecycles (spec, training data, registry row, audit records, card, alarms) with one knob per
governance defect."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from memory_ports import RegistryStub
from moto_atomic import serialized_dynamodb as serialized_dynamodb  # re-exported for the tests
from moto_stack import REGION as REGION  # re-exported for the tests
from moto_stack import MotoStack

from modelsteward import layout
from modelsteward.adapters.dynamodb_audit import DynamoAuditLog
from modelsteward.adapters.metrics import RecordingMetrics
from modelsteward.adapters.s3 import S3ObjectStore
from modelsteward.adapters.sns import SnsNotifier
from modelsteward.config import settings
from modelsteward.errors import ConflictError, NotFound
from modelsteward.ports import ObjectRef
from modelsteward.services.context import Context
from stewardtools.report_examples import example_gate

STAGE = "test"
Stack = MotoStack  # the governance tests' stack: create_stack() below


def create_stack(*, retention_days: int = 1) -> MotoStack:
    """Inside mock_aws: the stack with an Object Lock audit bucket under COMPLIANCE default retention."""
    return MotoStack("gov", audit_retention_days=retention_days).create()


class FakeRegistry(RegistryStub):
    """The few ports.Registry methods governance reads (and update_version, which cards call)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[int, dict[str, Any]]] = {}
        self.states: dict[str, dict[str, Any]] = {}

    def put_version(self, model: str, version: int, row: Mapping[str, Any]) -> None:
        self.rows.setdefault(model, {})[version] = {"version": version, "model": model, **dict(row)}
        self.states.setdefault(model, {"model": model, "champion": None})

    def get_version(self, model: str, version: int) -> dict[str, Any]:
        try:
            return dict(self.rows[model][version])
        except KeyError as exc:
            raise NotFound(f"model '{model}' has no version {version}") from exc

    def list_versions(self, model: str) -> list[dict[str, Any]]:
        return [dict(r) for _, r in sorted(self.rows.get(model, {}).items())]

    def list_models(self) -> list[str]:
        return sorted(self.states)

    def get_model_state(self, model: str) -> dict[str, Any]:
        return dict(self.states.get(model, {"model": model, "champion": None}))

    def champion(self, model: str) -> dict[str, Any] | None:
        version = self.states.get(model, {}).get("champion")
        return None if version is None else self.get_version(model, version)

    def set_champion(self, model: str, version: int) -> None:
        self.states.setdefault(model, {"model": model})["champion"] = version
        self.rows[model][version]["alias"] = "champion"

    def update_version(
        self,
        model: str,
        version: int,
        changes: Mapping[str, Any],
        *,
        expected: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        row = self.rows[model][version]
        for key, value in (expected or {}).items():
            if row.get(key) != value:
                raise ConflictError(f"{model} v{version}: {key} changed")
        row.update(changes)
        return dict(row)


def make_context(
    stack: Stack, registry: FakeRegistry | None, now: dt.datetime, *, audit_clock: Any = None
) -> Context:
    store = S3ObjectStore()
    return Context(
        settings=settings(),
        store=store,
        metrics=RecordingMetrics(),
        notifier=SnsNotifier(stack.topic_arn),
        registry=registry,
        audit=DynamoAuditLog(
            stack.audit_table, export_bucket=stack.audit_bucket, store=store, clock=audit_clock
        ),
        actor="test",
        clock=lambda: now,
    )


def spec_yaml(
    model: str,
    *,
    max_age_days: int = 180,
    freshness_hours: float = 24,
    intended_use: str = "Rank applications for manual review",
) -> str:
    return f"""\
name: {model}
task: binary
target: default
features:
  numeric: [income, age]
  categorical: [region]
segments: [region]
estimator:
  class_path: sklearn.linear_model.LogisticRegression
  params: {{C: 1.0}}
primary_metric: roc_auc
governance:
  owner: risk-team@example.com
  intended_use: "{intended_use}"
  limitations: "Not for applicants under 18"
  risk_rating: high
  max_age_days: {max_age_days}
  freshness_hours: {freshness_hours}
"""


def put_alarm(model: str, signal: str = "drift") -> str:
    name = f"model-steward-{STAGE}-{model}-{signal}"
    boto3.client("cloudwatch", region_name=REGION).put_metric_alarm(
        AlarmName=name,
        Namespace="ModelSteward",
        MetricName="DatasetDrift",
        Statistic="Maximum",
        Period=3600,
        EvaluationPeriods=1,
        Threshold=0.5,
        ComparisonOperator="GreaterThanThreshold",
        Dimensions=[{"Name": "model", "Value": model}],
    )
    return name


@dataclass
class SeededModel:
    model: str
    version: int
    train_ref: ObjectRef
    batch_ref: ObjectRef
    report_ref: ObjectRef
    seqs: dict[str, int]


def seed_model(
    ctx: Context,
    registry: FakeRegistry,
    model: str,
    now: dt.datetime,
    *,
    champion_age_days: float = 10,
    batch_age_hours: float = 2,
    with_card: bool = True,
    with_alarm: bool = True,
    open_pii: bool = False,
    with_evidence: bool = True,
) -> SeededModel:
    """A model whose whole life is on record: spec, training data, v1 trained, gated, approved by
    a person and promoted; one accepted inference batch with its report; card; alarm.

    ``with_evidence=False``: promoted by the trainer with no evaluation, gate decision or approval
    on record (neither in the audit trail nor on the registry row)."""
    data, art = ctx.settings.data_bucket, ctx.settings.artifacts_bucket
    spec_ref = ctx.store.put(data, layout.spec_key(model), spec_yaml(model).encode())
    train_ref = ctx.store.put(
        data, f"training/{model}/train.csv", b"id,income,age,region,default\n1,2,3,n,0\n"
    )
    version = 1
    prefix = layout.version_prefix(model, version)
    artifact = ctx.store.put(art, layout.model_artifact_key(model, version), b"model-bytes")
    evaluation = (
        ctx.store.put(art, prefix + "evaluation.json", b'{"metrics": {"roc_auc": 0.81}}')
        if with_evidence
        else None
    )
    promoted = now - dt.timedelta(days=champion_age_days)

    def at(delta_minutes: float) -> dt.datetime:
        return promoted + dt.timedelta(minutes=delta_minutes)

    gate = example_gate(  # what train_model keeps on the row and in the gate.decision record
        outcome="pending_approval",
        champion_version=None,
        champion_score=None,
        challenger_version=version,
        challenger_score=0.81,
        reasons=["no champion"],
    ).model_dump(mode="json")
    evidence = (
        {
            "status": "Approved",
            "evaluation_uri": evaluation.uri,
            "evaluation_version_id": evaluation.version_id,
            "gate": gate,
            "approved_by": "cli:alice",
            "approved_at": at(-5).isoformat(),
        }
        if evaluation is not None
        else {"status": "PendingManualApproval"}
    )
    registry.put_version(
        model,
        version,
        {
            **evidence,
            "alias": None,
            "created_at": at(-50).isoformat(),
            "task": "binary",
            "metrics": {"roc_auc": 0.81, "accuracy": 0.77},
            "segment_metrics": {"region": {"n": {"roc_auc": 0.8}}},
            "params": {"C": 1.0},
            "estimator_class": "sklearn.linear_model.LogisticRegression",
            "library_versions": {"scikit-learn": "1.9.0"},
            "lineage": [{**train_ref.as_dict(), "role": "training_data"}],
            "spec": spec_ref.as_dict(),
            "artifact": {**artifact.as_dict(), "format": "skops"},
            "promoted_at": promoted.isoformat(),
        },
    )
    registry.set_champion(model, version)
    inputs = [train_ref.as_dict(), spec_ref.as_dict()]
    seqs: dict[str, int] = {}
    outputs = [artifact.as_dict(), *([evaluation.as_dict()] if evaluation else [])]
    life: list[tuple[str, int, dict[str, Any]]] = [
        ("training.started", -60, {"inputs": inputs}),
        ("training.finished", -50, {"inputs": inputs, "outputs": outputs}),
    ]
    if evaluation is not None:
        life += [
            ("gate.decision", -40, {"outputs": [evaluation.as_dict()], "details": gate}),
            ("model.approved", -5, {"actor": "cli:alice", "reason": "reviewed evaluation"}),
            ("model.promoted", 0, {"actor": "cli:alice", "reason": "approved: reviewed evaluation"}),
        ]
    else:
        life.append(("model.promoted", 0, {"actor": "train_model", "reason": "first model"}))
    for action, minutes, extra in life:
        rec = ctx.record(action, model=model, model_version=version, at=at(minutes), **extra)
        assert rec is not None
        seqs[action] = rec["seq"]
    batch_ref = ctx.store.put(data, f"inference/{model}/batch-1.csv", b"id,income\n1,2\n")
    report_ref = ctx.store.put(
        art,
        layout.batch_report_prefix(model, "batch-1") + "report.json",
        f'{{"lineage": {{"model": "{model}", "model_version": 1, "inputs": [{{"uri": "{batch_ref.uri}", '
        f'"version_id": "{batch_ref.version_id}"}}], "baseline": {{"uri": "s3://{art}/{prefix}baseline/'
        f'baseline.json", "version_id": "b1"}}}}}}'.encode(),
    )
    rec = ctx.record(
        "batch.accepted",
        model=model,
        model_version=version,
        actor="monitor_batch",
        at=now - dt.timedelta(hours=batch_age_hours),
        inputs=[batch_ref.as_dict()],
        outputs=[report_ref.as_dict()],
        details={"rows": 1, "pii_findings": 0},
    )
    assert rec is not None
    seqs["batch.accepted"] = rec["seq"]
    if open_pii:
        rec = ctx.record(
            "pii.finding",
            model=model,
            actor="monitor_batch",
            at=now - dt.timedelta(hours=batch_age_hours) + dt.timedelta(minutes=1),
            inputs=[batch_ref.as_dict()],
            details={"count": 3, "kinds": ["email"]},
        )
        assert rec is not None
        seqs["pii.finding"] = rec["seq"]
    if with_card:
        from modelsteward.services.model_cards import regenerate_card

        regenerate_card(ctx, model, version)
    if with_alarm:
        put_alarm(model)
    return SeededModel(model, version, train_ref, batch_ref, report_ref, seqs)

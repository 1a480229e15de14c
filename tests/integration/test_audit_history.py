"""`steward audit history` from the audit trail alone: gate promotions, a rollback, a hand approval.

Real training, the real gate, the real registry and audit log on moto. Every champion period is
checked for who made it champion, who approved the version, when, and on what evidence.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from registry_fixtures import (
    MODEL,
    StewardContext,
    csv_bytes,
    example_spec,
    make_context,
    put_spec,
    records,
)

from modelsteward.events import s3_uploads
from stewardtools.datasets import credit_default

if TYPE_CHECKING:
    from conftest import Cloud

if TYPE_CHECKING:
    from conftest import Cloud

FAST: dict[str, Any] = {
    "class_path": "sklearn.ensemble.HistGradientBoostingClassifier",
    "params": {"max_iter": 25, "learning_rate": 0.15, "early_stopping": False},
}
TRAINER = "train_model"


def noisy(frame: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    out = frame.copy()
    flip = np.random.default_rng(seed).random(len(out)) < share
    out.loc[flip, "default"] = 1 - out.loc[flip, "default"]
    return out


def train_on(
    aws: Cloud,
    ctx: StewardContext,
    name: str,
    frame: pd.DataFrame,
    *,
    auto_promote: bool,
    iterations: int = 25,
    significance: float = 0.05,
) -> dict[str, Any]:
    from modelsteward.services.train_model import train_model

    gate = {
        "bootstrap_rounds": 200,
        "auto_promote": auto_promote,
        "segment_tolerance": 1.0,
        "significance": significance,
    }
    estimator = {**FAST, "params": {**FAST["params"], "max_iter": iterations}}
    put_spec(aws, example_spec(MODEL, estimator=estimator, gate=gate))
    return train_model(ctx, s3_uploads(aws.put(f"training/{MODEL}/{name}", csv_bytes(frame)))[0])


def _one(ctx: StewardContext, action: str, version: int) -> dict[str, Any]:
    (rec,) = [r for r in records(ctx, action) if r.get("model_version") == version]
    return rec


def test_history_after_rollback_hand_approval_and_gate_promotion(aws: Cloud) -> None:
    from modelsteward.services.audit_trail import history
    from stewardtools.operations import registry_ops

    trainer = make_context(actor=TRAINER)
    clean = credit_default(3000, seed=2)
    assert (
        train_on(aws, trainer, "weak.csv", noisy(clean, 0.35, 3), auto_promote=True)["outcome"] == "promote"
    )
    second = train_on(aws, trainer, "better.csv", credit_default(3000, seed=4), auto_promote=True)
    assert second["outcome"] == "promote", second["reasons"]
    registry_ops.rollback(make_context(actor="cli:bob"), MODEL, to_version=1, reason="v2 misbehaves")
    pending = train_on(  # a small model on clean data: better than v1, for a person to judge
        aws,
        trainer,
        "reviewed.csv",
        credit_default(3000, seed=5),
        auto_promote=False,
        iterations=5,
        significance=0.5,
    )
    assert pending["outcome"] == "pending_approval", pending["reasons"]
    row = trainer.registry.get_version(MODEL, 3)
    registry_ops.approve(
        make_context(actor="cli:alice"), MODEL, 3, "cli:alice", "reviewed", row["decision_seq"]
    )
    last = train_on(
        aws,
        trainer,
        "clean.csv",
        credit_default(6000, seed=6),
        auto_promote=True,
        iterations=30,
        significance=0.5,
    )
    assert last["outcome"] == "promote", last["reasons"]

    periods = history(make_context(actor="cli:auditor"), MODEL)
    assert [(p.version, p.became_champion_by) for p in periods] == [
        (1, "model.promoted"),
        (2, "model.promoted"),
        (1, "model.rollback"),
        (3, "model.promoted"),
        (4, "model.promoted"),
    ]
    for before, after in itertools.pairwise(periods):
        assert before.end == after.start and before.end_seq == after.start_seq
    assert periods[-1].end is None

    gate = {v: _one(trainer, "gate.decision", v) for v in (1, 2, 3, 4)}
    promoted = {r["model_version"]: r for r in records(trainer, "model.promoted")}
    rollback = records(trainer, "model.rollback")[-1]
    approval = _one(trainer, "model.approved", 3)
    expected = [
        # version, started by (record), promoted by, approved by (record)
        (1, promoted[1], TRAINER, gate[1]),  # the gate approved v1, not the person who rolled back to it
        (2, promoted[2], TRAINER, gate[2]),  # gate-promoted: the gate is the approver
        (1, rollback, "cli:bob", gate[1]),  # bob reinstated v1; the gate's approval still stands
        (3, promoted[3], "cli:alice", approval),  # a person approved by hand
        (4, promoted[4], TRAINER, gate[4]),
    ]
    for period, (version, start, by, approved) in zip(periods, expected, strict=True):
        assert period.version == version
        assert (period.start, period.start_seq, period.promoted_by) == (start["at"], start["seq"], by)
        assert (period.approved_by, period.approved_at, period.approval_seq) == (
            approved["actor"],
            approved["at"],
            approved["seq"],
        ), period
        ev = period.evidence
        assert ev.gate_seq == gate[version]["seq"] and ev.gate_at == gate[version]["at"]
        assert ev.gate_details["outcome"] == gate[version]["details"]["outcome"]
        assert ev.evaluation_uri == f"s3://steward-artifacts/models/{MODEL}/v{version:04d}/evaluation.json"
        assert ev.evaluation_version_id == gate[version]["details"]["evaluation_version_id"]
    assert periods[3].evidence.gate_details["outcome"] == "pending_approval"

"""train_model on moto: upload -> trained, gated, registered version with lineage, audit and evidence."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest
from lambda_context import LAMBDA_CONTEXT, Handler
from registry_fixtures import (
    MODEL,
    RecordingNotifier,
    StewardContext,
    actions,
    csv_bytes,
    example_spec,
    make_context,
    parquet_bytes,
    put_spec,
    records,
    steward,
)

from modelsteward.events import S3Upload, s3_uploads
from stewardtools.datasets import credit_default

if TYPE_CHECKING:
    from conftest import Cloud

__all__ = ["steward"]  # the fixture, re-exported for pytest

FAST = {
    "class_path": "sklearn.ensemble.HistGradientBoostingClassifier",
    "params": {"max_iter": 25, "learning_rate": 0.15, "early_stopping": False},
}
GATE = {"bootstrap_rounds": 200}
ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def spec_doc(**overrides: Any) -> dict[str, Any]:
    overrides["gate"] = {**GATE, **overrides.get("gate", {})}
    return example_spec(MODEL, estimator=FAST, **overrides)


def upload(aws: Cloud, name: str, frame: pd.DataFrame) -> S3Upload:
    return s3_uploads(aws.put(f"training/{MODEL}/{name}", csv_bytes(frame)))[0]


def noisy(frame: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    """Flip ``share`` of the labels: a weak champion to beat."""
    out = frame.copy()
    flip = np.random.default_rng(seed).random(len(out)) < share
    out.loc[flip, "default"] = 1 - out.loc[flip, "default"]
    return out


def train(ctx: StewardContext, request: S3Upload | Mapping[str, Any]) -> dict[str, Any]:
    from modelsteward.services.train_model import train_model

    return train_model(ctx, request)


def load_handler() -> Handler:
    name = "_train_model_handler_app"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / "train_model" / "app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    handler: Handler = sys.modules[name].handler
    return handler


def test_first_upload_trains_registers_and_promotes_with_evidence(
    aws: Cloud, steward: StewardContext
) -> None:
    from modelsteward.domain.model_artifact import load_model
    from modelsteward.layout import parse_s3_uri

    put_spec(aws, spec_doc())
    data = credit_default(2000, seed=1)
    request = upload(aws, "2026-01.csv", data)
    summary = train(steward, request)
    assert summary["status"] == "trained" and summary["version"] == 1 and summary["outcome"] == "promote"
    assert summary["reasons"] == ["no champion"]

    reg = steward.registry
    row = reg.get_version(MODEL, 1)
    assert row["status"] == "Approved" and row["alias"] == "champion" and row["decision_seq"] == 1
    assert reg.get_model_state(MODEL)["champion"] == 1
    assert row["metrics"]["roc_auc"] > 0.7 and row["classes"] == ["0", "1"]
    assert row["lineage"] == [
        {
            "uri": f"s3://steward-data/{request.key}",
            "version_id": request.version_id,
            "sha256": row["lineage"][0]["sha256"],
            "size": request.size,
            "role": "training_snapshot",
        }
    ]
    assert len(row["lineage"][0]["sha256"]) == 64
    assert {"scikit-learn", "numpy", "pandas", "skops", "python"} <= set(row["library_versions"])
    assert row["gate"]["outcome"] == "promote" and row["triggered_by"] == "upload"

    # the artifact is exactly the registered bytes, and loads only through the digest check
    bucket, key = parse_s3_uri(row["artifact"]["uri"])
    body = aws.s3.get_object(Bucket=bucket, Key=key, VersionId=row["artifact"]["version_id"])["Body"].read()
    pipeline = load_model(body, row["artifact"]["sha256"])
    assert hasattr(pipeline, "predict_proba")
    prefix = f"models/{MODEL}/v0001/"
    keys = aws.keys(prefix, "steward-artifacts")
    for name in (
        "model.skops",
        "evaluation.json",
        "holdout.parquet",
        "estimation.json",
        "baseline/baseline.json",
        "baseline/statistics.json",
        "baseline/constraints.json",
    ):
        assert prefix + name in keys
    evaluation = aws.get_json(prefix + "evaluation.json")
    assert evaluation["gate"]["outcome"] == "promote" and evaluation["n_holdout"] == row["n_holdout"]
    baseline = aws.get_json(prefix + "baseline/baseline.json")
    assert baseline["model_version"] == 1 and "prediction" in baseline["columns"]
    assert row["baseline_uri"] == f"s3://steward-artifacts/{prefix}baseline/baseline.json"

    acts = actions(steward, MODEL)
    order = [
        acts.index(a) for a in ("training.started", "training.finished", "gate.decision", "model.promoted")
    ]
    assert order == sorted(order)
    started = records(steward, "training.started")[0]
    assert started["inputs"][0]["uri"] == f"s3://steward-data/{request.key}"
    assert started["inputs"][0]["version_id"] == request.version_id
    assert steward.notifier is not None
    assert steward.notifier.subjects() == [f"[model-steward] {MODEL} v1: promoted"]
    state = reg.get_model_state(MODEL)
    assert state["last_retrain_at"] and state["last_training_data"]["version_id"] == request.version_id


def test_a_better_challenger_is_promoted_and_an_identical_retrain_rejected(
    aws: Cloud, steward: StewardContext
) -> None:
    put_spec(aws, spec_doc())
    clean = credit_default(3000, seed=2)
    assert train(steward, upload(aws, "weak.csv", noisy(clean, 0.35, seed=3)))["outcome"] == "promote"
    better = train(steward, upload(aws, "clean.csv", clean))
    assert better["version"] == 2 and better["outcome"] == "promote", better["reasons"]
    assert better["champion_before"] == 1
    reg = steward.registry
    assert reg.get_model_state(MODEL)["champion"] == 2
    assert reg.get_version(MODEL, 1)["alias"] is None and reg.get_version(MODEL, 1)["status"] == "Approved"
    gate = reg.get_version(MODEL, 2)["gate"]
    assert gate["improvement"] > 0 and gate["p_value"] < 0.05 and gate["champion_version"] == 1
    evaluation = aws.get_json(f"models/{MODEL}/v0002/evaluation.json")
    assert evaluation["champion_metrics_on_holdout"]["roc_auc"] == pytest.approx(
        evaluation["gate"]["champion_score"]
    )
    assert evaluation["gate"]["challenger_score"] == pytest.approx(evaluation["metrics"]["roc_auc"])
    assert {s["column"] for s in evaluation["gate"]["segments"]} == {"region", "home_ownership"}

    # retrain on the same snapshot with the same seed: the same model, which cannot beat itself
    same = train(
        steward,
        {
            "action": "retrain",
            "model": MODEL,
            "reason": "drift alarm",
            "trigger": "alarm:drift",
            "episode": "e-1",
        },
    )
    assert same["version"] == 3 and same["outcome"] == "reject"
    row = reg.get_version(MODEL, 3)
    assert row["status"] == "Rejected" and "not_better" in row["gate"]["failed_checks"]
    assert row["triggered_by"] == "alarm:drift"
    assert row["lineage"][0]["uri"].endswith("training/credit-default/clean.csv")
    assert reg.get_model_state(MODEL)["champion"] == 2
    assert steward.notifier is not None
    assert steward.notifier.subjects()[-1] == f"[model-steward] {MODEL} v3: rejected"
    assert "not beat" in steward.notifier.messages[-1][1]
    assert "model.rejected" in actions(steward, MODEL)
    # the same retrain request delivered again does not train again
    again = train(
        steward,
        {
            "action": "retrain",
            "model": MODEL,
            "reason": "drift alarm",
            "trigger": "alarm:drift",
            "episode": "e-1",
        },
    )
    assert again == same and len(reg.list_versions(MODEL)) == 3


def test_without_auto_promote_a_better_version_awaits_approval(aws: Cloud, steward: StewardContext) -> None:
    from stewardtools.operations import registry_ops

    put_spec(aws, spec_doc(gate={"auto_promote": False}))
    first = train(steward, upload(aws, "a.csv", credit_default(1000, seed=4)))
    assert first["outcome"] == "pending_approval"
    row = steward.registry.get_version(MODEL, 1)
    assert (
        row["status"] == "PendingManualApproval"
        and steward.registry.get_model_state(MODEL)["champion"] is None
    )
    assert steward.notifier is not None
    assert steward.notifier.subjects() == [f"[model-steward] {MODEL} v1: awaiting approval"]
    assert "steward models approve credit-default 1" in steward.notifier.messages[0][1]
    registry_ops.approve(steward, MODEL, 1, "cli:alice", "reviewed the evaluation", row["decision_seq"])
    assert steward.registry.get_model_state(MODEL)["champion"] == 1


def test_the_handler_trains_once_per_upload_and_dispatches_retrains(aws: Cloud) -> None:
    put_spec(aws, spec_doc())
    event = aws.put(f"training/{MODEL}/2026-02.csv", csv_bytes(credit_default(1000, seed=5)))
    handler = load_handler()
    first = handler(event, LAMBDA_CONTEXT)
    second = handler(event, LAMBDA_CONTEXT)
    assert first["ok"] and first["results"][0]["version"] == 1
    assert second == first
    assert len(make_context().registry.list_versions(MODEL)) == 1
    request = {"action": "retrain", "model": MODEL, "reason": "manual", "trigger": "manual"}
    out = handler(request, LAMBDA_CONTEXT)
    assert out["results"][0]["version"] == 2
    bad = handler({"action": "explode"}, LAMBDA_CONTEXT)
    assert not bad["ok"] and bad["results"][0]["code"] == "bad_event"


def test_bad_training_data_is_quarantined_and_recorded_not_retried(
    aws: Cloud, steward: StewardContext
) -> None:
    put_spec(aws, spec_doc())
    frame = credit_default(500, seed=7).drop(columns=["default"])
    request = upload(aws, "no-target.csv", frame)
    summary = train(steward, request)
    assert summary["status"] == "rejected" and summary["code"] == "missing_columns"
    assert "default" in summary["reason"]
    assert steward.registry.list_versions(MODEL) == []
    rejected = records(steward, "training.rejected")[-1]
    assert rejected["model"] == MODEL and rejected["inputs"][0]["version_id"] == request.version_id
    assert any(k.endswith("reason.json") for k in aws.keys(f"quarantine/{MODEL}/", "steward-data"))
    # the upload itself is untouched
    assert request.version_id is not None
    assert aws.s3.head_object(Bucket="steward-data", Key=request.key, VersionId=request.version_id)


def test_single_class_training_data_is_rejected_with_the_reason(aws: Cloud, steward: StewardContext) -> None:
    put_spec(aws, spec_doc())
    frame = credit_default(500, seed=8)
    frame["default"] = 0
    summary = train(steward, upload(aws, "one-class.csv", frame))
    assert summary["status"] == "rejected" and summary["code"] == "single_class"


def test_an_unknown_model_is_rejected(aws: Cloud, steward: StewardContext) -> None:
    summary = train(steward, s3_uploads(aws.put("training/nobody/x.csv", b"a,b\n1,2\n"))[0])
    assert summary["status"] == "rejected" and summary["code"] == "unknown_model"
    assert records(steward, "training.rejected")[-1]["model"] == "nobody"


def test_a_tampered_champion_sends_the_challenger_to_a_person(aws: Cloud, steward: StewardContext) -> None:
    put_spec(aws, spec_doc())
    train(steward, upload(aws, "a.csv", credit_default(1000, seed=9)))
    row = steward.registry.get_version(MODEL, 1)
    steward.registry.update_version(MODEL, 1, {"artifact": {**row["artifact"], "sha256": "0" * 64}})
    summary = train(steward, upload(aws, "b.csv", credit_default(1000, seed=10)))
    assert summary["outcome"] == "pending_approval"
    assert any("artifact refused" in r for r in summary["reasons"])
    assert records(steward, "artifact.refused")[-1]["model_version"] == 1
    assert steward.registry.get_model_state(MODEL)["champion"] == 1


def test_retrain_reads_the_snapshot_and_recent_pool_with_lineage(aws: Cloud, steward: StewardContext) -> None:
    put_spec(aws, spec_doc())
    snapshot = upload(aws, "base.csv", credit_default(1000, seed=11))
    train(steward, snapshot)
    pool = credit_default(600, seed=12, drift=0.5)
    pool_put = aws.s3.put_object(
        Bucket="steward-data", Key=f"pool/{MODEL}/b1.parquet", Body=parquet_bytes(pool)
    )
    train(steward, {"action": "retrain", "model": MODEL, "reason": "labels arrived", "trigger": "manual"})
    lineage = steward.registry.get_version(MODEL, 2)["lineage"]
    assert [r["role"] for r in lineage] == ["training_snapshot", "labeled_pool"]
    assert lineage[0]["version_id"] == snapshot.version_id
    assert lineage[1]["version_id"] == pool_put["VersionId"] and len(lineage[1]["sha256"]) == 64
    assert (
        steward.registry.get_version(MODEL, 2)["n_train"]
        + steward.registry.get_version(MODEL, 2)["n_holdout"]
        == 1600
    )

    # 100 days later the pool object is outside training_window_days (90): only the snapshot counts
    later = make_context(notifier=RecordingNotifier())
    later.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=100)
    train(
        later, {"action": "retrain", "model": MODEL, "reason": "later", "trigger": "manual", "episode": "x"}
    )
    assert [r["role"] for r in later.registry.get_version(MODEL, 3)["lineage"]] == ["training_snapshot"]


def test_scheduled_retrains_run_when_due_and_once_per_period(aws: Cloud, steward: StewardContext) -> None:
    put_spec(aws, spec_doc(retrain={"schedule": "rate(7 days)"}))
    train(steward, upload(aws, "a.csv", credit_default(1000, seed=13)))
    tick = {"action": "retrain_scheduled"}
    now = train(steward, tick)
    assert now["started"] == [] and "next retrain due" in now["skipped"][MODEL]

    later = make_context(notifier=RecordingNotifier())
    later.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=8)
    due = train(later, tick)
    assert due["started"] == [MODEL]
    assert [r["version"] for r in later.registry.list_versions(MODEL)] == [1, 2]
    assert later.registry.get_version(MODEL, 2)["triggered_by"] == "schedule"
    assert train(later, tick)["started"] == []  # the same period is not retrained twice


def test_schedule_expressions() -> None:
    from modelsteward.errors import SpecError
    from modelsteward.services.train_model import is_due, schedule_interval

    assert schedule_interval("rate(7 days)") == dt.timedelta(days=7)
    assert schedule_interval("rate(1 hour)") == dt.timedelta(hours=1)
    with pytest.raises(SpecError, match=r"retrain\.schedule"):
        schedule_interval("cron(0 12 * * ? *)")
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert is_due("rate(1 day)", {"last_retrain_at": "2026-02-27T00:00:00+00:00"}, now)[0]
    assert not is_due("rate(7 days)", {"last_retrain_at": "2026-02-27T00:00:00+00:00"}, now)[0]
    assert not is_due("rate(1 day)", {}, now)[0]  # never trained: nothing to retrain from


@pytest.mark.parametrize(
    ("name", "outcome", "metric"),
    [("product-category", "pending_approval", "accuracy"), ("house-price", "promote", "mae")],
)
def test_the_other_example_specs_train_end_to_end(
    aws: Cloud, steward: StewardContext, name: str, outcome: str, metric: str
) -> None:
    from stewardtools.datasets import generate

    doc = example_spec(name, gate={"bootstrap_rounds": 100})
    if name == "house-price":
        doc["estimator"]["params"]["max_iter"] = 50
    put_spec(aws, doc)
    event = aws.put(f"training/{name}/a.csv", csv_bytes(generate(name, 1200, seed=21)))
    summary = train(steward, s3_uploads(event)[0])
    assert summary["status"] == "trained" and summary["outcome"] == outcome
    row = steward.registry.get_version(name, 1)
    assert row["primary_metric"] == metric and row["metrics"][metric] is not None
    prefix = f"models/{name}/v0001/"
    keys = aws.keys(prefix, "steward-artifacts")
    assert prefix + "baseline/baseline.json" in keys
    assert (prefix + "estimation.json" in keys) == (name == "product-category")


def test_a_retry_after_a_crash_between_registration_and_decision_applies_the_gate(
    aws: Cloud, steward: StewardContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attempt registered v1 with the gate's verdict, then died (a timeout, say) before the
    verdict was applied and before it could mark the row failed: the retry applies it, once."""
    import modelsteward.services.train_model as service

    put_spec(aws, spec_doc())
    request = upload(aws, "2026-01.csv", credit_default(2000, seed=1))

    def killed(*args: Any, **kwargs: Any) -> str:
        raise TimeoutError("Task timed out")

    with monkeypatch.context() as patch:
        patch.setattr(service, "_apply_outcome", killed)
        patch.setattr(service, "_mark_failed", lambda *args, **kwargs: None)  # the process is gone
        with pytest.raises(TimeoutError):
            train(steward, request)
    reg = steward.registry
    assert reg.get_version(MODEL, 1)["status"] == "PendingManualApproval"

    retried = train(steward, request)  # Lambda's retry of the same event
    assert retried["version"] == 1 and retried["outcome"] == "promote" and retried["resumed"]
    assert reg.get_model_state(MODEL)["champion"] == 1 and len(reg.list_versions(MODEL)) == 1
    assert actions(steward, MODEL).count("model.promoted") == 1


def test_a_retry_finishes_the_version_a_later_attempt_decided(
    aws: Cloud, steward: StewardContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attempt 1 failed after registering v1 (marked failed); attempt 2 trained and decided v2, then
    its email failed; attempt 3 must finish v2, not train v3."""
    import modelsteward.services.train_model as service
    from modelsteward.errors import StorageError

    put_spec(aws, spec_doc())
    request = upload(aws, "2026-01.csv", credit_default(2000, seed=1))
    real_apply, real_notify = service._apply_outcome, service._notify_once

    def apply_fails(*args: Any, **kwargs: Any) -> str:
        raise StorageError("throttled")

    def notify_fails(*args: Any, **kwargs: Any) -> None:
        raise StorageError("SNS unavailable")

    monkeypatch.setattr(service, "_apply_outcome", apply_fails)
    with pytest.raises(StorageError):
        train(steward, request)
    monkeypatch.setattr(service, "_apply_outcome", real_apply)
    monkeypatch.setattr(service, "_notify_once", notify_fails)
    with pytest.raises(StorageError):
        train(steward, request)
    monkeypatch.setattr(service, "_notify_once", real_notify)

    finished = train(steward, request)
    reg = steward.registry
    assert finished["version"] == 2 and finished["resumed"] and finished["outcome"] == "promote"
    assert [r["status"] for r in reg.list_versions(MODEL)] == ["Rejected", "Approved"]
    assert reg.get_model_state(MODEL)["champion"] == 2
    assert steward.notifier is not None
    assert steward.notifier.subjects() == [f"[model-steward] {MODEL} v2: promoted"]


def test_an_episodes_retrain_waits_for_labels_of_the_new_data_then_follows_it(
    aws: Cloud, steward: StewardContext
) -> None:
    """Retraining before labels of the new regime arrive would fit the old one again (issue 15)."""
    from modelsteward.domain.alert_policy import pending_retrain_request

    doc = spec_doc(holdout_split="recent")
    doc["retrain"] = {**doc["retrain"], "min_new_rows": 1000}
    put_spec(aws, doc)
    train(steward, upload(aws, "base.csv", credit_default(1500, seed=21, start="2026-01-01")))
    since = "2026-02-01T00:00:00+00:00"
    request = {"action": "retrain", "model": MODEL, "trigger": "alarm:x", "episode": "e1"}
    request["data_since"] = since
    waiting = train(steward, request)
    assert waiting["status"] == "deferred" and (waiting["have"], waiting["need"]) == (0, 1000)
    assert len(steward.registry.list_versions(MODEL)) == 1, "nothing trained"
    state = steward.registry.get_model_state(MODEL)
    again = pending_retrain_request(state, "labels-1")
    assert again is not None and again["data_since"] == since and again["episode"] == "e1+labels:labels-1"

    shifted = credit_default(1500, seed=22, drift=1.0, start="2026-02-02")
    key = f"pool/{MODEL}/labels-1.parquet"
    aws.s3.put_object(Bucket="steward-data", Key=key, Body=parquet_bytes(shifted))
    trained = train(steward, again)
    assert trained["status"] == "trained", trained
    row = steward.registry.get_version(MODEL, 2)
    assert row["monitoring_reference"]["rows"].startswith("holdout rows since the episode's data")
    assert row["baseline_rows"] == row["monitoring_reference"]["rows"]
    assert not steward.registry.get_model_state(MODEL).get("pending_retrain")

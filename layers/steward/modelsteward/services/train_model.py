"""train_model: train a model version from its spec, gate it against the champion, register it.

Requests (see functions/train_model):

* an upload under ``training/<model>/`` (an :class:`~modelsteward.events.S3Upload`): train on it;
* ``{"action": "retrain", "model", "reason", "trigger", "episode"?}`` (alarm handler, CLI): train on
  the model's latest training snapshot plus the labelled pool rows of the last
  ``retrain.training_window_days`` days;
* ``{"action": "retrain_scheduled"}`` (schedule tick): start a retrain for every model whose
  ``retrain.schedule`` (``rate(N days|hours|minutes)``) is due.

Steps of one training: spec -> data (every input object recorded with its version id and SHA-256)
-> version number -> fit + holdout evaluation (domain.training) -> champion loaded (SHA-256
verified) and scored on the same fresh holdout -> gate (domain.gate) -> artifacts (model.skops,
evaluation.json, holdout.parquet, estimation.json) -> baseline -> registry row (always registered
before any promotion) -> gate outcome applied (conditional promotion / PendingManualApproval /
Rejected) -> model card -> audit records -> notification -> STATE bookkeeping.

Idempotent per upload (bucket, key, version) and per retrain request (model, trigger, episode).
Bad data or a bad spec ends in a ``training.rejected`` audit record (and quarantine for uploads),
never in a retry loop; only transient errors propagate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import layout
from ..domain.baseline_builder import build_baseline
from ..domain.model_card import GroupFigures
from ..errors import ArtifactIntegrityError, ConflictError, InvalidInput, NotFound, StewardError
from ..events import S3Upload
from ..idempotency import run_once
from ..ports import ObjectRef, StoredObject
from ..spec import ModelSpec
from .context import Context
from .quarantine import quarantine_batch
from .specs import load_spec

if TYPE_CHECKING:
    from ..domain.gate_record import GateDecision

log = logging.getLogger(__name__)

ACTOR = "train_model"
MAX_TRAINING_BYTES = 512 * 1024 * 1024
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
OUTCOME_WORDS = {"promote": "promoted", "reject": "rejected", "pending_approval": "awaiting approval"}


@dataclass
class TrainingData:
    frame: pd.DataFrame
    lineage: list[ObjectRef]
    roles: list[str] = field(default_factory=list)

    def lineage_dicts(self) -> list[dict[str, Any]]:
        return [{**ref.as_dict(), "role": role} for ref, role in zip(self.lineage, self.roles, strict=True)]


# --- entry point ----------------------------------------------------------------------------
def train_model(ctx: Context, request: S3Upload | Mapping[str, Any]) -> dict[str, Any]:
    """Dispatch one request (upload, retrain, schedule tick); returns a small summary."""
    if isinstance(request, S3Upload):
        return train_from_upload(ctx, request)
    action = request.get("action")
    if action == "retrain":
        return retrain(ctx, request)
    if action == "retrain_scheduled":
        return retrain_scheduled(ctx)
    raise InvalidInput(
        f"unknown train_model request action {action!r}; use 'retrain' or 'retrain_scheduled'",
        code="bad_event",
    )


def train_from_upload(ctx: Context, upload: S3Upload) -> dict[str, Any]:
    try:
        key = layout.parse_upload_key(upload.key, url_encoded=False)
        if key.prefix != "training":
            raise InvalidInput(
                f"train_model handles training/<model>/ uploads, not '{upload.key}'", code="bad_key"
            )
    except InvalidInput as exc:
        ctx.record(
            "training.rejected",
            reason=exc.message,
            inputs=[upload.object_ref().as_dict()],
            details={"code": exc.code},
        )
        return {"status": "rejected", "key": upload.key, "code": exc.code, "reason": exc.message}

    def work() -> dict[str, Any]:
        return _guarded(
            ctx, key.model, lambda: _train_upload(ctx, upload, key), upload=upload, batch_id=key.batch_id
        )

    return run_once("train_model", upload.idempotency_key(), work)


def retrain(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    model = str(request.get("model") or "")
    if not model:
        raise InvalidInput("retrain request names no model", code="bad_event")
    trigger = str(request.get("trigger") or "manual")
    reason = str(request.get("reason") or f"retrain requested ({trigger})")
    episode = str(request.get("episode") or request.get("request_id") or reason)
    key = {"model": model, "trigger": trigger, "episode": episode}
    since = _parse_time(str(request["data_since"])) if request.get("data_since") else None

    def work() -> dict[str, Any]:
        return _guarded(ctx, model, lambda: _train_retrain(ctx, model, trigger, reason, key, since))

    return run_once("train_model.retrain", key, work)


def _guarded(
    ctx: Context, model: str, run: Any, *, upload: S3Upload | None = None, batch_id: str | None = None
) -> dict[str, Any]:
    """Turn bad input into a recorded rejection (never a retry loop); let transient errors raise."""
    try:
        return dict(run())
    except (InvalidInput, ArtifactIntegrityError) as exc:
        return _reject(ctx, model, exc, upload=upload, batch_id=batch_id)
    finally:
        ctx.metrics.flush()


def _reject(
    ctx: Context, model: str, exc: StewardError, *, upload: S3Upload | None, batch_id: str | None
) -> dict[str, Any]:
    where = None
    if upload is not None and batch_id is not None:
        try:
            where = quarantine_batch(
                ctx,
                model=model,
                batch_id=batch_id,
                source=upload.object_ref(),
                code=exc.code,
                message=exc.message,
                function="train_model",
            ).get("reason_uri")
        except StewardError as qexc:  # the rejection must still be recorded
            log.warning("quarantine failed", extra={"model": model, "error": qexc.message})
    inputs = [upload.object_ref().as_dict()] if upload else []
    ctx.record(
        "training.rejected",
        model=model,
        reason=exc.message,
        inputs=inputs,
        details={"code": exc.code, "quarantine": where},
    )
    _notify(
        ctx,
        f"[model-steward] {model}: training rejected",
        f"Training of {model} was rejected.\n\n"
        f"reason: {exc.message}\ncode: {exc.code}\n" + (f"input: {inputs[0]['uri']}\n" if inputs else ""),
        model,
    )
    log.warning("training rejected", extra={"model": model, "code": exc.code})
    return {
        "status": "rejected",
        "model": model,
        "code": exc.code,
        "reason": exc.message,
        "quarantine": where,
    }


# --- inputs ---------------------------------------------------------------------------------
def _read_conformed(ctx: Context, body: bytes, filename: str, spec: ModelSpec) -> pd.DataFrame:
    """Read, conform (role training) and PII-screen a file exactly as monitoring reads batches."""
    from ..domain.ingest import read_table
    from .assessment import conform_and_screen

    _, table, _ = conform_and_screen(ctx, read_table(body, filename), spec, role="training")
    return table.to_pandas()


def _upload_data(ctx: Context, upload: S3Upload, spec: ModelSpec, name: str) -> TrainingData:
    obj = ctx.store.get(upload.bucket, upload.key, upload.version_id, max_bytes=MAX_TRAINING_BYTES)
    frame = _read_conformed(ctx, obj.body, name, spec)
    return TrainingData(frame=frame, lineage=[obj.ref], roles=["training_snapshot"])


def _retrain_data(ctx: Context, spec: ModelSpec, state: Mapping[str, Any]) -> TrainingData:
    """The latest training snapshot (exact version) plus labelled pool rows within the window."""
    bucket = ctx.settings.data_bucket
    model = spec.name
    frames: list[pd.DataFrame] = []
    refs: list[ObjectRef] = []
    roles: list[str] = []
    snapshot = state.get("last_training_data") or {}
    obj: StoredObject | None
    if snapshot.get("uri"):
        s_bucket, s_key = layout.parse_s3_uri(str(snapshot["uri"]))
        obj = ctx.store.get(s_bucket, s_key, snapshot.get("version_id"), max_bytes=MAX_TRAINING_BYTES)
    else:
        keys = sorted(ctx.store.list_keys(bucket, f"training/{model}/"))
        obj = ctx.store.get(bucket, keys[-1], max_bytes=MAX_TRAINING_BYTES) if keys else None
    if obj is not None:
        frames.append(_read_conformed(ctx, obj.body, obj.ref.key.rsplit("/", 1)[-1], spec))
        refs.append(obj.ref)
        roles.append("training_snapshot")
    elif spec.retrain.from_labeled_pool:  # a model served elsewhere: its labeled reference
        reference = _labeled_reference(ctx, spec)
        if reference is not None:
            frames.append(reference[0])
            refs.append(reference[1])
            roles.append("labeled_reference")
    cutoff = ctx.clock() - dt.timedelta(days=spec.retrain.training_window_days)
    # the timestamp rides along so a ``holdout_split: recent`` spec can hold out the newest rows
    wanted = [
        *spec.features.all,
        *spec.sensitive_only_columns,
        spec.target,
        *([spec.timestamp_column] if spec.timestamp_column else []),
    ]
    for key in sorted(ctx.store.list_keys(bucket, f"pool/{model}/")):
        pooled = ctx.store.get(bucket, key, max_bytes=MAX_TRAINING_BYTES)
        if pooled.last_modified and _parse_time(pooled.last_modified) < cutoff:
            continue
        frame = _read_parquet(pooled.body)
        if spec.target not in frame.columns or not set(spec.features.all) <= set(frame.columns):
            log.warning("pool object skipped: columns missing", extra={"model": model, "key": key})
            continue
        frames.append(frame[[c for c in frame.columns if c in wanted or c.startswith(SERVED_MODEL_PREFIX)]])
        refs.append(pooled.ref)
        roles.append("labeled_pool")
    if not frames:
        raise InvalidInput(
            f"no training data for '{model}': upload a snapshot to training/{model}/ first",
            code="no_training_data",
        )
    served = sorted({c for f in frames for c in f.columns if c.startswith(SERVED_MODEL_PREFIX)})
    wanted += served  # the served model's own outputs: what a challenger is gated against
    frame = pd.concat([f[[c for c in wanted if c in f.columns]] for f in frames], ignore_index=True)
    return TrainingData(frame=frame, lineage=refs, roles=roles)


SERVED_MODEL_PREFIX = "champion_"  # domain.byom.CHAMPION_PREDICTION / CHAMPION_PROBABILITY


def _labeled_reference(ctx: Context, spec: ModelSpec) -> tuple[pd.DataFrame, ObjectRef] | None:
    """The newest reference upload with labels, conformed for training, with the served model's
    prediction and probabilities as ``champion_*`` columns (None without one)."""
    from ..domain.byom import batch_classes, champion_outputs

    keys = sorted(ctx.store.list_keys(ctx.settings.data_bucket, f"reference/{spec.name}/"))
    if not keys:
        return None
    obj = ctx.store.get(ctx.settings.data_bucket, keys[-1], max_bytes=MAX_TRAINING_BYTES)
    try:
        frame = _read_conformed(ctx, obj.body, obj.ref.key.rsplit("/", 1)[-1], spec)
    except InvalidInput as exc:
        log.warning("reference not usable for training", extra={"model": spec.name, "code": exc.code})
        return None
    if spec.target not in frame.columns:
        return None
    classes = batch_classes(spec, None, frame[spec.target]) if spec.is_classifier else None
    served = champion_outputs(frame, spec, classes)
    return pd.concat([frame, served], axis=1), obj.ref


def _served_model_predictions(spec: ModelSpec, frame: pd.DataFrame, result: Any) -> tuple[Any, str | None]:
    """The served model's own predictions on the challenger's holdout rows (bring your own model)."""
    from ..domain.byom import champion_predictions
    from ..domain.training import Predictions

    if result.holdout_index is None:
        return None, "the holdout rows are not known: a person decides"
    found = champion_predictions(frame, result.holdout_index, spec.task, result.classes)
    if found is None:
        return None, (
            "the served model's predictions are missing for some holdout rows (a labeled row without "
            "them): a person decides"
        )
    return Predictions(label=found[0], proba=found[1]), None


def _read_parquet(body: bytes) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(io.BytesIO(body)).to_pandas()
    except Exception as exc:  # pyarrow raises several types on a bad file
        raise InvalidInput(f"pool object is not readable Parquet: {exc}", code="bad_pool_object") from exc


def _parse_time(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# --- one training ---------------------------------------------------------------------------
def _train_upload(ctx: Context, upload: S3Upload, key: layout.UploadKey) -> dict[str, Any]:
    ctx.settings.require("data_bucket", "artifacts_bucket")
    spec, spec_ref = load_spec(ctx, key.model)
    data = _upload_data(ctx, upload, spec, key.name)
    summary = _train_and_register(
        ctx,
        spec,
        spec_ref,
        data,
        trigger="upload",
        reason=f"training data uploaded: {upload.key}",
        request_key=_request_key(upload.idempotency_key()),
    )
    _registry(ctx).update_model_state(key.model, {"last_training_data": data.lineage[0].as_dict()})
    return summary


def _train_retrain(
    ctx: Context,
    model: str,
    trigger: str,
    reason: str,
    request: Mapping[str, Any],
    baseline_since: dt.datetime | None = None,
) -> dict[str, Any]:
    """``baseline_since``: where the data of the episode that asked for it starts (handle_alarm)."""
    ctx.settings.require("data_bucket", "artifacts_bucket")
    spec, spec_ref = load_spec(ctx, model)
    state = _registry(ctx).get_model_state(model)
    data = _retrain_data(ctx, spec, state)
    if baseline_since is not None:
        have = _rows_since(spec, data.frame, baseline_since)
        if have < spec.retrain.min_new_rows:
            return _defer(ctx, spec, trigger, reason, request, baseline_since, have)
        _clear_pending(ctx, model, state)
    return _train_and_register(
        ctx,
        spec,
        spec_ref,
        data,
        trigger=trigger,
        reason=reason,
        request_key=_request_key(request),
        baseline_since=baseline_since,
    )


def _rows_since(spec: ModelSpec, frame: pd.DataFrame, since: dt.datetime) -> int:
    """Labeled rows of the training data whose event time is at or after ``since``."""
    column = spec.timestamp_column
    if not column or column not in frame.columns:
        return 0
    stamps = pd.to_datetime(frame[column], utc=True, errors="coerce")
    return int((stamps >= pd.Timestamp(since)).sum())


def _defer(
    ctx: Context,
    spec: ModelSpec,
    trigger: str,
    reason: str,
    request: Mapping[str, Any],
    since: dt.datetime,
    have: int,
) -> dict[str, Any]:
    """Too few labeled rows of the new data: wait for them (STATE ``pending_retrain``); evaluate_labels
    asks again when labels arrive. Retraining now would fit the old regime again."""
    need = spec.retrain.min_new_rows
    pending = {
        "trigger": trigger,
        "reason": reason,
        "episode": str(request.get("episode") or ""),
        "data_since": since.isoformat(),
        "have": have,
        "need": need,
        "since_requested": ctx.clock().isoformat(),
    }
    registry = _registry(ctx)
    previous = registry.get_model_state(spec.name).get("pending_retrain") or {}
    if previous.get("episode") == pending["episode"] and previous.get("data_since") == pending["data_since"]:
        pending["since_requested"] = previous.get("since_requested") or pending["since_requested"]
    registry.update_model_state(spec.name, {"pending_retrain": pending})
    why = (
        f"retrain waits for labels of the new data: {have} of {need} labeled rows since "
        f"{since.isoformat(timespec='seconds')} are in the pool (retrain.min_new_rows)"
    )
    ctx.record_once(
        "retrain.deferred",
        {"model": spec.name, "episode": pending["episode"], "have": have},
        model=spec.name,
        reason=why,
        details={"trigger": trigger, **pending},
    )
    log.info("retrain deferred", extra={"model": spec.name, "have": have, "need": need})
    return {"status": "deferred", "model": spec.name, "reason": why, "have": have, "need": need}


def _clear_pending(ctx: Context, model: str, state: Mapping[str, Any]) -> None:
    if state.get("pending_retrain"):
        _registry(ctx).update_model_state(model, {"pending_retrain": None})


def _request_key(request: Mapping[str, Any]) -> str:
    """What identifies one training request across retries (stored on the version it registered)."""
    return hashlib.sha256(json.dumps(dict(request), sort_keys=True, default=str).encode()).hexdigest()[:32]


def _registry(ctx: Context) -> Any:
    if ctx.registry is None:
        from ..errors import ConfigError

        raise ConfigError("train_model needs the model registry (REGISTRY_TABLE)")
    return ctx.registry


def _train_and_register(
    ctx: Context,
    spec: ModelSpec,
    spec_ref: ObjectRef,
    data: TrainingData,
    *,
    trigger: str,
    reason: str,
    request_key: str,
    baseline_since: dt.datetime | None = None,
) -> dict[str, Any]:
    from ..domain.training import train

    registry = _registry(ctx)
    model = spec.name
    lineage = data.lineage_dicts()
    inputs = [*lineage, {**spec_ref.as_dict(), "role": "spec"}]
    audit_inputs = [{k: v for k, v in ref.items() if k != "role"} for ref in inputs]
    decided = _version_of_request(registry, model, request_key)
    if decided is not None:  # a retry after the decision was committed: finish it, never train again
        return _resume(ctx, spec, decided, audit_inputs, trigger, reason, request_key)
    version = registry.next_version(model)
    ctx.record(
        "training.started",
        model=model,
        model_version=version,
        reason=reason,
        inputs=audit_inputs,
        details={"trigger": trigger, "rows": len(data.frame), "estimator": spec.estimator.class_path},
    )
    result = train(spec, data.frame)
    gated = _gate_challenger(ctx, spec, data, result, version)
    decision, champion_version = gated.decision, gated.champion_version
    written = _write_version_files(ctx, spec, version, result, gated, lineage)
    row = _version_row(ctx, spec, spec_ref, result, gated, written, lineage, baseline_since, version)
    row.update(triggered_by=trigger, reason=reason, request_key=request_key)
    registry.put_version(model, version, row)
    try:
        outcome = _apply_outcome(ctx, spec, version, decision, champion_version)
    except Exception:
        _mark_failed(ctx, model, version)
        raise
    evidence = _evidence_text(
        spec, version, decision, result, lineage, written.evaluation, trigger, reason, outcome
    )
    _finish_decided(ctx, model, version, row, outcome, audit_inputs, trigger, reason, request_key, evidence)
    return {
        "status": "trained",
        "model": model,
        "version": version,
        "outcome": outcome,
        "primary_metric": spec.primary_metric,
        "score": result.metrics.get(spec.primary_metric),
        "champion_before": champion_version,
        "reasons": decision.reasons,
        "artifact": written.artifact.uri,
    }


@dataclass(frozen=True)
class _Gated:
    """The gate's decision on a challenger, with what it was compared against."""

    decision: GateDecision
    champion_version: int | None
    champion_preds: Any
    fairness: dict[str, Any] | None


def _gate_challenger(ctx: Context, spec: ModelSpec, data: TrainingData, result: Any, version: int) -> _Gated:
    """Gate the challenger against the champion (or the model served elsewhere) on the same holdout.

    The gate may promote; a person decides when the champion is served outside the suite or could
    not be compared."""
    from ..domain.gate import evaluate_gate

    champion_row = _registry(ctx).champion(spec.name)
    champion_version = int(champion_row["version"]) if champion_row else None
    champion_preds, champion_problem = _champion_predictions(ctx, spec, champion_row, result)
    served_elsewhere = champion_row is None and spec.retrain.from_labeled_pool
    if served_elsewhere:  # the champion is the model served elsewhere: its own predictions, same rows
        champion_preds, champion_problem = _served_model_predictions(spec, data.frame, result)
    fairness = _fairness(spec, result, champion_preds)
    decision = evaluate_gate(
        spec,
        y_true=result.holdout[spec.target].to_numpy(),
        challenger=result.holdout_predictions,
        champion=champion_preds,
        classes=result.classes,
        segment_frame=result.holdout,
        champion_version=champion_version,
        challenger_version=version,
        fairness=fairness["verdict_model"] if fairness else None,
    )
    if served_elsewhere and decision.outcome == "promote":  # the suite cannot deploy it: a person does
        decision = decision.model_copy(
            update={
                "outcome": "pending_approval",
                "reasons": [
                    *decision.reasons,
                    "the champion is served outside the suite: deploy this version where the model is "
                    "served, then approve it",
                ],
            }
        )
    if champion_problem is not None:  # a champion exists but could not be compared: a person decides
        decision = decision.model_copy(
            update={
                "outcome": "pending_approval",
                "failed_checks": [*decision.failed_checks, "champion_unavailable"],
                "reasons": [champion_problem, *[r for r in decision.reasons if r != "no champion"]],
                "champion_version": champion_version,
            }
        )
    return _Gated(decision, champion_version, champion_preds, fairness)


@dataclass(frozen=True)
class _VersionFiles:
    """What a trained version wrote to the artifacts bucket before its registry row."""

    artifact: ObjectRef
    holdout: ObjectRef
    evaluation: ObjectRef
    estimation: ObjectRef | None
    estimation_doc: dict[str, Any] | None


def _write_version_files(
    ctx: Context, spec: ModelSpec, version: int, result: Any, gated: _Gated, lineage: list[dict[str, Any]]
) -> _VersionFiles:
    """The model artifact, its holdout, the evaluation document and the label-free estimator."""
    from ..domain.model_artifact import dump_model

    model = spec.name
    bucket = ctx.settings.artifacts_bucket
    prefix = layout.version_prefix(model, version)
    artifact = ctx.store.put(
        bucket,
        layout.model_artifact_key(model, version),
        dump_model(result.pipeline),
        metadata={"model": model, "version": str(version)},
    )
    holdout_ref = ctx.store.put(
        bucket,
        prefix + "holdout.parquet",
        _parquet(result.holdout),
        content_type="application/vnd.apache.parquet",
    )
    fairness = gated.fairness
    evaluation = {
        "model": model,
        "version": version,
        "created_at": ctx.clock().isoformat(),
        "task": spec.task,
        "primary_metric": spec.primary_metric,
        "classes": result.classes,
        "metrics": result.metrics,
        "segment_metrics": result.segment_metrics,
        "champion_metrics_on_holdout": _champion_metrics(spec, result, gated.champion_preds),
        "feature_importance": result.feature_importance,
        "attribution_baseline": result.attribution_baseline,
        "fairness": {k: v for k, v in fairness.items() if k != "verdict_model"} if fairness else None,
        "gate": gated.decision.model_dump(mode="json"),
        "lineage": lineage,
        "params": result.params,
        "library_versions": result.library_versions,
        "n_train": result.n_train,
        "n_holdout": result.n_holdout,
        "dropped_rows": result.dropped_rows,
        "training_seconds": result.duration_seconds,
        "artifact": artifact.as_dict(),
        "holdout": holdout_ref.as_dict(),
    }
    evaluation_ref = ctx.store.put(
        bucket,
        prefix + "evaluation.json",
        json.dumps(evaluation, indent=2, default=str).encode(),
        content_type="application/json",
    )
    estimation_ref, estimation_doc = _write_estimation(ctx, spec, version, result)
    return _VersionFiles(artifact, holdout_ref, evaluation_ref, estimation_ref, estimation_doc)


def _version_row(
    ctx: Context,
    spec: ModelSpec,
    spec_ref: ObjectRef,
    result: Any,
    gated: _Gated,
    written: _VersionFiles,
    lineage: list[dict[str, Any]],
    baseline_since: dt.datetime | None,
    version: int,
) -> dict[str, Any]:
    """The registry row of a new version (its baseline is written here: the row points at it)."""
    from ..domain.estimation import estimation_summary

    regime, baseline_rows = _regime_rows(result, baseline_since)
    artifact, evaluation_ref = written.artifact, written.evaluation
    return {
        "status": "PendingManualApproval",
        "alias": None,
        "created_at": ctx.clock().isoformat(),
        "task": spec.task,
        "primary_metric": spec.primary_metric,
        "metrics": _without_confusion(result.metrics),
        "segment_metrics": {
            c: {v: _without_confusion(m) for v, m in vals.items()}
            for c, vals in result.segment_metrics.items()
        },
        "feature_importance": result.feature_importance,
        "attribution_baseline": result.attribution_baseline,
        "classes": result.classes,
        "params": result.params,
        "estimator_class": spec.estimator.class_path,
        "library_versions": result.library_versions,
        "lineage": lineage,
        "spec": {**spec_ref.as_dict()},
        "artifact": {
            "uri": artifact.uri,
            "version_id": artifact.version_id,
            "sha256": artifact.sha256,
            "format": "skops",
        },
        "evaluation_uri": evaluation_ref.uri,
        "evaluation_version_id": evaluation_ref.version_id,
        "evaluation_sha256": evaluation_ref.sha256,
        "holdout_uri": written.holdout.uri,
        "holdout_version_id": written.holdout.version_id,
        "estimation_uri": written.estimation.uri if written.estimation else None,
        "label_free_estimate": estimation_summary(written.estimation_doc),
        "baseline_uri": _write_baseline(ctx, spec, version, result, lineage, rows=regime),
        "baseline_rows": baseline_rows,
        "gate": gated.decision.summary(),
        "fairness": _fairness_summary(gated.fairness),
        "n_train": result.n_train,
        "n_holdout": result.n_holdout,
        "training_seconds": result.duration_seconds,
        "metric_noise": _metric_noise(spec, result, regime),
        "estimate_noise": _estimate_noise(spec, result, written.estimation_doc, regime),
        "monitoring_reference": _monitoring_reference(spec, result, regime, baseline_rows),
        "decision_seq": 0,
    }


def _version_of_request(registry: Any, model: str, request_key: str) -> dict[str, Any] | None:
    """The version an earlier attempt of this request registered and did not abandon, if any.

    An attempt that failed after registration marked its row failed; a later attempt of the same
    request may have trained and decided another version, which is the one to finish.
    """
    for row in registry.list_versions(model):
        if row.get("request_key") == request_key and "failed after registration" not in str(
            row.get("decision_reason") or ""
        ):
            return dict(row)
    return None


def _outcome_of(row: Mapping[str, Any]) -> str:
    if row.get("alias") == "champion" or (
        (row.get("gate") or {}).get("outcome") == "promote" and (row.get("status") == "Approved")
    ):
        return "promote"
    return "reject" if row.get("status") == "Rejected" else "pending_approval"


def _ref(uri: Any, version_id: Any, sha256: Any = None) -> dict[str, Any]:
    return {"uri": uri, "version_id": version_id, "sha256": sha256}


# long: the three records of a decided version, each written at most once
def _record_decision(
    ctx: Context,
    model: str,
    version: int,
    row: Mapping[str, Any],
    outcome: str,
    audit_inputs: list[dict[str, Any]],
    trigger: str,
    reason: str,
    request_key: str,
) -> None:
    """The three records of a decided version, each appended at most once per request.

    Built from the registry row alone, so a retry that finds the decision already committed
    writes exactly the records the failed attempt did not.
    """
    gate = dict(row.get("gate") or {})
    reasons = "; ".join(str(r) for r in gate.get("reasons") or [])
    art = row.get("artifact") or {}
    artifact = _ref(art.get("uri"), art.get("version_id"), art.get("sha256"))
    evaluation = _ref(
        row.get("evaluation_uri"), row.get("evaluation_version_id"), row.get("evaluation_sha256")
    )
    holdout = _ref(row.get("holdout_uri"), row.get("holdout_version_id"))
    once = {"request": request_key, "version": version}
    ctx.record_once(
        "training.finished",
        once,
        model=model,
        model_version=version,
        reason=reason,
        inputs=audit_inputs,
        outputs=[artifact, evaluation, holdout],
        details={
            "metrics": row.get("metrics"),
            "n_train": row.get("n_train"),
            "n_holdout": row.get("n_holdout"),
            "seconds": row.get("training_seconds"),
            "trigger": trigger,
        },
    )
    ctx.record_once(
        "gate.decision",
        once,
        model=model,
        model_version=version,
        reason=reasons,
        inputs=[holdout],
        outputs=[evaluation],
        details={
            **gate,
            "evaluation_uri": evaluation["uri"],
            "evaluation_version_id": evaluation["version_id"],
        },
    )
    action = {"promote": "model.promoted", "reject": "model.rejected"}.get(outcome, "model.pending_approval")
    ctx.record_once(
        action,
        once,
        model=model,
        model_version=version,
        reason=reasons,
        inputs=audit_inputs,
        outputs=[artifact],
        details={
            "previous_champion": gate.get("champion_version"),
            "gate_outcome": gate.get("outcome"),
            "trigger": trigger,
        },
    )


def _finish_decided(
    ctx: Context,
    model: str,
    version: int,
    row: Mapping[str, Any],
    outcome: str,
    audit_inputs: list[dict[str, Any]],
    trigger: str,
    reason: str,
    request_key: str,
    message: str,
) -> None:
    """What follows a decision, first time or on a retry: its records, the cards, one email, the state."""
    _record_decision(ctx, model, version, row, outcome, audit_inputs, trigger, reason, request_key)
    previous = (row.get("gate") or {}).get("champion_version")
    _regenerate_cards(ctx, model, [version] + ([int(previous)] if outcome == "promote" and previous else []))
    subject = f"[model-steward] {model} v{version}: {OUTCOME_WORDS[outcome]}"
    _notify_once(ctx, request_key, version, subject, message, model)
    _registry(ctx).update_model_state(
        model,
        {
            "last_retrain_at": ctx.clock().isoformat(),
            "last_training_version": version,
            "last_training_outcome": outcome,
        },
    )


def _resume(
    ctx: Context,
    spec: ModelSpec,
    row: Mapping[str, Any],
    audit_inputs: list[dict[str, Any]],
    trigger: str,
    reason: str,
    request_key: str,
) -> dict[str, Any]:
    model, version = spec.name, int(row["version"])
    gate = row.get("gate") or {}
    if row.get("status") == "PendingManualApproval" and not row.get("pending_reason"):
        # registered, then the attempt died before the gate's outcome was applied: apply it now
        decision = SimpleNamespace(outcome=gate.get("outcome"), reasons=list(gate.get("reasons") or []))
        outcome = _apply_outcome(ctx, spec, version, decision, gate.get("champion_version"))
        row = _registry(ctx).get_version(model, version)
    else:
        outcome = _outcome_of(row)
    log.info("resuming a training request", extra={"model": model, "version": version, "outcome": outcome})
    message = (
        f"Model {model} version {version}: {OUTCOME_WORDS[outcome]} (recorded after a retry).\n"
        f"Trigger: {trigger} ({reason})\n\nreasons:\n"
        + "".join(f"  - {r}\n" for r in gate.get("reasons") or [])
        + f"\nEvidence: {row.get('evaluation_uri')}\n"
    )
    _finish_decided(ctx, model, version, row, outcome, audit_inputs, trigger, reason, request_key, message)
    return {
        "status": "trained",
        "model": model,
        "version": version,
        "outcome": outcome,
        "resumed": True,
        "primary_metric": spec.primary_metric,
        "score": (row.get("metrics") or {}).get(spec.primary_metric),
        "reasons": list(gate.get("reasons") or []),
        "artifact": (row.get("artifact") or {}).get("uri"),
    }


def _apply_outcome(ctx: Context, spec: ModelSpec, version: int, decision: Any, champion: int | None) -> str:
    registry = _registry(ctx)
    model = spec.name
    reason = "; ".join(decision.reasons)
    if decision.outcome == "promote":
        try:
            registry.promote(
                model, version, actor=ACTOR, reason=f"gate: {reason}", expected_champion=champion
            )
            return "promote"
        except ConflictError as exc:  # another version became champion while this one trained
            registry.update_version(
                model,
                version,
                {
                    "pending_reason": f"gate passed against v{champion}, but the champion changed meanwhile "
                    f"({exc.message}); approve to promote",
                },
            )
            return "pending_approval"
    if decision.outcome == "reject":
        registry.update_version(
            model,
            version,
            {
                "status": "Rejected",
                "decided_by": ACTOR,
                "decided_at": ctx.clock().isoformat(),
                "decision_reason": f"gate: {reason}",
            },
            expected={"status": "PendingManualApproval"},
        )
        return "reject"
    return "pending_approval"


def _mark_failed(ctx: Context, model: str, version: int) -> None:
    try:
        _registry(ctx).update_version(
            model,
            version,
            {
                "status": "Rejected",
                "decided_by": ACTOR,
                "decided_at": ctx.clock().isoformat(),
                "decision_reason": "training run failed after registration; a retry trains a new version",
            },
            expected={"status": "PendingManualApproval"},
        )
    except StewardError:
        log.exception("could not mark a failed version", extra={"model": model, "version": version})


def _champion_predictions(
    ctx: Context, spec: ModelSpec, row: Mapping[str, Any] | None, result: Any
) -> tuple[Any, str | None]:
    """The champion's predictions on the challenger's holdout, or why there are none."""
    if row is None:
        return None, None
    from ..domain.model_artifact import load_model
    from ..domain.training import predict

    version = row.get("version")
    artifact = row.get("artifact") or {}
    try:
        bucket, key = layout.parse_s3_uri(str(artifact.get("uri") or ""))
        obj = ctx.store.get(bucket, key, artifact.get("version_id"))
        pipeline = load_model(obj.body, str(artifact.get("sha256") or ""))
    except ArtifactIntegrityError as exc:
        ctx.record(
            "artifact.refused",
            model=spec.name,
            model_version=version,
            reason=exc.message,
            details={"function": "train_model", "uri": artifact.get("uri")},
        )
        return None, f"champion v{version} artifact refused ({exc.message}): a person decides"
    except (InvalidInput, NotFound) as exc:
        return None, f"champion v{version} artifact unavailable ({exc.message}): a person decides"
    features = result.holdout[spec.features.all]
    try:
        return predict(pipeline, features, result.classes), None
    except (ValueError, TypeError, KeyError) as exc:
        return None, f"champion v{version} cannot score the new holdout ({exc}): a person decides"


def _fairness(spec: ModelSpec, result: Any, champion_preds: Any) -> dict[str, Any] | None:
    """Bias of the training data, of both models on the same holdout, and the verdict on the bounds."""
    if not spec.fairness.enabled:
        return None
    from ..domain.fairness import holdout_bias, judge

    challenger = holdout_bias(spec, result.holdout, result.holdout_predictions, result.classes)
    champion = (
        None if champion_preds is None else holdout_bias(spec, result.holdout, champion_preds, result.classes)
    )
    verdict = judge(spec.fairness, challenger, champion)
    return {
        "training_data": result.training_bias,
        "challenger": challenger.model_dump(mode="json"),
        "champion": champion.model_dump(mode="json") if champion is not None else None,
        "verdict": verdict.model_dump(mode="json"),
        "verdict_model": verdict,
    }


def _fairness_summary(fairness: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What the registry row keeps: the verdict, bounds, values, and per-group rates (no rows), the
    groups as the model card's ``GroupFigures``."""
    if not fairness:
        return None
    verdict = fairness["verdict_model"]
    groups = {
        a["attribute"]: {g["group"]: GroupFigures.model_validate(g).model_dump() for g in a["groups"]}
        for a in fairness["challenger"]["attributes"]
    }
    return {
        "verdict": verdict.verdict,
        "bounds": verdict.bounds,
        "tolerance": verdict.tolerance,
        "values": verdict.values,
        "champion_values": verdict.champion_values,
        "too_small": verdict.too_small,
        "missing_attributes": verdict.missing_attributes,
        "failed_checks": verdict.failed_checks,
        "groups": groups,
    }


def _champion_metrics(spec: ModelSpec, result: Any, preds: Any) -> dict[str, Any] | None:
    if preds is None:
        return None
    from ..domain.metrics import task_metrics

    y = result.holdout[spec.target].to_numpy()
    return task_metrics(spec.task, y, preds.label, preds.proba, result.classes)


def _parquet(frame: pd.DataFrame) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buf)
    return buf.getvalue()


def _regime_rows(result: Any, since: dt.datetime | None) -> tuple[Any, str]:
    """(mask of the holdout rows monitoring compares with, which rows in words). After an episode
    (``since``: where its data starts) the reference follows the champion: only holdout rows of the
    new regime - baseline, validation score and noise alike - so what the retrain resolved stops
    alarming, as long as at least MIN_BASELINE_ROWS of them are in the holdout. Else all of it."""
    whole = f"the holdout ({result.n_holdout} rows)"
    times = result.holdout_times
    if since is None or times is None:
        return None, whole
    recent = (times >= pd.Timestamp(since)).to_numpy()
    count = int(recent.sum())
    if count < MIN_BASELINE_ROWS:
        return None, whole
    return recent, f"holdout rows since the episode's data ({count} rows since {since.isoformat()})"


def _monitoring_reference(spec: ModelSpec, result: Any, rows: Any, text: str) -> dict[str, Any]:
    """The metrics batches are compared with: the holdout's, or the new regime's rows' (see above)."""
    from ..domain.metrics import task_metrics

    if rows is None:
        return {"rows": text, "metrics": _without_confusion(result.metrics)}
    preds = result.holdout_predictions
    metrics = task_metrics(
        spec.task,
        result.holdout[spec.target].to_numpy()[rows],
        preds.label[rows],
        None if preds.proba is None else preds.proba[rows],
        result.classes,
    )
    return {"rows": text, "metrics": _without_confusion(metrics)}


def _metric_noise(spec: ModelSpec, result: Any, rows: Any = None) -> dict[str, Any] | None:
    """The primary metric's bootstrap spread on the reference rows: the realized alerts' threshold."""
    from ..domain.performance_bands import metric_noise

    preds = result.holdout_predictions
    keep = slice(None) if rows is None else rows
    noise = metric_noise(
        spec.primary_metric,
        spec.task,
        result.holdout[spec.target].to_numpy()[keep],
        preds.label[keep],
        None if preds.proba is None else preds.proba[keep],
        result.classes,
        seed=spec.seed,
    )
    return noise.model_dump() if noise is not None else None


#: fewest holdout rows of the new regime a baseline is built from (else the whole holdout)
MIN_BASELINE_ROWS = 200


def _estimate_noise(
    spec: ModelSpec, result: Any, estimation: Mapping[str, Any] | None, rows: Any = None
) -> dict[str, Any] | None:
    """The label-free estimate's bootstrap spread on the reference rows (the estimated_drop threshold)."""
    from ..domain.estimation import Estimator
    from ..domain.performance_bands import bootstrap_noise

    proba = result.holdout_predictions.proba
    if estimation is None or proba is None:
        return None
    estimator = Estimator.model_validate(estimation)
    label = result.holdout_predictions.label
    if rows is not None:
        proba, label = proba[rows], label[rows]

    def value_of(idx: Any) -> float | None:
        return estimator.estimate(proba[idx], label[idx]).value(spec.primary_metric)

    noise = bootstrap_noise(spec.primary_metric, len(label), value_of, resamples=100, seed=spec.seed)
    return noise.model_dump() if noise is not None else None


def _baseline_table(spec: ModelSpec, result: Any, rows: Any = None) -> Any:
    """Reference rows (the holdout, or its new-regime rows: :func:`_regime_rows`) with the model's
    out-of-sample predictions: the reference monitoring compares to.

    Out-of-sample predictions matter: in-sample ones are over-confident, and prediction drift would
    fire on the first production batch.
    """
    import pyarrow as pa

    frame = result.holdout.copy()
    preds = result.holdout_predictions
    frame[spec.prediction_column] = preds.label
    if spec.task == "binary" and spec.probability_column and preds.proba is not None:
        frame[spec.probability_column] = preds.proba[:, 1]
    if rows is not None:
        frame = frame.loc[rows]
    return pa.Table.from_pandas(frame, preserve_index=False)


def _write_baseline(
    ctx: Context,
    spec: ModelSpec,
    version: int,
    result: Any,
    lineage: list[dict[str, Any]],
    *,
    rows: Any = None,
) -> str:
    """The version's baseline (monitoring reference) under ``layout.baseline_prefix``; returns its URI."""
    from .create_baseline import write_baseline  # statistics.json and constraints.json beside it

    baseline = build_baseline(
        _baseline_table(spec, result, rows),
        spec,
        feature_importance=result.feature_importance,
        sources=lineage,
        model_version=version,
    )
    prefix = layout.baseline_prefix(spec.name, version)
    return write_baseline(ctx, spec.name, baseline, prefix, policy=spec.drift)["baseline"].uri


def _write_estimation(
    ctx: Context, spec: ModelSpec, version: int, result: Any
) -> tuple[ObjectRef | None, dict[str, Any] | None]:
    """Label-free performance estimator fitted on the holdout (classifiers with probabilities), and
    the holdout rows each batch's estimate reweights to the batch (services.estimation_sample)."""
    from ..domain.estimation import fit_estimator_for_version

    preds = result.holdout_predictions
    if not spec.is_classifier or preds.proba is None:
        return None, None
    try:
        doc = fit_estimator_for_version(preds.proba, result.holdout[spec.target].to_numpy(), result.classes)
    except (ValueError, TypeError) as exc:
        log.warning("estimator not fitted", extra={"model": spec.name, "error": str(exc)})
        return None, None
    key = layout.estimation_key(spec.name, version)
    ref = ctx.store.put(
        ctx.settings.artifacts_bucket, key, json.dumps(doc).encode(), content_type="application/json"
    )
    from ..domain.training import prepare_features
    from .estimation_sample import write_sample

    labels = result.holdout[spec.target].to_numpy()
    write_sample(ctx, spec, key, prepare_features(result.holdout, spec), preds.proba, labels, result.classes)
    return ref, doc


def _regenerate_cards(ctx: Context, model: str, versions: list[int]) -> None:
    from .model_cards import regenerate_card

    for version in versions:
        try:
            regenerate_card(ctx, model, version)
        except StewardError as exc:  # a card is documentation: never fail a registered version for it
            log.warning(
                "model card not generated", extra={"model": model, "version": version, "error": exc.message}
            )


def _notify_once(
    ctx: Context, request_key: str, version: int, subject: str, message: str, model: str
) -> None:
    """One email per decided version, whatever retries happen around it."""

    def send() -> dict[str, Any]:
        _notify(ctx, subject, message, model)
        return {"sent": subject}

    run_once("train_model.notify", {"request": request_key, "version": version}, send)


def _notify(ctx: Context, subject: str, message: str, model: str) -> None:
    if ctx.notifier is None:
        return
    try:
        ctx.notifier.publish(subject, message, {"model": model, "source": "train_model"})
    except StewardError as exc:
        log.warning("notification failed", extra={"model": model, "error": exc.message})


def _evidence_text(
    spec: ModelSpec,
    version: int,
    decision: Any,
    result: Any,
    lineage: list[dict[str, Any]],
    evaluation: ObjectRef,
    trigger: str,
    reason: str,
    outcome: str,
) -> str:
    lines = [
        f"Model {spec.name} version {version}: {OUTCOME_WORDS[outcome]}.",
        f"Trigger: {trigger} ({reason})",
        "",
        decision.text(),
        "",
        f"Holdout metrics ({result.n_holdout} rows, trained on {result.n_train}):",
        *[f"  {k}: {v:.4f}" for k, v in result.metrics.items() if isinstance(v, float)],
        "",
        "Training data:",
        *[
            f"  {ref['uri']} (version {ref.get('version_id')}, sha256 {str(ref.get('sha256'))[:12]})"
            for ref in lineage
        ],
        "",
        f"Evidence: {evaluation.uri}",
    ]
    if outcome == "pending_approval":
        lines += [
            "",
            f"Approve:  steward models approve {spec.name} {version} --reason '...'",
            f"Reject:   steward models reject {spec.name} {version} --reason '...'",
        ]
    return "\n".join(lines)


def _without_confusion(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if k != "confusion_matrix"}


# --- schedule -------------------------------------------------------------------------------
def schedule_interval(expression: str) -> dt.timedelta:
    """``rate(N minutes|hours|days)`` -> timedelta; anything else is a SpecError naming the field."""
    from ..errors import SpecError

    match = _RATE.fullmatch(expression.strip())
    if not match or int(match.group(1)) <= 0:
        raise SpecError(f"retrain.schedule: '{expression}' is not of the form 'rate(N days|hours|minutes)'")
    unit = match.group(2).rstrip("s")
    return dt.timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[unit])


def is_due(expression: str, state: Mapping[str, Any], now: dt.datetime) -> tuple[bool, str]:
    """Whether a scheduled retrain is due, and why (or why not)."""
    interval = schedule_interval(expression)
    stamps = [s for s in (state.get("last_retrain_at"), state.get("last_scheduled_retrain_at")) if s]
    if not stamps:
        if state.get("champion") is None and not state.get("last_training_data"):
            return False, "never trained: upload training data first"
        return True, "no retrain recorded"
    last = max(_parse_time(str(s)) for s in stamps)
    if now - last >= interval:
        return True, f"last retrain {last.isoformat()} is {now - last} ago (schedule {expression})"
    return False, f"next retrain due at {(last + interval).isoformat()}"


def retrain_scheduled(ctx: Context) -> dict[str, Any]:
    """Start a retrain for each model whose schedule is due (one claim per model per period)."""
    registry = _registry(ctx)
    now = ctx.clock()
    started: list[str] = []
    skipped: dict[str, str] = {}
    for model in registry.list_models():
        try:
            spec, _ = load_spec(ctx, model)
        except InvalidInput as exc:
            skipped[model] = exc.message
            continue
        if not spec.retrain.schedule:
            skipped[model] = "no retrain.schedule"
            continue
        state = registry.get_model_state(model)
        try:
            due, why = is_due(spec.retrain.schedule, state, now)
        except InvalidInput as exc:
            skipped[model] = exc.message
            continue
        if not due:
            skipped[model] = why
            continue
        try:  # claim this period: a concurrent tick loses the condition and skips
            registry.update_model_state(
                model,
                {"last_scheduled_retrain_at": now.isoformat(), "last_retrain_requested_at": now.isoformat()},
                expected={"state_version": int(state.get("state_version") or 0)},
            )
        except ConflictError:
            skipped[model] = "claimed by a concurrent schedule tick"
            continue
        request = {
            "action": "retrain",
            "model": model,
            "trigger": "schedule",
            "reason": f"scheduled retrain ({spec.retrain.schedule}): {why}",
            "episode": now.isoformat(),
        }
        ctx.record(
            "retrain.requested",
            model=model,
            reason=request["reason"],
            details={"trigger": "schedule", "episode": request["episode"]},
        )
        if ctx.invoker is not None and ctx.settings.train_function_name:
            ctx.invoker.invoke_async(ctx.settings.train_function_name, request)
        else:
            retrain(ctx, request)
        started.append(model)
    return {"status": "scheduled", "started": started, "skipped": skipped}

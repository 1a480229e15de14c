"""score_batch: score an uploaded batch with the champion (and challenger), and measure the scoring.

``scoring/<model>/<file>`` ->

1. the model's spec, the upload read and conformed to its contract (role ``scoring``);
2. the champion's artifact (and the challenger's when the model state has one with a traffic
   share > 0) from the artifacts bucket, verified against the registry's SHA-256 before loading;
   a mismatch refuses the batch (audit ``artifact.refused``, quarantine, ``ScoringErrors``);
3. A/B routing by a stable hash of the row id (domain.routing);
4. scoring in micro-batches of ``MICRO_BATCH_ROWS``, each timed: per-row latency p50/p95, batch
   latency, throughput, CPU time, peak memory, model load time, cold start;
5. the scored rows to ``inference/<model>/<batch_id>.parquet`` in the data bucket (so
   monitor_batch profiles them) and a compact copy to ``predictions/<model>/<batch_id>.parquet``
   in the artifacts bucket (for the label join, see services.predictions_store);
6. the label-free performance estimate per variant when its version has an ``estimation.json``;
7. metrics (dims ``{model}``, and ``{model, variant}`` for per-variant values) and an audit
   record ``batch.scored``.

Idempotent per upload (bucket, key, version). Bad input ends in quarantine + audit + metric; only
transient errors propagate (Lambda retries them).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import metric_names as mn
from ..domain.contract import SCORER_COLUMNS
from ..errors import ArtifactIntegrityError, ConfigError, InvalidInput, NotFound, StewardError
from ..events import S3Upload
from ..idempotency import run_once
from ..layout import (
    UploadKey,
    attribution_key,
    estimated_performance_key,
    estimation_key,
    inference_key,
    parse_s3_uri,
    parse_upload_key,
)
from ..observability import peak_memory_mb
from ..ports import ObjectRef
from ..spec import ModelSpec
from .context import Context
from .episodes import observation, observe_batch, performance_observation
from .predictions_store import PARQUET, parquet_bytes, write_predictions
from .quarantine import quarantine_upload

log = logging.getLogger(__name__)

MICRO_BATCH_ROWS = 1000
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
MODEL_CACHE_SIZE = 4
CHAMPION = "champion"
CHALLENGER = "challenger"

_cold_start = True
_model_cache: dict[tuple[str, str, str | None, str], Any] = {}


def consume_cold_start() -> bool:
    """True on the first invocation in this process (the Lambda sandbox's cold start)."""
    global _cold_start
    cold, _cold_start = _cold_start, False
    return cold


def clear_model_cache() -> None:
    _model_cache.clear()


# --- entry point ----------------------------------------------------------------------------
def score_upload(ctx: Context, upload: S3Upload) -> dict[str, Any]:
    """Score one uploaded object exactly once; returns a small summary (stored for repeats)."""
    cold = consume_cold_start()
    return run_once("score_batch", upload.idempotency_key(), lambda: _score_or_reject(ctx, upload, cold))


def _score_or_reject(ctx: Context, upload: S3Upload, cold: bool) -> dict[str, Any]:
    try:
        key = parse_upload_key(upload.key, url_encoded=False)
    except InvalidInput as exc:
        ctx.record(
            "batch.rejected",
            reason=exc.message,
            inputs=[upload.object_ref().as_dict()],
            details={"function": "score_batch", "code": exc.code},
        )
        return {"status": "rejected", "key": upload.key, "code": exc.code, "reason": exc.message}
    try:
        return score_batch(ctx, upload, key, cold_start=cold)
    except ArtifactIntegrityError as exc:
        ctx.record(
            "artifact.refused",
            model=key.model,
            reason=exc.message,
            inputs=[upload.object_ref().as_dict()],
            details={"function": "score_batch", "batch_id": key.batch_id, "code": exc.code},
        )
        return _reject(ctx, upload, key, exc)
    except InvalidInput as exc:
        return _reject(ctx, upload, key, exc)
    finally:
        ctx.metrics.flush()


def conform_table(table: Any, spec: ModelSpec, role: str) -> tuple[Any, int]:
    """The table after the data contract (domain.contract) and the number of findings."""
    from ..domain.contract import conform

    conformed = conform(table, spec, role=role)  # type: ignore[arg-type]
    return conformed.table, len(conformed.findings)


def _reject(ctx: Context, upload: S3Upload, key: UploadKey, exc: StewardError) -> dict[str, Any]:
    """Quarantine the batch with the reason and count the error; never raise (no retry loop)."""
    summary = quarantine_upload(ctx, upload, key, exc, "score_batch")
    ctx.metrics.put(mn.SCORING_ERRORS, 1, "Count", {"model": key.model})
    return summary


# --- models ---------------------------------------------------------------------------------
@dataclass
class LoadedModel:
    variant: str
    version: int
    row: dict[str, Any]
    pipeline: Any
    ref: ObjectRef
    load_ms: float
    cached: bool


def load_version(ctx: Context, model: str, row: Mapping[str, Any], variant: str) -> LoadedModel:
    """Fetch and verify a version's artifact (cached per process by exact object version + digest)."""
    from ..domain.model_artifact import load_model

    version = int(row["version"])
    artifact = row.get("artifact") or {}
    uri, sha = artifact.get("uri"), artifact.get("sha256")
    if not uri or not sha:
        raise ArtifactIntegrityError(
            f"registry row of {model} v{version} has no artifact URI or SHA-256: refusing to load it"
        )
    bucket, key = parse_s3_uri(str(uri))
    version_id = artifact.get("version_id")
    cache_key = (bucket, key, version_id, str(sha))
    started = time.perf_counter()
    if cache_key in _model_cache:
        return LoadedModel(
            variant,
            version,
            dict(row),
            _model_cache[cache_key],
            ObjectRef(bucket, key, version_id, str(sha)),
            0.0,
            True,
        )
    try:
        obj = ctx.store.get(bucket, key, version_id)
    except NotFound as exc:
        raise ArtifactIntegrityError(
            f"artifact of {model} v{version} is missing at {uri}: {exc.message}"
        ) from exc
    pipeline = load_model(obj.body, str(sha))
    if len(_model_cache) >= MODEL_CACHE_SIZE:
        _model_cache.pop(next(iter(_model_cache)))
    _model_cache[cache_key] = pipeline
    load_ms = (time.perf_counter() - started) * 1000.0
    return LoadedModel(variant, version, dict(row), pipeline, obj.ref, load_ms, False)


def serving_models(ctx: Context, model: str) -> tuple[LoadedModel, LoadedModel | None, float]:
    """Champion, challenger (if any gets traffic) and the challenger's traffic share.

    One STATE read decides both, so a promotion landing mid-read cannot mix two states. A
    challenger whose row is missing is skipped (logged): a registry slip must not stop scoring.
    """
    if ctx.registry is None:
        raise ConfigError("score_batch needs the registry (REGISTRY_TABLE)")
    state = ctx.registry.get_model_state(model) or {}
    no_champion = InvalidInput(
        f"model '{model}' has no champion version yet: train it (upload to training/{model}/) "
        "or promote a version before scoring",
        code="no_champion",
    )
    if state.get("champion") is None:
        raise no_champion
    try:
        champion_row = ctx.registry.get_version(model, int(state["champion"]))
    except NotFound as exc:
        raise no_champion from exc
    champion = load_version(ctx, model, champion_row, CHAMPION)
    share = min(float(state.get("traffic_share") or 0.0), 1.0)
    challenger_version = state.get("challenger")
    if challenger_version is None or share <= 0 or int(challenger_version) == champion.version:
        return champion, None, 0.0
    try:
        challenger_row = ctx.registry.get_version(model, int(challenger_version))
    except NotFound:
        log.warning(
            "challenger row missing; scoring with the champion only",
            extra={"model": model, "challenger": challenger_version},
        )
        return champion, None, 0.0
    return champion, load_version(ctx, model, challenger_row, CHALLENGER), share


# --- scoring --------------------------------------------------------------------------------
@dataclass
class ScoringRun:
    labels: np.ndarray
    proba: np.ndarray | None
    micro_latency_ms: list[float]  # per-row latency of each micro-batch
    seconds: float


def score_rows(
    models: Mapping[str, LoadedModel],
    features: pd.DataFrame,
    variants: np.ndarray,
    classes: list[str] | None,
    micro_batch: int = MICRO_BATCH_ROWS,
) -> ScoringRun:
    """Score every row with its variant's pipeline in timed micro-batches."""
    from ..domain.training import predict

    n = len(features)
    labels = np.empty(n, dtype=object if classes is not None else "float64")
    proba = np.full((n, len(classes)), np.nan) if classes is not None else None
    latencies: list[float] = []
    has_proba = True
    started = time.perf_counter()
    for variant, loaded in models.items():
        rows = np.flatnonzero(variants == variant)
        for start in range(0, rows.size, micro_batch):
            chunk = rows[start : start + micro_batch]
            t0 = time.perf_counter()
            try:
                preds = predict(loaded.pipeline, features.iloc[chunk], classes)
            except (ValueError, TypeError, KeyError) as exc:
                raise InvalidInput(
                    f"{variant} v{loaded.version} could not score this batch: {exc}", code="scoring_failed"
                ) from exc
            latencies.append((time.perf_counter() - t0) * 1000.0 / chunk.size)
            labels[chunk] = preds.label
            if proba is not None:
                if preds.proba is None:
                    has_proba = False
                else:
                    proba[chunk] = preds.proba
    return ScoringRun(labels, proba if has_proba else None, latencies, time.perf_counter() - started)


def resolve_classes(spec: ModelSpec, champion: LoadedModel) -> list[str] | None:
    """Output class order: the spec's, else the champion's registry row, else its fitted classes."""
    if not spec.is_classifier:
        return None
    if spec.classes:
        return [str(c) for c in spec.classes]
    from ..domain.metrics import as_labels

    declared = champion.row.get("classes")
    if declared:
        return [str(c) for c in declared]
    fitted = getattr(champion.pipeline, "classes_", None)
    if fitted is None:
        raise InvalidInput("the champion is a classifier without classes_", code="bad_model")
    return [str(c) for c in as_labels(np.asarray(fitted))]


def probability_columns(spec: ModelSpec, classes: list[str]) -> list[str]:
    """Inference-file probability columns: binary one column (the positive class), multiclass
    ``<name>_<class>`` per class, where name is ``spec.probability_column`` or "probability"
    (the names domain.contract looks for in an inference batch)."""
    name = spec.probability_column or "probability"
    if len(classes) == 2:
        return [name]
    return [f"{name}_{c}" for c in classes]


# long: one batch scored: read, route, predict, write, record, in the order a retry needs
def score_batch(
    ctx: Context, upload: S3Upload, key: UploadKey, *, cold_start: bool = False
) -> dict[str, Any]:
    """Score one batch (see the module docstring); raises InvalidInput/ArtifactIntegrityError."""
    from ..domain.ingest import read_table
    from ..domain.routing import assign_variants, normalize_ids
    from ..domain.training import prepare_features
    from .specs import load_spec

    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    ctx.settings.require("data_bucket", "artifacts_bucket")
    model, batch_id = key.model, key.batch_id
    dims = {"model": model}
    spec, spec_ref = load_spec(ctx, model)
    obj = ctx.store.get(upload.bucket, upload.key, upload.version_id, max_bytes=MAX_UPLOAD_BYTES)
    table, findings = conform_table(read_table(obj.body, key.name), spec, "scoring")
    frame = table.to_pandas()
    if spec.id_column not in frame.columns:
        raise InvalidInput(
            f"scoring batch has no id column '{spec.id_column}': ids are needed to route rows and to join "
            "labels later",
            code="missing_id",
        )
    if len(frame) == 0:
        raise InvalidInput("scoring batch has no rows", code="empty_batch")
    ids = normalize_ids(frame[spec.id_column])
    if ids.isna().any():
        raise InvalidInput(f"{int(ids.isna().sum())} rows have no '{spec.id_column}'", code="missing_id")

    champion, challenger, share = serving_models(ctx, model)
    models = {CHAMPION: champion, **({CHALLENGER: challenger} if challenger else {})}
    variants = (
        assign_variants(model, ids, share) if challenger else np.full(len(frame), CHAMPION, dtype=object)
    )
    classes = resolve_classes(spec, champion)
    features = prepare_features(frame, spec)
    run = score_rows(models, features, variants, classes)
    versions = np.array([models[v].version for v in variants], dtype="int64")
    scored_at = ctx.clock()
    # before the inference file: monitor_batch (which it triggers) reads these into the batch report
    attribution_ref = _attribution_drift(
        ctx, spec, champion, features.loc[variants == CHAMPION], classes, batch_id, _time_range(frame, spec)
    )
    estimates, estimate_ref = _estimate(
        ctx, spec, models, run, variants, classes, batch_id, features, _time_range(frame, spec)
    )

    # --- outputs --------------------------------------------------------------------------
    inference = _inference_frame(frame, spec, run, classes, versions, variants)
    inference_ref = ctx.store.put(
        ctx.settings.data_bucket,
        inference_key(model, batch_id),
        parquet_bytes(inference),
        content_type=PARQUET,
        metadata={"source-key": upload.key[:512], "batch-id": batch_id},
    )
    compact = _compact_frame(frame, spec, ids, run, classes, versions, variants, scored_at, batch_id)
    predictions_ref = write_predictions(
        ctx.store, ctx.settings.artifacts_bucket, model, batch_id, compact, scored_at
    )

    # --- measurements ---------------------------------------------------------------------
    n = len(frame)
    batch_ms = run.seconds * 1000.0
    p50, p95 = (float(np.percentile(run.micro_latency_ms, q)) for q in (50, 95))
    load_ms = sum(m.load_ms for m in models.values() if not m.cached)
    cpu_ms = (time.process_time() - cpu0) * 1000.0
    memory = peak_memory_mb()
    put = ctx.metrics.put
    put(mn.SCORING_ROWS, n, "Count", dims)
    put(mn.SCORING_THROUGHPUT, n / run.seconds if run.seconds > 0 else 0.0, "Count/Second", dims)
    put(mn.SCORING_LATENCY_P50, p50, "Milliseconds", dims)
    put(mn.SCORING_LATENCY_P95, p95, "Milliseconds", dims)
    put(mn.SCORING_BATCH_LATENCY, batch_ms, "Milliseconds", dims)
    if any(not m.cached for m in models.values()):
        put(mn.MODEL_LOAD_TIME, load_ms, "Milliseconds", dims)
    put(mn.COLD_START, 1.0 if cold_start else 0.0, "Count", dims)
    put(mn.CPU_TIME, cpu_ms, "Milliseconds", dims)
    put(mn.SCORING_PEAK_MEMORY, memory, "Megabytes", dims)
    rows_by_variant = {v: int((variants == v).sum()) for v in models}
    for variant, rows in rows_by_variant.items():
        put(mn.SCORING_ROWS, rows, "Count", {"model": model, "variant": variant})

    performance = {
        "rows": n,
        "micro_batches": len(run.micro_latency_ms),
        "latency_ms_per_row_p50": round(p50, 6),
        "latency_ms_per_row_p95": round(p95, 6),
        "batch_latency_ms": round(batch_ms, 3),
        "throughput_rows_per_s": round(n / run.seconds, 3) if run.seconds > 0 else None,
        "model_load_ms": round(load_ms, 3),
        "model_cache_hit": all(m.cached for m in models.values()),
        "cold_start": cold_start,
        "cpu_ms": round(cpu_ms, 3),
        "peak_memory_mb": memory,
        "total_ms": round((time.perf_counter() - wall0) * 1000.0, 3),
    }
    inputs = [obj.ref.as_dict(), spec_ref.as_dict(), *(m.ref.as_dict() for m in models.values())]
    outputs = [
        r.as_dict() for r in (inference_ref, predictions_ref, estimate_ref, attribution_ref) if r is not None
    ]
    ctx.record(
        "batch.scored",
        model=model,
        model_version=champion.version,
        inputs=inputs,
        outputs=outputs,
        details={
            "batch_id": batch_id,
            "variants": {v: {"version": models[v].version, "rows": r} for v, r in rows_by_variant.items()},
            "traffic_share": share,
            "performance": performance,
            "contract_findings": findings,
            "estimated": estimates,
        },
    )
    return {
        "status": "scored",
        "model": model,
        "batch_id": batch_id,
        "rows": n,
        "variants": rows_by_variant,
        "versions": {v: m.version for v, m in models.items()},
        "inference": inference_ref.uri,
        "predictions": predictions_ref.uri,
        "performance": performance,
        "estimated": estimates,
    }


def _inference_frame(
    frame: pd.DataFrame,
    spec: ModelSpec,
    run: ScoringRun,
    classes: list[str] | None,
    versions: np.ndarray,
    variants: np.ndarray,
) -> pd.DataFrame:
    """Rows monitor_batch profiles: id, timestamp, features, prediction, probabilities, version, variant."""
    cols = [spec.id_column]
    if spec.timestamp_column and spec.timestamp_column in frame.columns:
        cols.append(spec.timestamp_column)
    cols += [f for f in [*spec.features.all, *spec.sensitive_only_columns] if f in frame.columns]
    out = frame[cols].copy()
    out[spec.prediction_column] = run.labels
    if classes is not None and run.proba is not None:
        names = probability_columns(spec, classes)
        if len(names) == 1:
            out[names[0]] = run.proba[:, 1]
        else:
            for j, name in enumerate(names):
                out[name] = run.proba[:, j]
    version_column, variant_column = SCORER_COLUMNS
    out[version_column] = versions
    out[variant_column] = variants.astype(str)
    return out


def _compact_frame(
    frame: pd.DataFrame,
    spec: ModelSpec,
    ids: pd.Series,
    run: ScoringRun,
    classes: list[str] | None,
    versions: np.ndarray,
    variants: np.ndarray,
    scored_at: Any,
    batch_id: str,
) -> pd.DataFrame:
    """The label join's copy: normalized id, prediction, every class probability, who scored when."""
    from ..domain.label_join import PROBABILITY_PREFIX, SEGMENT_PREFIX

    out = pd.DataFrame({"id": ids.to_numpy(dtype=object)})
    if spec.timestamp_column and spec.timestamp_column in frame.columns:
        out["timestamp"] = pd.to_datetime(frame[spec.timestamp_column], utc=True, errors="coerce").to_numpy()
    out["prediction"] = run.labels
    if classes is not None and run.proba is not None:
        for j, c in enumerate(classes):
            out[PROBABILITY_PREFIX + c] = run.proba[:, j]
    out["model_version"] = versions
    out["variant"] = variants.astype(str)
    out["scored_at"] = pd.Timestamp(scored_at)
    out["batch_id"] = batch_id
    for seg in dict.fromkeys([*spec.segments, *spec.fairness.sensitive_attributes]):
        if seg in frame.columns:  # sensitive attributes too: realized group metrics once labels arrive
            out[SEGMENT_PREFIX + seg] = frame[seg].to_numpy()
    return out


# long: the label-free estimate per variant, then its metrics
def _estimate(
    ctx: Context,
    spec: ModelSpec,
    models: Mapping[str, LoadedModel],
    run: ScoringRun,
    variants: np.ndarray,
    classes: list[str] | None,
    batch_id: str,
    features: pd.DataFrame,
    time_range: tuple[str | None, str | None] = (None, None),
) -> tuple[dict[str, dict[str, Any]], ObjectRef | None]:
    """Label-free estimate per variant whose version stored an estimation.json (adjusted to the
    variant's rows when its reference sample is there: services.estimation_sample); emits the metrics."""
    if classes is None or run.proba is None:
        return {}, None
    from ..domain.estimation import estimation_document
    from .estimation_sample import for_batch, read_sample

    model = spec.name
    summaries: dict[str, dict[str, Any]] = {}
    documents: dict[str, Any] = {}
    for variant, loaded in models.items():
        rows = variants == variant
        if not rows.any():
            continue
        key = estimation_key(model, loaded.version)
        try:
            doc = ctx.store.get(ctx.settings.artifacts_bucket, key)
            estimator = estimation_document(doc.body)
        except NotFound:
            continue
        except ValueError as exc:
            log.warning(
                "estimation.json unusable",
                extra={"model": model, "version": loaded.version, "error": str(exc)[:200]},
            )
            continue
        if estimator.classes != classes:
            log.warning(
                "estimation.json classes differ from scoring classes; skipped",
                extra={"model": model, "version": loaded.version},
            )
            continue
        adjusted = for_batch(estimator, read_sample(ctx, key), spec, features.loc[rows])
        estimate = adjusted.estimate(run.proba[rows], run.labels[rows])
        validation = _validation_score(loaded.row, spec.primary_metric, estimator.reference)
        drop = estimate.drop(spec.primary_metric, validation, greater_is_better=spec.greater_is_better)
        dim_sets = [{"model": model, "variant": variant}]
        if variant == CHAMPION:
            dim_sets.insert(0, {"model": model})
        for dims in dim_sets:
            primary = estimate.value(spec.primary_metric)
            if primary is not None:
                ctx.metrics.put(mn.ESTIMATED_PRIMARY_METRIC, primary, "None", dims)
            if drop is not None:
                ctx.metrics.put(mn.ESTIMATED_PRIMARY_METRIC_DROP, drop, "None", dims)
            for name, est in estimate.metrics.items():
                if est.value is not None:
                    ctx.metrics.put(mn.estimated(name), est.value, "None", dims)
        threshold = None
        if variant == CHAMPION:
            seen = performance_observation(
                ctx,
                spec,
                "estimated_drop",
                batch_id,
                drop=drop,
                rows=int(rows.sum()),
                version_row=loaded.row,
                time_range=time_range,
            )
            if seen is not None:
                threshold = seen.threshold
                observe_batch(ctx, model, {"estimated_drop": seen}, spec=spec)
        documents[variant] = {
            "version": loaded.version,
            "validation": validation,
            "drop_threshold": threshold,
            "primary_metric": spec.primary_metric,
            "drop": drop,
            "estimate": estimate.model_dump(mode="json"),
        }
        summaries[variant] = {
            "version": loaded.version,
            spec.primary_metric: estimate.value(spec.primary_metric),
            "drop": drop,
            "rows": estimate.rows,
        }
    if not documents:
        return {}, None
    ref = ctx.store.put(
        ctx.settings.artifacts_bucket,
        estimated_performance_key(model, batch_id),
        json.dumps({"model": model, "batch_id": batch_id, "variants": documents}, indent=2).encode(),
        content_type="application/json",
    )
    return summaries, ref


# long: attributions, their drift, the artifact, the metric and the observation for one batch
def _attribution_drift(
    ctx: Context,
    spec: ModelSpec,
    champion: LoadedModel,
    features: pd.DataFrame,
    classes: list[str] | None,
    batch_id: str,
    time_range: tuple[str | None, str | None],
) -> ObjectRef | None:
    """The champion rows' label-free attributions against its version's baseline (nDCG,
    domain.attribution): ``attribution.json`` beside the batch's quality files, the
    ``AttributionNdcg`` metric and an ``attribution_drift`` observation. None when turned off."""
    from ..domain.attribution import attribution_drift, unavailable
    from ..domain.training import output_attributions

    policy = spec.explanations
    if not policy.attribution_drift:
        return None
    baseline = champion.row.get("attribution_baseline") or {}
    if len(features) < 2:
        result = unavailable("fewer than two rows scored by the champion")
    elif not baseline:
        result = unavailable(
            f"v{champion.version} has no attribution baseline (trained before attributions were "
            "stored): the next version will"
        )
    else:
        current = output_attributions(champion.pipeline, features, spec, classes) or {}
        result = attribution_drift(
            {str(k): float(v) for k, v in baseline.items()},
            current,
            threshold=policy.ndcg_threshold,
            version=champion.version,
            rows=min(len(features), policy.sample_rows),
        )
    if result.available and result.ndcg is not None:
        ctx.metrics.put(mn.ATTRIBUTION_NDCG, result.ndcg, "None", {"model": spec.name})
        climbed = [r for r in result.ranks if r.current_rank is not None and r.current_rank < r.baseline_rank]
        evidence = f"nDCG {result.ndcg:.3g} (threshold {policy.ndcg_threshold:g})" + (
            "; risen: "
            + ", ".join(f"{r.feature} #{r.baseline_rank} -> #{r.current_rank}" for r in climbed[:3])
            if climbed
            else ""
        )
        # nDCG is higher-is-better; the episode keeps the largest value as the worst, so it stores 1 - nDCG
        seen = observation(
            ctx,
            batch_id,
            breached=result.drifted,
            value=round(1.0 - result.ndcg, 6),
            threshold=round(1.0 - policy.ndcg_threshold, 6),
            note=f"shift = 1 - nDCG; breaches above 1 - ndcg_threshold ({policy.ndcg_threshold:g})",
            event_time=time_range[1],
            data_from=time_range[0],
            evidence=evidence,
        )
        observe_batch(ctx, spec.name, {"attribution_drift": seen}, spec=spec)
    return ctx.store.put(
        ctx.settings.artifacts_bucket,
        attribution_key(spec.name, batch_id),
        json.dumps({"model": spec.name, "batch_id": batch_id, **result.model_dump(mode="json")}).encode(),
        content_type="application/json",
    )


def _time_range(frame: pd.DataFrame, spec: ModelSpec) -> tuple[str | None, str | None]:
    """(oldest, newest) row time of the batch, when the spec names a timestamp column it carries."""
    column = spec.timestamp_column
    if not column or column not in frame.columns:
        return None, None
    stamps = pd.to_datetime(frame[column], utc=True, errors="coerce").dropna()
    if stamps.empty:
        return None, None
    return stamps.min().isoformat(), stamps.max().isoformat()


def _validation_score(
    row: Mapping[str, Any], metric: str, fallback: Mapping[str, float | None]
) -> float | None:
    """What a batch's metric is compared with: the version's monitoring reference (the new regime's
    holdout rows after an episode's retrain), else its holdout score."""
    value = ((row.get("monitoring_reference") or {}).get("metrics") or {}).get(metric)
    if value is None:
        value = (row.get("metrics") or {}).get(metric)
    if value is None:
        value = fallback.get(metric)
    return None if value is None else float(value)

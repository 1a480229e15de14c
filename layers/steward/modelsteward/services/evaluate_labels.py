"""evaluate_labels: realized model quality once labels arrive, and labeled rows for retraining.

``labels/<model>/<file>`` (columns: the spec's id column, the label named ``spec.target`` or
``label``, optionally the timestamp column) ->

1. labels normalized and deduplicated (domain.label_join: last by timestamp wins, duplicates and
   rows without id/label counted);
2. joined by id to the compact prediction copies of *every* earlier scoring batch of the model
   scored within ``retrain.training_window_days`` (services.predictions_store picks the files);
3. realized metrics (domain.metrics, the same code as the training holdout) per model version and
   variant, per variant, per segment, and for the model (= rows the champion variant scored);
   the primary metric's drop against the version's validation score from the registry;
4. metrics ``RealizedPrimaryMetric``, ``RealizedPrimaryMetricDrop``, ``Realized_<metric>``
   (dims ``{model}`` and ``{model, variant}``), ``LabelsMatched`` / ``LabelsUnmatched``;
5. ``quality/<model>/<batch_id>/quality.json`` (artifacts bucket) with every count, the scoring
   batches and windows the labels belong to (late labels: window results can be recomputed), and
   the unmatched/invalid label rows beside it as Parquet;
6. labeled rows (features from the stored inference rows + the label) to the training pool
   ``pool/<model>/<batch_id>.parquet`` in the data bucket, with a lineage sidecar, after the
   spec's PII policy;
7. an audit record ``labels.evaluated``.

Labels for a model without a spec are counted, reported in quality.json and quarantined; nothing
raises for bad input (no retry loop), and no label row disappears without a count.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import metric_names as mn
from ..domain.episodes import Observation
from ..errors import InvalidInput, NotFound, StewardError, UnknownModel
from ..events import S3Upload
from ..idempotency import run_once
from ..layout import UploadKey, inference_key, parse_upload_key, pool_key, quality_prefix
from ..ports import ObjectRef, StoredObject
from ..spec import CLASSIFIER_METRICS, REGRESSOR_METRICS, ModelSpec
from .context import Context
from .episodes import observe_batch, performance_observation, realized_bias_observation
from .predictions_store import PARQUET, PredictionFiles, parquet_bytes, read_parquet, window_files
from .quarantine import quarantine_upload

log = logging.getLogger(__name__)

MAX_LABEL_BYTES = 256 * 1024 * 1024
DEFAULT_LABEL_COLUMN = "label"
CHAMPION = "champion"


def quality_key(model: str, batch_id: str) -> str:
    return quality_prefix(model, batch_id) + "quality.json"


def pool_lineage_key(model: str, batch_id: str) -> str:
    """Artifacts bucket, beside quality.json: train_model reads every object under pool/<model>/."""
    return quality_prefix(model, batch_id) + "pool_lineage.json"


# --- entry point ----------------------------------------------------------------------------
def evaluate_upload(ctx: Context, upload: S3Upload) -> dict[str, Any]:
    """Evaluate one label upload exactly once; returns a small summary."""
    return run_once("evaluate_labels", upload.idempotency_key(), lambda: _evaluate_or_reject(ctx, upload))


def _evaluate_or_reject(ctx: Context, upload: S3Upload) -> dict[str, Any]:
    try:
        key = parse_upload_key(upload.key, url_encoded=False)
    except InvalidInput as exc:
        ctx.record(
            "labels.rejected",
            reason=exc.message,
            inputs=[upload.object_ref().as_dict()],
            details={"function": "evaluate_labels", "code": exc.code},
        )
        return {"status": "rejected", "key": upload.key, "code": exc.code, "reason": exc.message}
    try:
        return evaluate_labels(ctx, upload, key)
    except UnknownModel as exc:
        return _unknown_model(ctx, upload, key, exc)
    except InvalidInput as exc:
        return _reject(ctx, upload, key, exc)
    finally:
        ctx.metrics.flush()


def _reject(
    ctx: Context, upload: S3Upload, key: UploadKey, exc: StewardError, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Quarantine the label upload with the reason (services.quarantine audits it); never raise."""
    summary = quarantine_upload(ctx, upload, key, exc, "evaluate_labels", details=extra)
    return {**summary, **(extra or {})}


def _unknown_model(ctx: Context, upload: S3Upload, key: UploadKey, exc: UnknownModel) -> dict[str, Any]:
    """Count the labels of a model the suite does not know and say so where a person looks."""
    rows: int | None = None
    try:
        from ..domain.ingest import read_table

        obj = ctx.store.get(upload.bucket, upload.key, upload.version_id, max_bytes=MAX_LABEL_BYTES)
        rows = int(read_table(obj.body, key.name).num_rows)
    except (InvalidInput, NotFound):
        rows = None
    report = {
        "model": key.model,
        "batch_id": key.batch_id,
        "status": "unknown_model",
        "reason": exc.message,
        "evaluated_at": ctx.clock().isoformat(),
        "labels": upload.object_ref().as_dict(),
        "counts": {"label_rows": rows, "matched": 0, "unmatched": rows},
    }
    if ctx.settings.artifacts_bucket:
        ctx.store.put(
            ctx.settings.artifacts_bucket,
            quality_key(key.model, key.batch_id),
            _json(report),
            content_type="application/json",
        )
    if rows:
        ctx.metrics.put(mn.LABELS_UNMATCHED, rows, "Count", {"model": key.model})
    return _reject(ctx, upload, key, exc, {"label_rows": rows})


# --- the evaluation -------------------------------------------------------------------------
def label_column(columns: list[str], spec: ModelSpec) -> str:
    if spec.target in columns:
        return spec.target
    if DEFAULT_LABEL_COLUMN in columns:
        return DEFAULT_LABEL_COLUMN
    raise InvalidInput(
        f"label file has no '{spec.target}' (the spec's target) or '{DEFAULT_LABEL_COLUMN}' column",
        code="missing_label",
    )


def _redraw_batch_reports(
    ctx: Context, model: str, batches_realized: list[dict[str, Any]]
) -> list[ObjectRef]:
    """Each inference batch these labels realized gets its report redrawn with the realized value."""
    from .performance_view import redraw_batch_report  # the realized values beside the estimate

    refs = (redraw_batch_report(ctx, model, str(b["batch_id"])) for b in batches_realized if b.get("ref"))
    return [ref for ref in refs if ref is not None]


# long: the quality report is one record written field by field; its parts are the functions below
def evaluate_labels(ctx: Context, upload: S3Upload, key: UploadKey) -> dict[str, Any]:
    from ..domain.label_join import join_labels
    from .specs import load_spec

    ctx.settings.require("data_bucket", "artifacts_bucket")
    model, batch_id = key.model, key.batch_id
    spec, spec_ref = load_spec(ctx, model)
    obj, labels = _read_labels(ctx, spec, upload, key)
    now = ctx.clock()
    since = now - dt.timedelta(days=spec.retrain.training_window_days)
    files, predictions, pred_refs, pred_dups = _find_predictions(ctx, spec, labels, since)
    joined = join_labels(labels, predictions, pred_dups)
    quality = _evaluate(ctx, spec, joined.matched)
    prefix = quality_prefix(model, batch_id)
    side_refs = _write_side_files(ctx, spec, prefix, joined.unmatched, labels.invalid_rows)
    pool = _write_pool(ctx, spec, key, obj.ref, joined.matched, pred_refs)
    from ..domain.label_join import batch_windows
    from .byom import update_batch_realized  # per inference batch, late labels included

    batches_realized = update_batch_realized(ctx, spec, key.batch_id, joined.matched)

    report: dict[str, Any] = {
        "model": model,
        "batch_id": batch_id,
        "status": "evaluated" if len(joined.matched) else "no_matches",
        "evaluated_at": now.isoformat(),
        "labels": obj.ref.as_dict(),
        "spec": spec_ref.as_dict(),
        "task": spec.task,
        "primary_metric": spec.primary_metric,
        "greater_is_better": spec.greater_is_better,
        "counts": joined.counts,
        "prediction_files": {
            "window_days": spec.retrain.training_window_days,
            "since": since.isoformat(),
            "read": len(files.keys),
            "matched": len(pred_refs),
            "skipped_older_than_window": files.skipped_old,
            "truncated": files.truncated,
            "unindexed": len(files.unindexed),
            "refs": [r.as_dict() for r in pred_refs],
        },
        **quality,
        "late_labels": batch_windows(joined.matched, spec.window),
        "batches": batches_realized,
        "unmatched": {
            "count": len(joined.unmatched),
            **({"ref": side_refs["unmatched"]} if "unmatched" in side_refs else {}),
        },
        "invalid": {
            "count": labels.invalid,
            **({"ref": side_refs["invalid"]} if "invalid" in side_refs else {}),
        },
        "pool": pool,
    }
    quality_ref = ctx.store.put(
        ctx.settings.artifacts_bucket,
        quality_key(model, batch_id),
        _json(report),
        content_type="application/json",
    )

    _publish(ctx, spec, batch_id, joined, quality, pool)
    redrawn = _redraw_batch_reports(ctx, model, batches_realized)
    outputs = [quality_ref.as_dict(), *(r for r in side_refs.values()), *(r.as_dict() for r in redrawn)]
    if pool.get("ref"):
        outputs.append(pool["ref"])
    overall = quality.get("overall") or {}
    ctx.record(
        "labels.evaluated",
        model=model,
        model_version=overall.get("version"),
        inputs=[obj.ref.as_dict(), spec_ref.as_dict(), *(r.as_dict() for r in pred_refs)],
        outputs=outputs,
        details={
            "batch_id": batch_id,
            "counts": joined.counts,
            "primary_metric": spec.primary_metric,
            "realized": overall.get("value"),
            "drop": overall.get("drop"),
            "pool_rows": pool.get("rows", 0),
            "pool_written": pool.get("written", False),
            **({"bias_breach": quality["fairness"]["breach"]} if quality.get("fairness") else {}),
        },
    )
    return {
        "status": report["status"],
        "model": model,
        "batch_id": batch_id,
        "counts": joined.counts,
        "realized": {spec.primary_metric: overall.get("value"), "drop": overall.get("drop")},
        "quality": quality_ref.uri,
        "pool": pool.get("uri"),
    }


def _read_labels(ctx: Context, spec: ModelSpec, upload: S3Upload, key: UploadKey) -> tuple[StoredObject, Any]:
    """The uploaded label file, conformed to the spec: a flat table or SageMaker ground truth."""
    from ..domain.capture import for_spec
    from ..domain.contract import conform
    from ..domain.ingest import read_table
    from ..domain.label_join import prepare_labels

    obj = ctx.store.get(upload.bucket, upload.key, upload.version_id, max_bytes=MAX_LABEL_BYTES)
    table = read_table(obj.body, key.name)
    table, _ = for_spec(table, spec)  # SageMaker ground truth: eventId -> id, groundTruthData -> target
    column = label_column(list(table.column_names), spec)
    if column != spec.target:
        table = table.rename_columns([spec.target if c == column else c for c in table.column_names])
    table = conform(table, spec, role="labels").table
    frame = table.to_pandas()
    if spec.id_column not in frame.columns:
        raise InvalidInput(f"label file has no id column '{spec.id_column}'", code="missing_id")
    return obj, prepare_labels(
        frame,
        id_column=spec.id_column,
        label_column=spec.target,
        timestamp_column=spec.timestamp_column,
        classifier=spec.is_classifier,
    )


def _write_side_files(
    ctx: Context, spec: ModelSpec, prefix: str, unmatched: pd.DataFrame, invalid: pd.DataFrame
) -> dict[str, Any]:
    """Labels that matched no prediction and rows that were not labels, for a person to look at."""
    side_refs: dict[str, Any] = {}
    if len(unmatched):
        side_refs["unmatched"] = ctx.store.put(
            ctx.settings.artifacts_bucket,
            prefix + "unmatched.parquet",
            parquet_bytes(_readable(unmatched, spec)),
            content_type=PARQUET,
        ).as_dict()
    if len(invalid):
        side_refs["invalid"] = ctx.store.put(
            ctx.settings.artifacts_bucket,
            prefix + "invalid.parquet",
            parquet_bytes(invalid.astype(str)),
            content_type=PARQUET,
        ).as_dict()
    return side_refs


def _publish(
    ctx: Context,
    spec: ModelSpec,
    batch_id: str,
    joined: Any,
    quality: dict[str, Any],
    pool: dict[str, Any],
) -> None:
    """Metrics, the realized-metric and bias episodes, and a retrain that waited for these labels."""
    model = spec.name
    time_range = _time_range(joined.matched)
    realized = _realized_observation(ctx, spec, batch_id, quality, time_range)
    realized_bias = realized_bias_observation(ctx, batch_id, quality.get("fairness"), time_range)
    dims = {"model": model}
    ctx.metrics.put(mn.LABELS_MATCHED, len(joined.matched), "Count", dims)
    ctx.metrics.put(mn.LABELS_UNMATCHED, len(joined.unmatched), "Count", dims)
    _emit_realized(ctx, model, quality)
    if quality.get("fairness"):
        ctx.metrics.put(mn.REALIZED_BIAS_BREACH, 1.0 if quality["fairness"]["breach"] else 0.0, "None", dims)
    seen = {
        name: obs
        for name, obs in (("realized_drop", realized), ("realized_bias", realized_bias))
        if obs is not None
    }
    observe_batch(ctx, model, seen, spec=spec)  # one conditional write of the book for both
    if pool.get("ref"):
        _resume_waiting_retrain(ctx, model, batch_id)


def _readable(unmatched: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    from ..domain.label_join import ID, LABEL, LABELED_AT

    out = pd.DataFrame({spec.id_column: unmatched[ID].astype(str), spec.target: unmatched[LABEL]})
    out["labeled_at"] = unmatched[LABELED_AT]
    return out


def _find_predictions(
    ctx: Context, spec: ModelSpec, labels: Any, since: dt.datetime
) -> tuple[PredictionFiles, pd.DataFrame, list[ObjectRef], int]:
    """Prediction rows for the labels, found through the markers (services.predictions_store).

    Labels with timestamps first read only the batches of their event-time days; ids still
    unmatched (a label stamped with its labeling time, not the event's) then read the rest of the
    retraining window. Labels without timestamps read the window.
    """
    from ..domain.label_join import ID, LABELED_AT, latest_predictions
    from .predictions_store import label_days

    bucket = ctx.settings.artifacts_bucket
    wanted = set(labels.frame[ID])
    days = label_days(labels.frame[LABELED_AT]) if wanted else None
    if days is None:
        files = window_files(ctx.store, bucket, spec.name, since)
        predictions, refs, dups = _matching_predictions(ctx, files, wanted, since)
        return files, predictions, refs, dups
    first = window_files(ctx.store, bucket, spec.name, since, days)
    found, refs, _ = _matching_predictions(ctx, first, wanted, since)
    missing = wanted - set(found[ID]) if len(found) else wanted
    files = first
    frames = [found]
    if missing:
        rest = window_files(ctx.store, bucket, spec.name, since)
        seen = set(first.keys)
        rest.keys = [k for k in rest.keys if k not in seen]
        more, more_refs, _ = _matching_predictions(ctx, rest, missing, since)
        frames.append(more)
        refs = refs + more_refs
        files = PredictionFiles(
            keys=first.keys + rest.keys, skipped_old=rest.skipped_old, truncated=rest.truncated
        )
    latest, dups = latest_predictions([f.drop(columns=[ID], errors="ignore") for f in frames])
    return files, latest, refs, dups


def _matching_predictions(
    ctx: Context, files: PredictionFiles, wanted: set[str], since: dt.datetime
) -> tuple[pd.DataFrame, list[ObjectRef], int]:
    """Prediction rows of the window whose id has a label; reads a file fully only when it matches."""
    from ..domain.label_join import latest_predictions
    from ..domain.routing import normalize_ids

    frames: list[pd.DataFrame] = []
    refs: list[ObjectRef] = []
    if not wanted:
        return latest_predictions([])[0], refs, 0
    for key in files.keys:
        stored = ctx.store.get(ctx.settings.artifacts_bucket, key)
        ids = read_parquet(stored.body, ["id"])
        if "id" not in ids.columns:
            continue
        hit = normalize_ids(ids["id"]).isin(wanted).to_numpy()
        if not hit.any():
            continue
        full = read_parquet(stored.body).loc[hit]
        scored = pd.to_datetime(full["scored_at"], utc=True, errors="coerce")
        full = full.loc[(scored >= pd.Timestamp(since)).to_numpy()]
        if len(full):
            frames.append(full)
            refs.append(stored.ref)
    latest, dups = latest_predictions(frames)
    return latest, refs, dups


def _validation_scores(ctx: Context, model: str, versions: set[int], metric: str) -> dict[int, float | None]:
    out: dict[int, float | None] = {}
    for version in sorted(versions):
        score = None
        if ctx.registry is not None:
            try:
                row = ctx.registry.get_version(model, version)
                reference = (row.get("monitoring_reference") or {}).get("metrics") or {}
                value = reference.get(metric, (row.get("metrics") or {}).get(metric))
                score = None if value is None else float(value)
            except NotFound:
                score = None
        out[version] = score
    return out


# long: one table of realized metrics per (version, variant), per variant and per model
def _evaluate(ctx: Context, spec: ModelSpec, matched: pd.DataFrame) -> dict[str, Any]:
    """Realized metrics per (version, variant), per variant and for the model (champion rows)."""
    from ..domain.label_join import (
        classes_from_columns,
        metric_drop,
        realized,
        realized_by_segment,
        realized_fairness,
        version_groups,
        weighted_validation,
    )

    primary = spec.primary_metric
    gib = spec.greater_is_better
    classes = classes_from_columns(matched.columns, spec.classes) if spec.is_classifier else None
    groups = version_groups(matched)
    validation = _validation_scores(ctx, spec.name, {v for v, _, _ in groups}, primary)
    if any(v is None for v in validation.values()):
        from .byom import reference_score

        fallback = reference_score(ctx, spec)  # a model the suite did not train: its reference
        validation = {v: fallback if s is None else s for v, s in validation.items()}

    def summary(rows: pd.DataFrame, served: list[tuple[int, int]]) -> dict[str, Any]:
        metrics = realized(rows, spec.task, classes)
        val = weighted_validation(served, validation)
        value = metrics.get(primary)
        return {
            "rows": len(rows),
            "metrics": metrics,
            "value": value,
            "validation": val,
            "drop": metric_drop(value, val, greater_is_better=gib),
            "versions": sorted({v for v, _ in served}),
        }

    versions = []
    for version, variant, rows in groups:
        entry = summary(rows, [(version, len(rows))])
        entry.update(version=version, variant=variant)
        if spec.segments:
            entry["segments"] = realized_by_segment(rows, spec.segments, spec.task, classes)
        versions.append(entry)
    variants: dict[str, Any] = {}
    for variant in sorted({g[1] for g in groups}):
        members = [(v, len(r)) for v, var, r in groups if var == variant]
        rows = matched.loc[matched["variant"] == variant]
        variants[variant] = summary(rows, members)
        if spec.segments:
            variants[variant]["segments"] = realized_by_segment(rows, spec.segments, spec.task, classes)
    overall = None
    if CHAMPION in variants:
        overall = {"variant": CHAMPION, **variants[CHAMPION]}
        served = overall["versions"]
        overall["version"] = served[-1] if served else None
    elif len(matched):  # a model served elsewhere names its own variants: the model is all of them
        overall = {"variant": None, **summary(matched, [(v, len(r)) for v, _, r in groups])}
        if spec.segments:
            overall["segments"] = realized_by_segment(matched, spec.segments, spec.task, classes)
        served = overall["versions"]
        overall["version"] = served[-1] if served else None
    fairness = None
    if CHAMPION in variants:
        champion_rows = matched.loc[matched["variant"] == CHAMPION]
        fairness = realized_fairness(champion_rows, spec, classes, seed=spec.seed)
    return {
        "classes": classes,
        "overall": overall,
        "variants": variants,
        "versions": versions,
        "fairness": fairness,
    }


def _resume_waiting_retrain(ctx: Context, model: str, batch_id: str) -> None:
    """An episode's retrain waits for labels of the new data (train_model's ``pending_retrain``): new
    labeled rows are in the pool, so ask train_model again (it trains once enough have arrived)."""
    from ..domain.alert_policy import pending_retrain_request

    function = ctx.settings.train_function_name
    if ctx.registry is None or ctx.invoker is None or not function:
        return
    request = pending_retrain_request(ctx.registry.get_model_state(model), batch_id)
    if request is not None:
        ctx.invoker.invoke_async(function, request)
        log.info("waiting retrain asked again", extra={"model": model, "labels": batch_id})


def _time_range(matched: pd.DataFrame) -> tuple[str | None, str | None]:
    """(oldest, newest) event time of the labeled rows (their scoring time where none is known)."""
    if not len(matched):
        return None, None
    scored = pd.to_datetime(matched["scored_at"], utc=True, errors="coerce")
    stamps = matched.get("timestamp")
    when = scored if stamps is None else pd.to_datetime(stamps, utc=True, errors="coerce")
    when = when.fillna(scored).dropna()
    if when.empty:
        return None, None
    return when.min().isoformat(), when.max().isoformat()


def _realized_observation(
    ctx: Context,
    spec: ModelSpec,
    batch_id: str,
    quality: Mapping[str, Any],
    time_range: tuple[str | None, str | None] = (None, None),
) -> Observation | None:
    """The champion rows' realized drop against the threshold its version earned (noted in quality)."""
    overall = quality.get("overall")
    if not isinstance(overall, dict) or overall.get("drop") is None:
        return None
    row = None
    if ctx.registry is not None and overall.get("version") is not None:
        try:
            row = ctx.registry.get_version(spec.name, int(overall["version"]))
        except NotFound:
            row = None
    seen = performance_observation(
        ctx,
        spec,
        "realized_drop",
        batch_id,
        drop=float(overall["drop"]),
        rows=int(overall.get("rows") or 0),
        version_row=row,
        time_range=time_range,
    )
    if seen is not None:
        overall.update(
            drop_threshold=seen.threshold, drop_threshold_how=seen.note, drop_breached=seen.breached
        )
    return seen


def _emit_realized(ctx: Context, model: str, quality: Mapping[str, Any]) -> None:
    names = set(CLASSIFIER_METRICS) | set(REGRESSOR_METRICS)
    targets: list[tuple[dict[str, str], Mapping[str, Any]]] = []
    if quality.get("overall"):
        targets.append(({"model": model}, quality["overall"]))
    for variant, entry in (quality.get("variants") or {}).items():
        targets.append(({"model": model, "variant": variant}, entry))
    for dims, entry in targets:
        if entry.get("value") is not None:
            ctx.metrics.put(mn.REALIZED_PRIMARY_METRIC, float(entry["value"]), "None", dims)
        if entry.get("drop") is not None:
            ctx.metrics.put(mn.REALIZED_PRIMARY_METRIC_DROP, float(entry["drop"]), "None", dims)
        for name, value in (entry.get("metrics") or {}).items():
            if name in names and isinstance(value, int | float) and np.isfinite(value):
                ctx.metrics.put(mn.realized(name), float(value), "None", dims)


# --- training pool --------------------------------------------------------------------------
# long: the labeled pool's rows, PII policy and lineage in one place
def _write_pool(
    ctx: Context,
    spec: ModelSpec,
    key: UploadKey,
    labels_ref: ObjectRef,
    matched: pd.DataFrame,
    pred_refs: list[ObjectRef],
) -> dict[str, Any]:
    """Labeled rows (stored inference features + label) to the pool, PII policy applied."""
    from ..domain.label_join import pool_rows

    if not len(matched):
        return {"written": False, "rows": 0, "reason": "no labels matched a prediction"}
    frames = []
    inference_refs: list[ObjectRef] = []
    wanted_cols = [
        spec.id_column,
        *([spec.timestamp_column] if spec.timestamp_column else []),
        *spec.features.all,
        *spec.sensitive_only_columns,
    ]
    for batch_id in sorted(set(matched["batch_id"].astype(str))):
        try:
            stored = ctx.store.get(ctx.settings.data_bucket, inference_key(spec.name, batch_id))
        except NotFound:
            continue
        frames.append(read_parquet(stored.body, wanted_cols))
        inference_refs.append(stored.ref)
    inference = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if not frames and spec.retrain.from_labeled_pool:
        from .byom import pool_rows_served_elsewhere  # features and the served model's outputs

        rows, missing = pool_rows_served_elsewhere(spec, matched)
    else:
        rows, missing = pool_rows(
            matched,
            inference,
            id_column=spec.id_column,
            timestamp_column=spec.timestamp_column,
            features=[*spec.features.all, *spec.sensitive_only_columns],
            target=spec.target,
        )
    result: dict[str, Any] = {"rows": len(rows), "missing_features": missing}
    if not len(rows):
        return {**result, "written": False, "reason": "no stored inference rows to take features from"}
    rows, pii = apply_pii_policy(ctx, rows, spec)
    result["pii"] = pii
    if pii.get("blocked"):
        return {**result, "rows": 0, "written": False, "reason": pii["reason"]}
    target = pool_key(spec.name, key.batch_id)
    ref = ctx.store.put(ctx.settings.data_bucket, target, parquet_bytes(rows), content_type=PARQUET)
    lineage = {
        "pool": ref.as_dict(),
        "model": spec.name,
        "batch_id": key.batch_id,
        "created_at": ctx.clock().isoformat(),
        "rows": len(rows),
        "labels": labels_ref.as_dict(),
        "prediction_files": [r.as_dict() for r in pred_refs],
        "inference_files": [r.as_dict() for r in inference_refs],
        "model_versions": sorted({int(v) for v in matched["model_version"]}),
        "pii": pii,
    }
    lineage_ref = ctx.store.put(
        ctx.settings.artifacts_bucket,
        pool_lineage_key(spec.name, key.batch_id),
        _json(lineage),
        content_type="application/json",
    )
    return {**result, "written": True, "uri": ref.uri, "ref": ref.as_dict(), "lineage": lineage_ref.as_dict()}


def apply_pii_policy(
    ctx: Context, rows: pd.DataFrame, spec: ModelSpec
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The spec's PII policy on pool rows (the same scanner and salt as monitor_batch).

    ``quarantine`` with findings blocks the pool write (the reason is recorded); ``redact`` and
    ``hash`` mask the flagged columns; ``allow`` keeps them.
    """
    import pyarrow as pa

    from ..domain import pii

    table = pa.Table.from_pandas(rows, preserve_index=False)
    report = pii.scan_table(table, allow_columns=spec.pii.allow_columns)
    action = spec.pii.action
    info: dict[str, Any] = {
        "scanned": True,
        "action": action,
        "columns": report.columns,
        "kinds": sorted({f.kind for f in report.findings}),
    }
    if not report.findings or action == "allow":
        return rows, info
    if action == "quarantine":
        return rows, {
            **info,
            "blocked": True,
            "reason": f"personal data found in column(s) {', '.join(report.columns)} and the "
            "model's pii.action is 'quarantine': labeled rows were not pooled",
        }
    from .assessment import pii_salt

    masked = pii.apply_pii_policy(table, report, action, salt=pii_salt(ctx, spec.name))
    return masked.to_pandas(), info


def _json(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(_clean(doc), indent=2, sort_keys=False, default=str).encode()


def _clean(value: Any) -> Any:
    """JSON without NaN/Infinity (they are not JSON): undefined numbers become null."""
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if np.isfinite(f) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value

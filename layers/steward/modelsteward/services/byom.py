"""Bring your own model: predictions kept for the label join, label-free estimates, realized metrics.

Three entry points, each one call from another service:

* :func:`keep_predictions` (monitor_batch's accept path, ``publish_batch``): every accepted
  inference batch the suite did not score keeps its compact prediction copy in the store
  score_batch uses (services.predictions_store), and, when the model's reference carried labels and
  probabilities, gets a label-free estimate: ``quality/<model>/<batch_id>/estimated.json`` and the
  ``EstimatedPrimaryMetric`` / ``EstimatedPrimaryMetricDrop`` / ``Estimated_<metric>`` metrics, the
  same document and metrics as score_batch writes for suite-scored models.
* :func:`fit_reference` (create_baseline): the estimator fitted on a labeled reference
  (``models/<model>/reference/estimation.json``) and the reference's own realized metrics
  (``models/<model>/reference/metrics.json``: the score realized drops are measured against), or a
  warning saying what the user loses and how to fix it.
* :func:`update_batch_realized` (evaluate_labels): realized metrics per inference batch
  (``quality/<model>/<batch_id>/realized.json``), recomputed from every label file that judged the
  batch so far: a late label updates the batch (and so the window) it belongs to.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import layout
from .. import metric_names as mn
from ..errors import NotFound
from ..ports import ObjectRef
from ..spec import ModelSpec
from .context import Context
from .episodes import observe_batch, performance_observation
from .predictions_store import PARQUET, parquet_bytes, read_parquet, write_predictions

log = logging.getLogger(__name__)

REFERENCE_METRICS = "metrics.json"


def reference_metrics_key(model: str) -> str:
    return layout.reference_baseline_prefix(model).removesuffix("baseline/") + REFERENCE_METRICS


def _json(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(_clean(doc), indent=2, default=str).encode()


def _clean(value: Any) -> Any:
    """JSON without NaN/Infinity (undefined numbers become null); numpy scalars as Python numbers."""
    if hasattr(value, "item") and not isinstance(value, Mapping | list | tuple | str):
        value = value.item()  # a numpy scalar (no numpy import: this module runs without it)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


# --- the reference (create_baseline) ------------------------------------------------------------
# long: onboarding a served model's reference, step by step, each with its warning
def fit_reference(ctx: Context, spec: ModelSpec, table: pa.Table, source: ObjectRef) -> dict[str, Any]:
    """Estimator and reference metrics from a reference upload; returns what it enables + warnings."""
    from ..domain.byom import check_reference, probability_matrix
    from ..domain.estimation import estimation_summary, fit_estimator_for_version
    from ..domain.metrics import as_labels, task_metrics

    frame = table.to_pandas()
    check = check_reference(frame, spec)
    out: dict[str, Any] = check.as_dict()
    bucket = ctx.settings.artifacts_bucket
    if check.has_labels and check.has_predictions:
        rows = frame.loc[frame[spec.target].notna() & frame[spec.prediction_column].notna()]
        if spec.is_classifier:
            classes = check.classes or []
            proba = probability_matrix(rows, spec, classes) if classes else None
            if proba is not None and not np.isfinite(proba).all():
                proba = None
            metrics = task_metrics(
                spec.task,
                as_labels(rows[spec.target]),
                as_labels(rows[spec.prediction_column]),
                proba,
                classes,
            )
        else:
            metrics = task_metrics(
                spec.task,
                pd.to_numeric(rows[spec.target], errors="coerce").to_numpy("float64"),
                pd.to_numeric(rows[spec.prediction_column], errors="coerce").to_numpy("float64"),
            )
        doc = {
            "model": spec.name,
            "task": spec.task,
            "rows": len(rows),
            "classes": check.classes,
            "primary_metric": spec.primary_metric,
            "metrics": metrics,
            "source": source.as_dict(),
            "created_at": ctx.clock().isoformat(),
        }
        out["metrics"] = ctx.store.put(
            bucket, reference_metrics_key(spec.name), _json(doc), content_type="application/json"
        ).as_dict()
        out["reference_score"] = metrics.get(spec.primary_metric)
    if check.can_estimate and check.classes:
        rows = frame.loc[frame[spec.target].notna()]
        proba = probability_matrix(rows, spec, check.classes)
        assert proba is not None
        keep = np.isfinite(proba).all(axis=1)
        try:
            doc = fit_estimator_for_version(
                proba[keep], as_labels(rows[spec.target]).astype(object)[keep], check.classes
            )
        except ValueError as exc:  # e.g. a label outside the classes
            out["warnings"] = [*out["warnings"], f"no label-free estimator could be fitted: {exc}"]
            out["label_free_estimates"] = False
        else:
            key = layout.reference_estimation_key(spec.name)
            out["estimation"] = ctx.store.put(
                bucket, key, json.dumps(doc).encode(), content_type="application/json"
            ).as_dict()
            from .estimation_sample import write_sample

            labels = as_labels(rows[spec.target]).astype(object)[keep]
            inputs = rows.loc[keep].reset_index(drop=True)
            out["estimation_sample"] = write_sample(
                ctx, spec, key, inputs, proba[keep], labels, check.classes
            ).as_dict()
            summary = estimation_summary(doc)
            out["label_free_estimate"] = summary
            if summary is not None and not summary["trusted"]:
                out["warnings"] = [*out["warnings"], f"label-free estimates: {summary['note']}"]
    return out


def reference_score(ctx: Context, spec: ModelSpec) -> float | None:
    """The primary metric the model realized on its labeled reference (None without one)."""
    try:
        doc = json.loads(ctx.store.get(ctx.settings.artifacts_bucket, reference_metrics_key(spec.name)).body)
    except (NotFound, ValueError):
        return None
    value = (doc.get("metrics") or {}).get(spec.primary_metric)
    return None if value is None else float(value)


def _reference_estimator(ctx: Context, spec: ModelSpec) -> Any:
    from ..domain.estimation import estimation_document

    try:
        body = ctx.store.get(ctx.settings.artifacts_bucket, layout.reference_estimation_key(spec.name)).body
    except NotFound:
        return None
    try:
        return estimation_document(body)
    except ValueError as exc:
        log.warning("reference estimation.json unusable", extra={"model": spec.name, "error": str(exc)[:200]})
        return None


# --- monitor_batch's accept path -------------------------------------------------------------------
def scored_by_suite(model: str, source_key: str, metadata: Mapping[str, str]) -> bool:
    """True for the inference file score_batch wrote (it kept those predictions already): its key is
    ``layout.inference_key(model, batch_id)`` and its S3 metadata names that batch."""
    batch_id = metadata.get("batch-id")
    return bool(batch_id) and source_key == layout.inference_key(model, str(batch_id))


def keep_predictions(ctx: Context, batch: Any) -> dict[str, Any]:
    """The accepted batch's predictions for the label join, and its label-free estimate.

    ``batch`` is monitor_batch's AssessedBatch. Never raises for bad rows: a batch the monitor
    accepted is not refused here; what could not be kept is said in the returned summary.
    """
    from ..domain.byom import batch_classes, compact_rows, versions_and_variants

    spec: ModelSpec = batch.spec
    model, batch_id = batch.model, batch.batch_id
    if scored_by_suite(model, batch.source.key, getattr(batch, "source_metadata", {}) or {}):
        return {"kept": False, "reason": "scored by the suite: score_batch kept its predictions"}
    table = getattr(batch, "table", None)
    if table is None:
        return {"kept": False, "reason": "no rows in memory (scale-out batch): predictions not kept"}
    frame = table.to_pandas()
    if spec.id_column not in frame.columns or spec.prediction_column not in frame.columns:
        return {
            "kept": False,
            "reason": f"the batch has no '{spec.id_column}' or '{spec.prediction_column}' column",
        }
    if spec.is_classifier:  # a prediction outside the classes that looks personal is kept as its kind
        frame[spec.prediction_column] = _masked_predictions(frame[spec.prediction_column], spec.classes or [])
    raw = _own_columns(ctx, batch)
    versions, variants = versions_and_variants(raw, len(frame))
    estimator = _reference_estimator(ctx, spec) if spec.is_classifier else None
    classes = batch_classes(spec, estimator.classes if estimator else None, frame[spec.prediction_column])
    scored_at = ctx.clock()
    compact = compact_rows(
        frame,
        spec,
        classes=classes,
        versions=versions,
        variants=variants,
        scored_at=scored_at,
        batch_id=batch_id,
        features=spec.features.all if spec.retrain.from_labeled_pool else (),
    )
    ref = write_predictions(ctx.store, ctx.settings.artifacts_bucket, model, batch_id, compact, scored_at)
    summary: dict[str, Any] = {"kept": True, "rows": len(compact), "predictions": ref.as_dict()}
    from ..domain.routing import normalize_ids

    inputs = frame.loc[normalize_ids(frame[spec.id_column]).notna().to_numpy()].reset_index(drop=True)
    summary["estimated"] = estimate_batch(ctx, spec, batch_id, compact, classes, estimator, inputs)
    return summary


def _masked_predictions(predictions: pd.Series, classes: list[str]) -> pd.Series:
    """Predictions with values outside ``classes`` that look like personal data replaced by their
    kind ("<email address>"): a few of them pass the PII screen (below its threshold) and must not
    reach the stored copy (docs/pii.md)."""
    from ..domain.pii import mask_value

    known = set(classes)
    odd = {v for v in predictions.dropna().unique() if isinstance(v, str) and v not in known}
    masked = {v: mask_value(v) for v in odd}
    changed = {v: m for v, m in masked.items() if m != v}
    return predictions.replace(changed) if changed else predictions


def report_findings(kept: Mapping[str, Any]) -> list[Any]:
    """Warnings for the batch report when the batch gets no label join copy or no estimate."""
    from ..domain.contract import ContractFinding

    out = []
    if not kept.get("kept") and not str(kept.get("reason", "")).startswith("scored by the suite"):
        out.append(
            ContractFinding(
                "predictions_not_kept", None, "warning", f"labels cannot be joined: {kept.get('reason')}"
            )
        )
    estimated = kept.get("estimated") or {}
    if (
        kept.get("kept")
        and estimated
        and not estimated.get("estimated")
        and "classifiers" not in str(estimated.get("reason"))
    ):
        out.append(
            ContractFinding(
                "no_label_free_estimate",
                None,
                "warning",
                f"no label-free performance estimate: {estimated.get('reason')}",
            )
        )
    return out


def _own_columns(ctx: Context, batch: Any) -> pd.DataFrame | None:
    """The batch's ``model_version`` / ``variant`` columns (the contract drops them), when it has them."""
    from ..domain.capture import for_spec
    from ..domain.contract import VARIANT_COLUMN, VERSION_COLUMN
    from ..domain.ingest import read_table

    wanted = [c for c in (VERSION_COLUMN, VARIANT_COLUMN) if c in set(batch.extra_columns)]
    if not wanted:
        return None
    source = batch.source
    try:
        body = ctx.store.get(source.bucket, source.key, source.version_id).body
        raw, _ = for_spec(read_table(body, source.key.split("/", 2)[-1]), batch.spec)
    except Exception as exc:
        log.warning(
            "could not re-read version/variant columns", extra={"model": batch.model, "error": str(exc)[:200]}
        )
        return None
    return raw.select([c for c in wanted if c in raw.column_names]).to_pandas()


# long: one estimate document, overall then per variant
def estimate_batch(
    ctx: Context,
    spec: ModelSpec,
    batch_id: str,
    compact: pd.DataFrame,
    classes: list[str] | None,
    estimator: Any,
    inputs: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Label-free estimate of a kept batch (overall and per variant); the same document and metrics
    as score_batch's (``quality/<model>/<batch_id>/estimated.json``). ``inputs``: the batch's rows
    (aligned with ``compact``), to adjust each estimate to them (services.estimation_sample)."""
    from ..domain.label_join import PROBABILITY_PREFIX
    from .estimation_sample import for_batch, read_sample

    if not spec.is_classifier:
        return {"estimated": False, "reason": "label-free estimates are for classifiers"}
    if estimator is None:
        return {
            "estimated": False,
            "reason": "no estimator: the reference upload had no labels or no probabilities "
            f"(upload reference/{spec.name}/ with '{spec.target}' and probability columns)",
        }
    if classes is None or classes != estimator.classes:
        return {"estimated": False, "reason": "the batch's classes differ from the reference's"}
    cols = [PROBABILITY_PREFIX + c for c in classes]
    if any(c not in compact.columns for c in cols):
        return {"estimated": False, "reason": "the batch carries no probabilities"}
    proba = compact[cols].to_numpy(dtype="float64")
    usable = np.isfinite(proba).all(axis=1) & compact["prediction"].notna().to_numpy()
    model = spec.name
    validation = estimator.reference.get(spec.primary_metric)
    validation = None if validation is None else float(validation)
    documents: dict[str, Any] = {}
    groups: list[tuple[str | None, np.ndarray]] = [(None, usable)]
    variants = sorted(set(compact["variant"].astype(str)))
    groups += [(v, usable & (compact["variant"].astype(str) == v).to_numpy()) for v in variants]
    aligned = inputs is not None and len(inputs) == len(compact)
    sample = read_sample(ctx, layout.reference_estimation_key(model)) if aligned else None
    for variant, rows in groups:
        if not rows.any():
            continue
        adjusted = for_batch(estimator, sample, spec, inputs.loc[rows]) if inputs is not None else estimator
        estimate = adjusted.estimate(proba[rows], compact["prediction"].to_numpy(dtype=object)[rows])
        drop = estimate.drop(spec.primary_metric, validation, greater_is_better=spec.greater_is_better)
        dims = {"model": model} if variant is None else {"model": model, "variant": variant}
        primary = estimate.value(spec.primary_metric)
        if primary is not None:
            ctx.metrics.put(mn.ESTIMATED_PRIMARY_METRIC, primary, "None", dims)
        if drop is not None:
            ctx.metrics.put(mn.ESTIMATED_PRIMARY_METRIC_DROP, drop, "None", dims)
        for name, est in estimate.metrics.items():
            if est.value is not None:
                ctx.metrics.put(mn.estimated(name), est.value, "None", dims)
        versions = sorted({int(v) for v in compact.loc[rows, "model_version"]})
        documents["_model" if variant is None else variant] = {
            "version": versions[-1] if versions else None,
            "validation": validation,
            "primary_metric": spec.primary_metric,
            "drop": drop,
            "estimate": estimate.model_dump(mode="json"),
        }
    if not documents:
        return {"estimated": False, "reason": "no row has both a prediction and probabilities"}
    overall = documents.pop("_model")
    ref = ctx.store.put(
        ctx.settings.artifacts_bucket,
        layout.estimated_performance_key(model, batch_id),
        _json(
            {
                "model": model,
                "batch_id": batch_id,
                "source": "reference",
                "overall": overall,
                "variants": documents,
            }
        ),
        content_type="application/json",
    )
    seen = performance_observation(
        ctx,
        spec,
        "estimated_drop",
        batch_id,
        drop=overall["drop"],
        rows=int(usable.sum()),
        version_row=None,  # no holdout spread of a model trained elsewhere: the spec's max_drop
    )
    if seen is not None:
        observe_batch(ctx, model, {"estimated_drop": seen}, spec=spec)
    est = overall["estimate"]["metrics"].get(spec.primary_metric) or {}
    return {
        "estimated": True,
        "ref": ref.as_dict(),
        spec.primary_metric: est.get("value"),
        "lower": est.get("lower"),
        "upper": est.get("upper"),
        "drop": overall["drop"],
    }


# --- realized metrics per inference batch (evaluate_labels) ------------------------------------------
def update_batch_realized(
    ctx: Context, spec: ModelSpec, label_batch_id: str, matched: pd.DataFrame
) -> list[dict[str, Any]]:
    """Store each inference batch's share of these labels, then recompute that batch's realized
    metrics from every label file that judged it (the newest label per id wins)."""
    from ..domain.label_join import ID, LABEL, LABELED_AT

    if not len(matched) or "batch_id" not in matched.columns:
        return []
    bucket = ctx.settings.artifacts_bucket
    now = pd.Timestamp(ctx.clock())
    out = []
    for batch_id, rows in matched.groupby(matched["batch_id"].astype(str), sort=True):
        share = pd.DataFrame(
            {
                ID: rows[ID].astype(str).to_numpy(),
                LABEL: rows[LABEL].to_numpy(),
                LABELED_AT: rows[LABELED_AT].to_numpy(),
                "_evaluated_at": now,
                "_label_file": label_batch_id,
            }
        )
        if spec.is_classifier:
            share[LABEL] = share[LABEL].astype(str)
        prefix = layout.batch_labels_prefix(spec.name, str(batch_id))
        ctx.store.put(bucket, f"{prefix}{label_batch_id}.parquet", parquet_bytes(share), content_type=PARQUET)
        out.append(_recompute_batch(ctx, spec, str(batch_id)))
    return out


# long: one batch's realized metrics recomputed from its stored rows, step by step
def _recompute_batch(ctx: Context, spec: ModelSpec, batch_id: str) -> dict[str, Any]:
    from ..domain.label_join import (
        ID,
        LABEL,
        LABELED_AT,
        classes_from_columns,
        latest_predictions,
        realized,
        realized_by_segment,
        version_groups,
    )

    bucket = ctx.settings.artifacts_bucket
    prefix = layout.batch_labels_prefix(spec.name, batch_id)
    frames = [
        read_parquet(ctx.store.get(bucket, k).body) for k in sorted(ctx.store.list_keys(bucket, prefix))
    ]
    labels = pd.concat(frames, ignore_index=True)
    labels = labels.sort_values(["_evaluated_at"], kind="mergesort").drop_duplicates(ID, keep="last")
    if not spec.is_classifier:
        labels[LABEL] = pd.to_numeric(labels[LABEL], errors="coerce").astype("float64")
    try:
        stored = ctx.store.get(bucket, layout.predictions_key(spec.name, batch_id))
    except NotFound:
        return {"batch_id": batch_id, "status": "no_predictions"}
    predictions, _ = latest_predictions([read_parquet(stored.body)])
    joined = labels[[ID, LABEL, LABELED_AT, "_label_file"]].merge(predictions, on=ID, how="inner")
    classes = classes_from_columns(joined.columns, spec.classes) if spec.is_classifier else None
    metrics = realized(joined, spec.task, classes)
    value = metrics.get(spec.primary_metric)
    baseline = reference_score(ctx, spec)
    drop = None
    if value is not None and baseline is not None:
        drop = baseline - value if spec.greater_is_better else value - baseline
    versions = [
        {"version": v, "variant": var, "rows": len(r), "metrics": realized(r, spec.task, classes)}
        for v, var, r in version_groups(joined)
    ]
    doc = {
        "model": spec.name,
        "batch_id": batch_id,
        "evaluated_at": ctx.clock().isoformat(),
        "predictions": stored.ref.as_dict(),
        "rows_scored": len(predictions),
        "rows_labeled": len(joined),
        "label_files": sorted(set(joined["_label_file"].astype(str))),
        "primary_metric": spec.primary_metric,
        "value": value,
        "reference": baseline,
        "drop": drop,
        "metrics": metrics,
        "segments": realized_by_segment(joined, spec.segments, spec.task, classes) if spec.segments else {},
        "versions": versions,
    }
    ref = ctx.store.put(
        bucket, layout.batch_realized_key(spec.name, batch_id), _json(doc), content_type="application/json"
    )
    return {
        "batch_id": batch_id,
        "rows_labeled": len(joined),
        "rows_scored": len(predictions),
        spec.primary_metric: value,
        "drop": drop,
        "ref": ref.as_dict(),
    }


# --- the labeled pool of a model served elsewhere (evaluate_labels, train_model) -----------------------
def pool_rows_served_elsewhere(spec: ModelSpec, matched: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Pool rows from the label join's copies (``feature_<name>`` columns, written when
    ``retrain.from_labeled_pool``), with the served model's outputs as ``champion_*`` columns so a
    challenger is gated against them on the same rows. Returns the rows and how many lacked features."""
    from ..domain.byom import CHAMPION_PREDICTION, CHAMPION_PROBABILITY, FEATURE_PREFIX
    from ..domain.label_join import ID, LABEL, PROBABILITY_PREFIX

    cols = [FEATURE_PREFIX + f for f in spec.features.all]
    if not len(matched) or any(c not in matched.columns for c in cols):
        return pd.DataFrame(columns=[spec.id_column, *spec.features.all, spec.target]), len(matched)
    out = pd.DataFrame({spec.id_column: matched[ID].astype(str).to_numpy()})
    if spec.timestamp_column and "timestamp" in matched.columns:
        out[spec.timestamp_column] = matched["timestamp"].to_numpy()
    for f in spec.features.all:
        out[f] = matched[FEATURE_PREFIX + f].to_numpy()
    out[spec.target] = matched[LABEL].to_numpy()
    out[CHAMPION_PREDICTION] = matched["prediction"].to_numpy()
    for c in [c for c in matched.columns if c.startswith(PROBABILITY_PREFIX)]:
        out[CHAMPION_PROBABILITY + c.removeprefix(PROBABILITY_PREFIX)] = matched[c].to_numpy()
    return out.reset_index(drop=True), 0

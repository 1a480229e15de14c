"""Bring your own model: the label join's copy of an inference batch the suite did not score.

A model served elsewhere (an endpoint, a container, a batch job) uploads its inference rows with
its own predictions and, for classifiers, probabilities. This module turns such a batch into the
same compact rows score_batch keeps (domain.label_join's columns), reads the reference's labels and
probabilities for the label-free estimator, and says what a reference without them loses.

Pure pandas/numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..spec import ModelSpec
from .contract import VARIANT_COLUMN, VERSION_COLUMN
from .label_join import PROBABILITY_PREFIX, SEGMENT_PREFIX
from .metrics import as_labels
from .routing import normalize_ids

DEFAULT_VARIANT = "champion"  # a batch that names no variant: the model's one serving variant
UNVERSIONED = 0  # a batch that names no model version
FEATURE_PREFIX = "feature_"  # features in the copy, for the labeled pool (retrain.from_labeled_pool)


def probability_matrix(frame: pd.DataFrame, spec: ModelSpec, classes: Sequence[str]) -> np.ndarray | None:
    """Class probabilities (n, k) in ``classes`` order from the spec's probability column(s).

    Binary: ``<probability_column>`` is P(classes[1]); or one ``<probability_column>_<class>`` per
    class. None when the batch carries no (complete) probabilities.
    """
    name = spec.probability_column
    if not name or len(classes) < 2:
        return None
    per_class = [f"{name}_{c}" for c in classes]
    if all(c in frame.columns for c in per_class):
        return np.asarray(frame[per_class].to_numpy(dtype="float64", na_value=np.nan))
    if len(classes) == 2 and name in frame.columns:
        pos = frame[name].to_numpy(dtype="float64", na_value=np.nan)
        return np.column_stack([1.0 - pos, pos])
    return None


def batch_classes(spec: ModelSpec, known: Sequence[str] | None, predictions: pd.Series) -> list[str] | None:
    """The class order: the spec's, else the reference estimator's, else the predicted labels sorted."""
    if not spec.is_classifier:
        return None
    if spec.classes:
        return [str(c) for c in spec.classes]
    if known:
        return [str(c) for c in known]
    seen = sorted({str(v) for v in as_labels(predictions.dropna()) if v is not None})
    return seen if len(seen) >= 2 else None


def versions_and_variants(raw: pd.DataFrame | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``model_version`` (int, 0 when absent) and ``variant`` per row from the batch's own columns."""
    versions = np.full(n, UNVERSIONED, dtype="int64")
    variants = np.full(n, DEFAULT_VARIANT, dtype=object)
    if raw is not None and len(raw) == n:
        if VERSION_COLUMN in raw.columns:
            parsed = pd.to_numeric(
                raw[VERSION_COLUMN].astype(str).str.strip().str.lstrip("vV"), errors="coerce"
            )
            versions = parsed.fillna(UNVERSIONED).astype("int64").to_numpy()
        if VARIANT_COLUMN in raw.columns:
            named = raw[VARIANT_COLUMN].astype("string").str.strip()
            variants = named.fillna(DEFAULT_VARIANT).replace("", DEFAULT_VARIANT).to_numpy(dtype=object)
    return versions, variants


def compact_rows(
    frame: pd.DataFrame,
    spec: ModelSpec,
    *,
    classes: Sequence[str] | None,
    versions: np.ndarray,
    variants: np.ndarray,
    scored_at: Any,
    batch_id: str,
    features: Sequence[str] = (),
) -> pd.DataFrame:
    """The label join's copy: normalized id, event time, prediction, probabilities, version, variant
    (and ``feature_<name>`` for each of ``features``: the labeled pool's inputs)."""
    out = pd.DataFrame({"id": normalize_ids(frame[spec.id_column]).to_numpy(dtype=object)})
    if spec.timestamp_column and spec.timestamp_column in frame.columns:
        out["timestamp"] = pd.to_datetime(frame[spec.timestamp_column], utc=True, errors="coerce").to_numpy()
    if spec.is_classifier:
        out["prediction"] = as_labels(frame[spec.prediction_column].to_numpy(dtype=object, na_value=None))
    else:
        out["prediction"] = pd.to_numeric(frame[spec.prediction_column], errors="coerce").to_numpy()
    proba = probability_matrix(frame, spec, classes) if classes else None
    if proba is not None and classes:
        for j, c in enumerate(classes):
            out[PROBABILITY_PREFIX + str(c)] = proba[:, j]
    out["model_version"] = versions
    out["variant"] = pd.Series(variants, dtype=object).astype(str).to_numpy()
    out["scored_at"] = pd.Timestamp(scored_at)
    out["batch_id"] = batch_id
    for seg in spec.segments:
        if seg in frame.columns:
            out[SEGMENT_PREFIX + seg] = frame[seg].to_numpy()
    for name in features:
        if name in frame.columns:
            out[FEATURE_PREFIX + name] = frame[name].to_numpy()
    return out.loc[out["id"].notna().to_numpy()].reset_index(drop=True)


# --- the reference: what the label-free estimate and the realized drop compare against -------------
@dataclass
class ReferenceQuality:
    """What a reference upload offers model quality, and what it lacks (with the fix)."""

    has_labels: bool
    has_predictions: bool
    has_probabilities: bool
    rows_labeled: int = 0
    classes: list[str] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def can_estimate(self) -> bool:
        return self.has_labels and self.has_probabilities and self.rows_labeled > 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "has_labels": self.has_labels,
            "has_predictions": self.has_predictions,
            "has_probabilities": self.has_probabilities,
            "rows_labeled": self.rows_labeled,
            "classes": self.classes,
            "label_free_estimates": self.can_estimate,
            "warnings": list(self.warnings),
        }


def check_reference(frame: pd.DataFrame, spec: ModelSpec) -> ReferenceQuality:
    """Which model-quality features a reference frame (conformed, role reference) enables."""
    has_labels = spec.target in frame.columns and bool(frame[spec.target].notna().any())
    has_pred = spec.prediction_column in frame.columns and bool(frame[spec.prediction_column].notna().any())
    classes = None
    proba = None
    if spec.is_classifier:
        source = (
            frame[spec.target]
            if has_labels
            else frame.get(spec.prediction_column, pd.Series([], dtype=object))
        )
        classes = batch_classes(spec, None, source)
        proba = probability_matrix(frame, spec, classes) if classes else None
    has_proba = proba is not None and bool(np.isfinite(proba).all(axis=1).any())
    labeled = int(frame[spec.target].notna().sum()) if has_labels else 0
    warnings: list[str] = []
    if not has_labels:
        warnings.append(
            f"the reference has no '{spec.target}' (target) values: realized metrics have no reference "
            "score to compare against (no RealizedPrimaryMetricDrop) and no label-free estimate can be "
            f"calibrated; add the true outcome as column '{spec.target}' and upload the reference again"
        )
    if not has_pred:
        warnings.append(
            f"the reference has no '{spec.prediction_column}' (prediction) column: prediction drift "
            "has no reference; add the model's predictions on the reference rows"
        )
    if spec.is_classifier and not has_proba:
        if not spec.probability_column:
            how = "set probability_column in the spec (e.g. 'probability') and add that column"
        else:
            how = f"add column '{spec.probability_column}' (P of the positive class) or one per class"
        warnings.append(
            "the reference has no predicted probabilities: no label-free performance estimate "
            f"(EstimatedPrimaryMetric) between label uploads; {how}, to the reference and to every "
            "inference batch"
        )
    return ReferenceQuality(
        has_labels=has_labels,
        has_predictions=has_pred,
        has_probabilities=has_proba,
        rows_labeled=labeled,
        classes=classes,
        warnings=warnings,
    )


# --- retraining from the labeled pool: the served model's own outputs ride along ------------------
CHAMPION_PREDICTION = "champion_prediction"
CHAMPION_PROBABILITY = "champion_probability_"


def champion_outputs(frame: pd.DataFrame, spec: ModelSpec, classes: Sequence[str] | None) -> pd.DataFrame:
    """The served model's prediction and class probabilities as ``champion_*`` columns."""
    out = pd.DataFrame(index=frame.index)
    if spec.prediction_column in frame.columns:
        out[CHAMPION_PREDICTION] = frame[spec.prediction_column].to_numpy()
    proba = probability_matrix(frame, spec, classes) if classes else None
    if proba is not None and classes:
        for j, c in enumerate(classes):
            out[CHAMPION_PROBABILITY + str(c)] = proba[:, j]
    return out


def champion_predictions(
    frame: pd.DataFrame, rows: np.ndarray, task: str, classes: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """(labels, probabilities) the served model gave ``rows`` of ``frame``; None if any is missing."""
    if CHAMPION_PREDICTION not in frame.columns:
        return None
    picked = frame.loc[rows]
    raw = picked[CHAMPION_PREDICTION]
    if raw.isna().any():
        return None
    if task == "regression":
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64")
        return (values, None) if np.isfinite(values).all() else None
    labels = as_labels(raw.to_numpy(dtype=object))
    cols = [CHAMPION_PROBABILITY + str(c) for c in classes or []]
    proba = None
    if cols and all(c in picked.columns for c in cols):
        proba = picked[cols].to_numpy(dtype="float64", na_value=np.nan)
        if not np.isfinite(proba).all():
            proba = None
    return labels, proba

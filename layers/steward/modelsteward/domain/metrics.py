"""Model quality metrics in plain numpy, so light functions need no scikit-learn import.

Values match scikit-learn's on the same data (the unit tests pin them), with two documented
differences that make them safe on real batches:

* a metric that is undefined on a slice (ROC AUC with one class present, R2 on a constant target)
  is ``None`` with a reason in ``<metric>_reason`` instead of an exception or a warning;
* MAPE skips rows whose target is 0 (scikit-learn divides by ``eps`` and reports ~1e15) and says
  how many it skipped in ``mape_skipped_zero_targets``.

Labels are compared as strings (:func:`as_labels`), so ``1``, ``1.0`` and ``"1"`` are one class.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

NUMERIC_SEGMENT_BINS = 4
MIN_SEGMENT_ROWS = 30


def as_labels(values: Any) -> np.ndarray:
    """Class labels as strings: integral numbers lose their '.0', booleans become 'true'/'false'.

    Training, scoring and label evaluation all go through this, so a target stored as int in one
    file and as float (because of a null) in another still names the same class.
    """
    if isinstance(values, pd.Series | pd.Index):
        values = values.to_numpy(dtype=object) if values.dtype.kind not in "iub" else values.to_numpy()
    raw = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    if raw.dtype.kind in "iu":
        return raw.astype(str).astype(object)
    if raw.dtype.kind == "b":
        return np.where(raw, "true", "false").astype(object)
    if raw.dtype.kind == "U":
        return raw.astype(object)
    arr = raw.astype(object)
    out = np.empty(arr.shape, dtype=object)
    for i, v in enumerate(arr.ravel()):
        out.flat[i] = label_text(v)
    return out


def label_text(v: Any) -> str:
    """One label's text: 1, 1.0 and "1" are one label; booleans 'true'/'false'."""
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        f = float(v)
        return str(int(f)) if f.is_integer() else repr(f)
    return str(v)


# --- classification -------------------------------------------------------------------------
def classification_metrics(
    y_true: Any,
    y_pred: Any,
    proba: np.ndarray | None = None,
    classes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Accuracy, precision, recall, F1, ROC AUC, log loss and the confusion matrix.

    Binary (two classes): precision/recall/F1 are for the positive class ``classes[1]`` and ROC AUC
    uses ``proba[:, 1]``. Multiclass: precision/recall/F1 are macro averages over ``classes`` and
    ROC AUC is the one-vs-rest macro average (only when every class is present in ``y_true``).
    ``proba`` columns follow ``classes``; without it ROC AUC and log loss are ``None``.
    """
    yt = as_labels(y_true)
    yp = as_labels(y_pred)
    if yt.shape != yp.shape:
        raise ValueError(f"y_true has {yt.shape[0]} rows but y_pred has {yp.shape[0]}")
    labels = [str(c) for c in classes] if classes is not None else sorted(set(yt) | set(yp))
    n = int(yt.shape[0])
    out: dict[str, Any] = {"n": n}
    if n == 0:
        out.update(accuracy=None, precision=None, recall=None, f1=None, roc_auc=None, log_loss=None)
        out["roc_auc_reason"] = "no rows"
        out["confusion_matrix"] = {"labels": labels, "matrix": [[0] * len(labels) for _ in labels]}
        return out
    cm = confusion_matrix(yt, yp, labels)
    out["accuracy"] = float(np.mean(yt == yp))
    out.update(precision_recall_f1(cm))
    auc, reason = _roc_auc(yt, proba, labels)
    out["roc_auc"] = auc
    if reason:
        out["roc_auc_reason"] = reason
    out["log_loss"] = log_loss(yt, proba, labels) if proba is not None else None
    out["confusion_matrix"] = {"labels": labels, "matrix": cm.tolist()}
    return out


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """Rows are true classes, columns predicted classes (scikit-learn's orientation)."""
    index = {c: i for i, c in enumerate(labels)}
    k = len(labels)
    ti = np.fromiter((index.get(v, -1) for v in y_true), dtype=np.int64, count=len(y_true))
    pi = np.fromiter((index.get(v, -1) for v in y_pred), dtype=np.int64, count=len(y_pred))
    keep = (ti >= 0) & (pi >= 0)
    return np.bincount(ti[keep] * k + pi[keep], minlength=k * k).reshape(k, k)


def precision_recall_f1(cm: np.ndarray) -> dict[str, float]:
    """Positive-class (binary: the second class) or macro precision, recall and F1; 0 when undefined."""
    tp = np.diag(cm).astype(float)
    predicted = cm.sum(axis=0).astype(float)
    actual = cm.sum(axis=1).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    if cm.shape[0] == 2:
        return {"precision": float(precision[1]), "recall": float(recall[1]), "f1": float(f1[1])}
    return {"precision": float(precision.mean()), "recall": float(recall.mean()), "f1": float(f1.mean())}


def binary_roc_auc(positive: np.ndarray, score: np.ndarray) -> float | None:
    """ROC AUC as the Mann-Whitney statistic with average ranks for ties; None if one class only."""
    pos = np.asarray(positive, dtype=bool)
    n_pos = int(pos.sum())
    n_neg = int(pos.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = _average_ranks(np.asarray(score, dtype=float))
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    boundaries = np.flatnonzero(np.diff(xs)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [xs.size]))
    mean_rank = (starts + ends + 1) / 2.0  # 1-based average rank of each tie group
    ranks = np.empty(x.size, dtype=float)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def _roc_auc(yt: np.ndarray, proba: np.ndarray | None, labels: list[str]) -> tuple[float | None, str | None]:
    if proba is None:
        return None, "no predicted probabilities"
    p = np.asarray(proba, dtype=float)
    if p.ndim != 2 or p.shape[1] != len(labels):
        return None, f"probabilities have {p.shape[-1] if p.ndim else 0} columns for {len(labels)} classes"
    present = set(yt)
    if len(labels) == 2:
        auc = binary_roc_auc(yt == labels[1], p[:, 1])
        return (auc, None) if auc is not None else (None, f"only one class present ({sorted(present)})")
    missing = [c for c in labels if c not in present]
    if missing:
        return None, f"classes {missing} absent from the labels: one-vs-rest AUC is undefined"
    aucs = [binary_roc_auc(yt == c, p[:, i]) for i, c in enumerate(labels)]
    return float(np.mean([a for a in aucs if a is not None])), None


def log_loss(y_true: Any, proba: np.ndarray | None, classes: Sequence[str]) -> float | None:
    """Cross-entropy with probabilities clipped to [eps, 1-eps] and rows renormalized (as sklearn)."""
    if proba is None:
        return None
    yt = as_labels(y_true)
    p = np.asarray(proba, dtype=float)
    if p.ndim != 2 or p.shape[1] != len(classes) or p.shape[0] != yt.shape[0] or yt.shape[0] == 0:
        return None
    eps = np.finfo(p.dtype).eps
    p = np.clip(p, eps, 1 - eps)
    p = p / p.sum(axis=1, keepdims=True)
    index = {c: i for i, c in enumerate(classes)}
    cols = np.fromiter((index.get(v, -1) for v in yt), dtype=np.int64, count=yt.shape[0])
    if (cols < 0).any():
        return None
    return float(-np.mean(np.log(p[np.arange(yt.shape[0]), cols])))


# --- regression -----------------------------------------------------------------------------
def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, Any]:
    """MAE, RMSE, MAPE (rows with a zero target skipped, count reported) and R2."""
    yt = np.asarray(y_true, dtype=float)
    yp = np.asarray(y_pred, dtype=float)
    if yt.shape != yp.shape:
        raise ValueError(f"y_true has {yt.shape[0]} rows but y_pred has {yp.shape[0]}")
    n = int(yt.shape[0])
    out: dict[str, Any] = {"n": n}
    if n == 0:
        out.update(mae=None, rmse=None, mape=None, r2=None, r2_reason="no rows")
        return out
    err = yp - yt
    out["mae"] = float(np.mean(np.abs(err)))
    out["rmse"] = float(math.sqrt(np.mean(err**2)))
    nonzero = yt != 0
    out["mape"] = float(np.mean(np.abs(err[nonzero]) / np.abs(yt[nonzero]))) if nonzero.any() else None
    out["mape_skipped_zero_targets"] = int(n - nonzero.sum())
    ss_tot = float(np.sum((yt - yt.mean()) ** 2))
    if ss_tot == 0:
        out["r2"] = None
        out["r2_reason"] = "constant target: R2 is undefined"
    else:
        out["r2"] = float(1 - np.sum(err**2) / ss_tot)
    return out


# --- dispatch and segments ------------------------------------------------------------------
def task_metrics(
    task: str, y_true: Any, y_pred: Any, proba: np.ndarray | None = None, classes: Sequence[str] | None = None
) -> dict[str, Any]:
    if task == "regression":
        return regression_metrics(y_true, y_pred)
    return classification_metrics(y_true, y_pred, proba, classes)


def metric_value(
    metric: str,
    task: str,
    y_true: Any,
    y_pred: Any,
    proba: np.ndarray | None = None,
    classes: Sequence[str] | None = None,
) -> float | None:
    """One metric only (what permutation importance needs dozens of times), same values as above."""
    if task == "regression":
        value = regression_metrics(y_true, y_pred).get(metric)
        return None if value is None else float(value)
    yt, yp = as_labels(y_true), as_labels(y_pred)
    labels = [str(c) for c in classes] if classes is not None else sorted(set(yt) | set(yp))
    if yt.shape[0] == 0:
        return None
    if metric == "accuracy":
        return float(np.mean(yt == yp))
    if metric in ("precision", "recall", "f1"):
        return precision_recall_f1(confusion_matrix(yt, yp, labels))[metric]
    if metric == "roc_auc":
        return _roc_auc(yt, proba, labels)[0]
    if metric == "log_loss":
        return log_loss(yt, proba, labels)
    raise ValueError(f"unknown metric '{metric}'")


def segment_labels(values: pd.Series, *, bins: int = NUMERIC_SEGMENT_BINS) -> pd.Series:
    """Group keys for a segment column: categories as-is, numbers in equal-frequency bins.

    Numeric bins are labelled by their closed-open edges, e.g. ``[30, 45)``; nulls form ``(missing)``.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        x = values.astype(float)
        finite = x.dropna()
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1))) if len(finite) else np.array([])
        if edges.size < 2:
            return values.map(lambda v: "(missing)" if pd.isna(v) else label_text(v)).astype(object)
        idx = np.clip(np.searchsorted(edges, x.to_numpy(), side="right") - 1, 0, edges.size - 2)
        names = [
            f"[{_fmt(edges[i])}, {_fmt(edges[i + 1])}{']' if i == edges.size - 2 else ')'}"
            for i in range(edges.size - 1)
        ]
        labels = np.array(names, dtype=object)[idx]
        labels[x.isna().to_numpy()] = "(missing)"
        return pd.Series(labels, index=values.index, dtype=object)
    return values.map(lambda v: "(missing)" if pd.isna(v) else label_text(v)).astype(object)


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def metrics_by_segment(
    frame: pd.DataFrame,
    segment_columns: Sequence[str],
    *,
    task: str,
    y_true: Any,
    y_pred: Any,
    proba: np.ndarray | None = None,
    classes: Sequence[str] | None = None,
    min_rows: int = MIN_SEGMENT_ROWS,
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{column: {segment value: metrics}}`` for each segment column; small slices are skipped.

    A slice with fewer than ``min_rows`` rows is reported as ``{"n": k, "skipped": "..."}``: its
    metrics would be noise, and the gate must not reject a model on noise.
    """
    yt = np.asarray(y_true, dtype=object)
    yp = np.asarray(y_pred, dtype=object)
    p = None if proba is None else np.asarray(proba, dtype=float)
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for column in segment_columns:
        keys = segment_labels(frame[column]).to_numpy()
        per_value: dict[str, dict[str, Any]] = {}
        for value in sorted(set(keys)):
            mask = keys == value
            k = int(mask.sum())
            if k < min_rows:
                per_value[value] = {"n": k, "skipped": f"fewer than {min_rows} rows"}
                continue
            per_value[value] = task_metrics(task, yt[mask], yp[mask], None if p is None else p[mask], classes)
        result[column] = per_value
    return result

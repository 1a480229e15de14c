"""Joining late labels to the predictions they judge, and the realized metrics that follow.

Labels arrive days or weeks after scoring, in files that do not line up with scoring batches. The
join is by row id across every stored prediction batch of the model (within the retraining
window); nothing is dropped silently:

* a label row without an id or a label value is counted as ``invalid``;
* the same id labeled twice keeps the last one by timestamp (file order breaks ties) and the
  extra rows are counted as ``duplicates``;
* a label whose id was never scored (or was scored before the window) is ``unmatched``; those rows
  are returned so the caller can store them for a person to look at;
* an id scored twice is judged against its newest prediction (``prediction_duplicates``).

Pure pandas/numpy: the service reads the files and writes the results.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .metrics import as_labels, metrics_by_segment, task_metrics
from .routing import normalize_ids

ID = "_row_id"  # the normalized join key (string)
LABEL = "_label"
LABELED_AT = "_labeled_at"
PROBABILITY_PREFIX = "probability_"
SEGMENT_PREFIX = "segment_"  # segment values in the compact copy (prefixed: a feature may be named "id")
COMPACT_BASE_COLUMNS = ("id", "prediction", "model_version", "variant", "scored_at", "batch_id")
WINDOW_FREQ = {"hour": "h", "day": "D", "week": "W-SUN"}


# --- labels ---------------------------------------------------------------------------------
@dataclass
class LabelSet:
    """Deduplicated label rows keyed by the normalized id, and what had to be set aside."""

    frame: pd.DataFrame  # columns: ID, LABEL, LABELED_AT (may be NaT)
    rows_in: int
    invalid: int
    duplicates: int
    invalid_rows: pd.DataFrame = field(default_factory=pd.DataFrame)


def prepare_labels(
    frame: pd.DataFrame,
    *,
    id_column: str,
    label_column: str,
    timestamp_column: str | None,
    classifier: bool,
) -> LabelSet:
    """Normalize ids and labels; keep the last label per id (by timestamp, then file order)."""
    n = len(frame)
    ids = normalize_ids(frame[id_column].reset_index(drop=True))
    raw = frame[label_column].reset_index(drop=True)
    if classifier:
        labels = pd.Series(as_labels(raw.to_numpy(dtype=object, na_value=None)), dtype=object)
        labels[raw.isna().to_numpy()] = None
    else:
        labels = pd.Series(pd.to_numeric(raw, errors="coerce").astype("float64").to_numpy(), dtype="float64")
    if timestamp_column and timestamp_column in frame.columns:
        stamps = pd.to_datetime(frame[timestamp_column].reset_index(drop=True), utc=True, errors="coerce")
    else:
        stamps = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]")
    table = pd.DataFrame({ID: ids, LABEL: labels, LABELED_AT: stamps, "_order": np.arange(n)})
    bad = table[ID].isna() | table[LABEL].isna()
    invalid_rows = frame.reset_index(drop=True).loc[bad.to_numpy()]
    valid = table.loc[~bad]
    # last by timestamp; rows without a timestamp sort first, file order breaks ties
    ordered = valid.sort_values([LABELED_AT, "_order"], na_position="first", kind="mergesort")
    dedup = ordered.drop_duplicates(ID, keep="last").sort_values("_order").drop(columns="_order")
    return LabelSet(
        frame=dedup.reset_index(drop=True),
        rows_in=n,
        invalid=int(bad.sum()),
        duplicates=int(len(valid) - len(dedup)),
        invalid_rows=invalid_rows,
    )


# --- predictions ----------------------------------------------------------------------------
def probability_columns(columns: Iterable[str]) -> list[str]:
    return [c for c in columns if c.startswith(PROBABILITY_PREFIX)]


def classes_from_columns(columns: Iterable[str], declared: Sequence[str] | None = None) -> list[str]:
    """The classes the compact files carry probabilities for: the spec's order, else sorted."""
    found = {c.removeprefix(PROBABILITY_PREFIX) for c in probability_columns(columns)}
    if declared:
        return [str(c) for c in declared]
    return sorted(found)


def latest_predictions(frames: Sequence[pd.DataFrame]) -> tuple[pd.DataFrame, int]:
    """One prediction per id (the newest ``scored_at``) and how many older duplicates were dropped."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=[ID, *COMPACT_BASE_COLUMNS]), 0
    allp = pd.concat(frames, ignore_index=True, sort=False)
    allp[ID] = normalize_ids(allp["id"]).to_numpy()
    for col in probability_columns(allp.columns):
        allp[col] = allp[col].astype("float64").fillna(0.0)  # a version trained before a class existed
    allp = allp.loc[allp[ID].notna()]
    scored = pd.to_datetime(allp["scored_at"], utc=True, errors="coerce")
    allp = allp.assign(scored_at=scored).sort_values("scored_at", ascending=False, kind="mergesort")
    latest = allp.drop_duplicates(ID, keep="first")
    return latest.reset_index(drop=True), int(len(allp) - len(latest))


@dataclass
class LabelJoin:
    matched: pd.DataFrame  # prediction columns + LABEL + LABELED_AT
    unmatched: pd.DataFrame  # label rows (ID, LABEL, LABELED_AT) with no prediction
    counts: dict[str, int]


def join_labels(labels: LabelSet, predictions: pd.DataFrame, prediction_duplicates: int = 0) -> LabelJoin:
    """Inner join on the normalized id; unmatched label rows are kept aside, not lost."""
    if len(predictions):
        matched = labels.frame.merge(predictions, on=ID, how="inner", validate="one_to_one")
        hit = labels.frame[ID].isin(predictions[ID])
    else:
        matched = labels.frame.iloc[0:0].copy()
        hit = pd.Series(False, index=labels.frame.index)
    unmatched = labels.frame.loc[~hit.to_numpy()].reset_index(drop=True)
    counts = {
        "label_rows": labels.rows_in,
        "invalid": labels.invalid,
        "duplicates": labels.duplicates,
        "unique_labels": len(labels.frame),
        "matched": len(matched),
        "unmatched": len(unmatched),
        "prediction_duplicates": prediction_duplicates,
    }
    return LabelJoin(matched=matched.reset_index(drop=True), unmatched=unmatched, counts=counts)


# --- realized metrics -----------------------------------------------------------------------
def _proba(frame: pd.DataFrame, classes: Sequence[str]) -> np.ndarray | None:
    cols = [PROBABILITY_PREFIX + c for c in classes]
    if not cols or any(c not in frame.columns for c in cols):
        return None
    return np.asarray(frame[cols].to_numpy(dtype="float64", na_value=0.0))


def realized(frame: pd.DataFrame, task: str, classes: Sequence[str] | None) -> dict[str, Any]:
    """Realized metrics of joined rows via domain.metrics (same code as the training holdout)."""
    if task == "regression":
        y_pred = pd.to_numeric(frame["prediction"], errors="coerce").to_numpy(dtype="float64")
        return task_metrics(task, frame[LABEL].to_numpy(dtype="float64"), y_pred)
    proba = _proba(frame, classes or [])
    return task_metrics(
        task, frame[LABEL].to_numpy(dtype=object), as_labels(frame["prediction"]), proba, classes
    )


def realized_by_segment(
    frame: pd.DataFrame, segments: Sequence[str], task: str, classes: Sequence[str] | None
) -> dict[str, Any]:
    present = [s for s in segments if SEGMENT_PREFIX + s in frame.columns]
    if not present or not len(frame):
        return {}
    values = pd.DataFrame({s: frame[SEGMENT_PREFIX + s].to_numpy() for s in present}, index=frame.index)
    if task == "regression":
        y_true: Any = frame[LABEL].to_numpy(dtype="float64")
        y_pred: Any = pd.to_numeric(frame["prediction"], errors="coerce").to_numpy(dtype="float64")
        proba = None
    else:
        y_true = frame[LABEL].to_numpy(dtype=object)
        y_pred = as_labels(frame["prediction"])
        proba = _proba(frame, classes or [])
    return metrics_by_segment(
        values, present, task=task, y_true=y_true, y_pred=y_pred, proba=proba, classes=classes
    )


def version_groups(frame: pd.DataFrame) -> list[tuple[int, str, pd.DataFrame]]:
    """Rows per (model version, variant), sorted."""
    if not len(frame):
        return []
    out = []
    for (version, variant), rows in frame.groupby(["model_version", "variant"], sort=True):
        out.append((int(version), str(variant), rows))
    return out


def metric_drop(
    realized_value: float | None, validation: float | None, *, greater_is_better: bool
) -> float | None:
    """Validation minus realized when greater is better, realized minus validation otherwise (>0 = worse)."""
    if realized_value is None or validation is None:
        return None
    return validation - realized_value if greater_is_better else realized_value - validation


def weighted_validation(
    groups: Sequence[tuple[int, int]], validation: dict[int, float | None]
) -> float | None:
    """Row-weighted validation score of the versions that served the rows ((version, rows) pairs)."""
    total = 0.0
    weight = 0
    for version, rows in groups:
        score = validation.get(version)
        if score is None:
            continue
        total += score * rows
        weight += rows
    return None if weight == 0 else total / weight


# --- late labels: which scoring batches and windows the labels belong to ---------------------
def batch_windows(frame: pd.DataFrame, window: str) -> dict[str, list[dict[str, Any]]]:
    """Scoring batches and time windows the matched labels fall in, so window results can be redone."""
    if not len(frame):
        return {"batches": [], "windows": []}
    scored = pd.to_datetime(frame["scored_at"], utc=True, errors="coerce")
    batches = []
    for batch_id, rows in frame.assign(_scored=scored).groupby("batch_id", sort=True):
        batches.append(
            {
                "batch_id": str(batch_id),
                "matched": len(rows),
                "scored_from": _iso(rows["_scored"].min()),
                "scored_to": _iso(rows["_scored"].max()),
            }
        )
    freq = WINDOW_FREQ.get(window, "D")
    stamp_col = "timestamp" if "timestamp" in frame.columns else None
    when = pd.to_datetime(frame[stamp_col], utc=True, errors="coerce") if stamp_col else scored
    when = when.fillna(scored)
    starts = when.dt.tz_localize(None).dt.to_period(freq).dt.start_time
    windows = [
        {"window": window, "start": _iso(pd.Timestamp(start).tz_localize("UTC")), "matched": int(count)}
        for start, count in starts.value_counts().sort_index().items()
        if not pd.isna(start)
    ]
    return {"batches": batches, "windows": windows}


def _iso(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    return str(pd.Timestamp(value).isoformat())


# --- training pool --------------------------------------------------------------------------
def pool_rows(
    matched: pd.DataFrame,
    inference: pd.DataFrame,
    *,
    id_column: str,
    timestamp_column: str | None,
    features: Sequence[str],
    target: str,
) -> tuple[pd.DataFrame, int]:
    """Labeled training rows: features from the stored inference rows + the label as ``target``.

    Returns the rows and how many matched labels had no inference row to take features from.
    """
    if not len(matched) or not len(inference):
        return pd.DataFrame(columns=[id_column, *features, target]), len(matched)
    inf = inference.copy()
    inf[ID] = normalize_ids(inf[id_column]).to_numpy()
    inf = inf.drop_duplicates(ID, keep="last")
    keep = [c for c in (id_column, timestamp_column) if c and c in inf.columns]
    cols = [*keep, *[f for f in features if f in inf.columns], ID]
    labeled = matched[[ID, LABEL]].merge(inf[cols], on=ID, how="inner")
    labeled = labeled.rename(columns={LABEL: target}).drop(columns=ID)
    ordered = [*keep, *[f for f in features if f in labeled.columns], target]
    return labeled[ordered].reset_index(drop=True), int(len(matched) - len(labeled))


def realized_fairness(
    frame: pd.DataFrame, spec: Any, classes: Sequence[str] | None, *, seed: int = 0
) -> dict[str, Any] | None:
    """Realized bias of labelled rows (group metrics against the spec's fairness bounds), or None.

    The sensitive attributes ride in the compact prediction copy as ``segment_<attribute>``.
    Group-level figures only; ``breach`` is the per-batch verdict on every committed bound.
    """
    from .fairness import favorable_label, judge, post_training_bias

    fair = spec.fairness
    sensitive = {
        a: frame[SEGMENT_PREFIX + a].to_numpy(dtype=object)
        for a in fair.sensitive_attributes
        if SEGMENT_PREFIX + a in frame.columns
    }
    if not fair.bounds.committed() or not sensitive or not len(frame):
        return None
    if spec.task == "regression":
        y_true: Any = frame[LABEL].to_numpy(dtype="float64")
        y_pred: Any = pd.to_numeric(frame["prediction"], errors="coerce").to_numpy(dtype="float64")
    else:
        y_true, y_pred = frame[LABEL].to_numpy(dtype=object), as_labels(frame["prediction"])
    report = post_training_bias(
        fair,
        task=spec.task,
        metric=spec.primary_metric,
        classes=classes,
        sensitive=sensitive,
        y_true=y_true,
        y_pred=y_pred,
        proba=_proba(frame, classes or []) if spec.is_classifier else None,
        favorable=favorable_label(spec, classes),
        seed=seed,
        kind="batch",
    )
    verdict = judge(fair, report)
    return {
        "breach": verdict.verdict == "breached",
        "verdict": verdict.verdict,
        "bounds": verdict.bounds,
        "values": verdict.values,
        "failed_checks": verdict.failed_checks,
        "too_small": verdict.too_small,
        "groups": {
            a.attribute: {
                g.group: {
                    "n": g.n,
                    "selection_rate": g.selection_rate,
                    "true_positive_rate": g.true_positive_rate,
                    "metric": g.metric,
                }
                for g in a.groups
            }
            for a in report.attributes
        },
    }

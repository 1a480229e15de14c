"""Reference rows weighted to look like the batch: the label-free estimate under covariate shift.

A calibration map learned on the reference says P(y | score) *there*. When the inputs move, the
same score can mean another outcome rate, unless the model is the true P(y | x): every real model
misses part of the mechanism, so a shift toward riskier applicants bends P(y | score) and a plain
CBPE estimate turns optimistic (bench/estimation_reference.py: +0.004 to +0.012 ROC AUC and +0.004
to +0.006 accuracy on its shifted batches, whatever the reference size; NannyML's CBPE alike).
Importance weighting removes that: each reference row counts ``w = p_batch(x) / p_reference(x)``,
estimated by a domain classifier between the reference and a sample of the batch (the same numpy
logistic model on quantile-normal scores, their squares and products, and one-hot categoricals
that multivariate drift uses), and the calibration map is refitted with those weights, its method
unchanged (chosen on the reference alone). Only the batch's inputs are used, never its labels.

The price is variance, so weights are used only when the batch measurably differs: the domain
classifier's out-of-fold AUC must exceed chance by :data:`SHIFT_Z` null standard errors (about
0.53 for 1,500 reference rows against 2,000 batch rows); an unshifted batch keeps the plain
estimate and its variance (measured: weighting every unshifted batch would add about 10 % to the
error with a 1,500-row reference and 17 % with 500, and move nothing on average). A strongly
shifted batch resembles few reference rows: the effective number of rows (Kish:
``(sum w)^2 / sum w^2``) replaces the reference size in the band and in the trust rule, and
weights are capped at their 99th percentile so no handful of rows decides.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .multivariate import (
    MAX_CATEGORIES,
    MAX_NUMERIC,
    cross_validated_auc,
    design_matrix,
    fit_logistic,
    single_threaded_blas,
)

#: reference rows kept for the adjustment (a seeded sample beyond this)
MAX_REFERENCE_ROWS = 10_000
#: batch rows the domain classifier sees
MAX_BATCH_ROWS = 5_000
WEIGHT_CAP_QUANTILE = 0.99
#: null standard errors the domain classifier's AUC must exceed 0.5 by for the weights to be used
SHIFT_Z = 3.0
#: folds of the out-of-fold AUC that gates the weights (2: one fit's cost; 5 costs 2.5 times more)
GATE_FOLDS = 2

if TYPE_CHECKING:
    from .estimation import Estimator


def _categorical_levels(values: Sequence[str | None]) -> list[str]:
    counts: dict[str, int] = {}
    for v in values:
        if v is not None:
            counts[v] = counts.get(v, 0) + 1
    return sorted(counts, key=lambda c: (-counts[c], c))[:MAX_CATEGORIES]


@dataclass(frozen=True)
class ShiftWeights:
    """Reference-row weights (mean 1; all 1 when not ``shifted``) and the evidence behind them."""

    weights: np.ndarray
    domain_auc: float | None  # cross-validated AUC of reference vs batch (None: nothing to compare)
    shifted: bool  # the AUC exceeded chance by SHIFT_Z null standard errors


def null_auc_threshold(n_reference: int, n_batch: int) -> float:
    """AUC above which a domain classifier separates better than chance (Mann-Whitney null SE)."""
    se = math.sqrt((n_reference + n_batch + 1) / (12.0 * n_reference * n_batch))
    return 0.5 + SHIFT_Z * se


def density_ratio(
    reference_numeric: Mapping[str, np.ndarray],
    batch_numeric: Mapping[str, np.ndarray],
    reference_categorical: Mapping[str, Sequence[str | None]],
    batch_categorical: Mapping[str, Sequence[str | None]],
    *,
    seed: int = 0,
) -> ShiftWeights:
    """Weights of the reference rows (mean 1) that make them resemble the batch, when it differs.

    Numeric columns beyond :data:`MAX_NUMERIC` are left out (pairwise products grow as their square);
    the batch is subsampled to :data:`MAX_BATCH_ROWS` rows, seeded.
    """
    numeric = [c for c in reference_numeric if c in batch_numeric][:MAX_NUMERIC]
    categorical = [c for c in reference_categorical if c in batch_categorical]
    n_ref = len(next(iter(reference_numeric.values()))) if reference_numeric else 0
    if not n_ref and reference_categorical:
        n_ref = len(next(iter(reference_categorical.values())))
    n_batch = len(next(iter(batch_numeric.values()))) if batch_numeric else 0
    if not n_batch and batch_categorical:
        n_batch = len(next(iter(batch_categorical.values())))
    if n_ref == 0 or n_batch == 0 or not (numeric or categorical):
        return ShiftWeights(np.ones(n_ref), None, False)
    take = np.sort(np.random.default_rng(seed).permutation(n_batch)[:MAX_BATCH_ROWS])
    cur_num = {c: np.asarray(batch_numeric[c], dtype=np.float64)[take] for c in numeric}
    cur_cat = {c: [batch_categorical[c][i] for i in take] for c in categorical}
    ref_num = {c: np.asarray(reference_numeric[c], dtype=np.float64) for c in numeric}
    ref_cat = {c: list(reference_categorical[c]) for c in categorical}
    levels = {c: _categorical_levels(ref_cat[c]) for c in categorical}
    x, y = design_matrix(ref_num, cur_num, ref_cat, cur_cat, levels)
    if x.shape[1] == 0:
        return ShiftWeights(np.ones(n_ref), None, False)
    auc = cross_validated_auc(x, y, folds=GATE_FOLDS, seed=seed)
    if auc < null_auc_threshold(n_ref, len(take)):
        return ShiftWeights(np.ones(n_ref), auc, False)
    with single_threaded_blas():  # threads fight on small matrices: 50x slower when cores are busy
        w = fit_logistic(x, y)
    logit = w[0] + x[:n_ref] @ w[1:]
    ratio = np.exp(np.clip(logit, -30, 30)) * (n_ref / len(take))  # odds x class-size correction
    cap = float(np.quantile(ratio, WEIGHT_CAP_QUANTILE))
    ratio = np.minimum(ratio, cap) if cap > 0 else ratio
    total = float(ratio.sum())
    weights = np.asarray(ratio / total * n_ref if total > 0 else np.ones(n_ref), dtype=np.float64)
    return ShiftWeights(weights, auc, True)


def effective_rows(weights: np.ndarray) -> float:
    """Kish's effective sample size of weighted rows."""
    w = np.asarray(weights, dtype=np.float64)
    square = float((w * w).sum())
    return float(w.sum()) ** 2 / square if square > 0 else 0.0


def feature_arrays(
    frame: Any, numeric: Sequence[str], categorical: Sequence[str]
) -> tuple[dict[str, np.ndarray], dict[str, list[str | None]]]:
    """A pandas frame's spec features as :func:`density_ratio` takes them (absent columns skipped;
    numeric as float64 with NaN, categorical as text with None)."""
    columns = set(frame.columns)
    import pandas as pd

    nums = {
        c: pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        for c in numeric
        if c in columns
    }
    cats = {
        c: [None if v is None or v != v else str(v) for v in frame[c].to_numpy(dtype=object)]
        for c in categorical
        if c in columns
    }
    return nums, cats


#: columns of an estimation sample besides the features (services.estimation_sample)
SCORE_PREFIX = "_score_"
LABEL_COLUMN = "_label"


def sample_frame(
    features: Any, proba: np.ndarray, labels: Any, classes: Sequence[str], *, seed: int = 0
) -> Any:
    """The reference rows an estimate is adjusted with: features, the model's probability per class
    and the label; a seeded sample of :data:`MAX_REFERENCE_ROWS` rows beyond that."""
    frame = features.reset_index(drop=True).copy()
    for j, c in enumerate(classes):
        frame[SCORE_PREFIX + str(c)] = np.asarray(proba, dtype="float64")[:, j]
    frame[LABEL_COLUMN] = [str(v) for v in labels]
    if len(frame) > MAX_REFERENCE_ROWS:
        keep = np.sort(np.random.default_rng(seed).permutation(len(frame))[:MAX_REFERENCE_ROWS])
        frame = frame.iloc[keep].reset_index(drop=True)
    return frame


def adjust_for_batch(
    estimator: Estimator,
    sample: Any,
    batch: Any,
    numeric: Sequence[str],
    categorical: Sequence[str],
    *,
    seed: int = 0,
) -> Estimator:
    """``estimator`` refitted on the sample's rows weighted to resemble ``batch`` (a pandas frame of
    the batch's features) when the batch measurably differs from them; else unchanged (but for the
    domain AUC it records), as when the sample lacks what it needs."""
    columns = [SCORE_PREFIX + c for c in estimator.classes]
    if any(c not in sample.columns for c in [*columns, LABEL_COLUMN]) or len(sample) == 0 or len(batch) == 0:
        return estimator
    ref_num, ref_cat = feature_arrays(sample, numeric, categorical)
    cur_num, cur_cat = feature_arrays(batch, numeric, categorical)
    found = density_ratio(ref_num, cur_num, ref_cat, cur_cat, seed=seed)
    if not found.shifted:
        return estimator.model_copy(update={"domain_auc": found.domain_auc})
    proba = sample[columns].to_numpy(dtype="float64")
    adjusted = estimator.reweighted(proba, sample[LABEL_COLUMN].to_numpy(dtype=object), found.weights)
    return adjusted.model_copy(update={"domain_auc": found.domain_auc})

"""Performance thresholds a model earns: how much its primary metric moves by chance at a batch's size.

A fixed drop threshold (0.05 for every model) is silent for a model whose metric barely moves and
noisy for one on small batches. As NannyML does with reference chunks, the suite measures the
spread on the holdout (bootstrap resamples at the holdout's size), stores it with the version, and
at a batch of ``n`` rows scales it by ``sqrt(n_holdout / n)`` (a standard error shrinks with the
square root of the rows). Two spreads are kept:

* ``metric_noise``: the realized metric's. A realized drop (validation score - realized) carries the
  batch's sampling error *and* the validation score's own (it was measured on a finite holdout), so
  its standard deviation is ``sd_h * sqrt(n_h / n + 1)``;
* ``estimate_noise``: the label-free estimate's (the estimator applied to resampled holdout rows).
  An unshifted batch's estimate sits on the validation score by construction (calibrated on the
  holdout), so only the batch's own spread counts: ``sd_h * sqrt(n_h / n)``.

The drop that breaches is ``sigmas`` of that standard deviation, bounded by the owner's
``min_drop`` and ``max_drop`` (spec ``alerts``). Pure: numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .metrics import metric_value
from .performance_thresholds import RESAMPLES, MetricNoise, drop_threshold

__all__ = ["MetricNoise", "bootstrap_noise", "drop_threshold", "metric_noise"]


def bootstrap_noise(
    metric: str,
    n: int,
    value_of: Callable[[np.ndarray], float | None],
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> MetricNoise | None:
    """Spread of ``value_of(rows)`` over bootstrap resamples of ``n`` rows; None below 20 rows or
    when most resamples give no value (a class missing, say)."""
    if n < 20:
        return None
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        value = value_of(rng.integers(0, n, n))
        if value is not None and math.isfinite(value):
            values.append(value)
    if len(values) < resamples // 2:
        return None
    arr = np.asarray(values)
    return MetricNoise(
        metric=metric, sd=float(arr.std(ddof=1)), n=n, mean=float(arr.mean()), resamples=resamples
    )


def metric_noise(
    metric: str,
    task: str,
    y_true: Any,
    y_pred: Any,
    proba: np.ndarray | None = None,
    classes: Sequence[str] | None = None,
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> MetricNoise | None:
    """Bootstrap spread of the realized ``metric`` on the holdout."""
    yt, yp = np.asarray(y_true), np.asarray(y_pred)

    def value_of(idx: np.ndarray) -> float | None:
        return metric_value(metric, task, yt[idx], yp[idx], None if proba is None else proba[idx], classes)

    return bootstrap_noise(metric, int(yt.shape[0]), value_of, resamples=resamples, seed=seed)

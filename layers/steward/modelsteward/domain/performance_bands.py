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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..spec import PerformanceAlert
from .metrics import metric_value

RESAMPLES = 200


class MetricNoise(BaseModel):
    """The primary metric's spread over bootstrap resamples of the holdout (stored per version)."""

    model_config = ConfigDict(extra="ignore")

    metric: str
    sd: float
    n: int
    mean: float | None = None
    resamples: int = RESAMPLES

    def sd_at(self, rows: int) -> float:
        """The standard deviation expected at a batch of ``rows`` rows."""
        return self.sd * math.sqrt(self.n / max(1, rows))

    @classmethod
    def from_row(cls, raw: Mapping[str, Any] | None) -> MetricNoise | None:
        if not raw:
            return None
        try:
            return cls.model_validate(raw)
        except ValueError:
            return None


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


def drop_threshold(
    alert: PerformanceAlert, noise: MetricNoise | None, rows: int, *, against_validation: bool
) -> tuple[float, str]:
    """(the drop that breaches at a batch of ``rows`` rows, how it was set) for the email and report.

    ``against_validation``: the drop compares a realized value with the validation score, whose own
    error adds to the batch's (see the module docstring)."""
    if alert.drop_threshold is not None:
        return alert.drop_threshold, "set in the spec (alerts.*.drop_threshold)"
    if noise is None or rows <= 0:
        return alert.max_drop, "fixed (no holdout spread stored for this version)"
    sd = noise.sd_at(rows)
    if against_validation:
        sd = math.hypot(sd, noise.sd)
    earned = alert.sigmas * sd
    bounded = min(alert.max_drop, max(alert.min_drop, earned))
    how = (
        f"{alert.sigmas:g} sd of the {noise.metric} drop at {rows} rows ({earned:.4f}; holdout spread "
        f"{noise.sd:.4f} at {noise.n} rows)"
    )
    if bounded != earned:
        how += f", bounded to [{alert.min_drop:g}, {alert.max_drop:g}]"
    return bounded, how

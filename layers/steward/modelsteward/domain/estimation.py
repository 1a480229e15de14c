"""Label-free performance estimation for probabilistic classifiers (confidence-based, CBPE-style).

Labels arrive late or never; the model's own probabilities, once calibrated on data with known
outcomes (the training holdout), say how often it should be right. Per batch:

* calibrate each class's probability with the map that fits the reference it has: Platt
  (logistic on the logit), beta (logistic on ``ln p`` and ``-ln(1 - p)``) or isotonic regression
  (pool adjacent violators, identical to scikit-learn's), whichever has the lowest 5-fold
  cross-validated log loss on the reference. An unregularised isotonic map on a few hundred rows is
  the convex hull of that sample's ROC curve and makes the estimate optimistic; a 2-3 parameter
  map cannot. Beyond the reference's score range the isotonic map follows the beta map's slope
  (in log-odds) instead of staying flat at its last block (often 1.0);
* the expected confusion matrix follows: a row predicted ``k`` with calibrated probability
  ``c`` of truly being ``k`` adds ``c`` to the true-positive cell and ``1 - c`` to the
  false-positive cell. Expected accuracy, precision, recall and F1 are read from it;
* expected ROC AUC is the trapezoid under the expected ROC curve: rank rows by the model's score
  and accumulate ``c`` (expected positives) and ``1 - c`` (expected negatives);
* expected log loss is the calibrated expectation of ``-log p_model(y)``;
* a 95% band from the sampling variance of the batch (each outcome a Bernoulli with the
  calibrated probability; Hanley-McNeil for AUC), widened by ``sqrt(1 + n / n_reference)`` for
  the calibration map's own error (learned from a finite reference). It does not cover a
  calibration that stopped holding (see below).

A reference whose rarer class has fewer than ``MIN_TRUSTED_CLASS_ROWS`` rows gives an estimate
flagged ``trusted: false`` with a note saying why (the map's own error is then as large as the
drops it should reveal).

The estimate is right under covariate shift (inputs move, P(y | x) stays). It cannot see concept
shift (the same inputs now mean a different outcome): only labels can, which is why realized
metrics are computed too when labels arrive.

Binary: positive class is ``classes[1]`` (scikit-learn's convention for ``predict_proba``
columns). Multiclass: accuracy from the calibrated probability of the predicted class, and macro
precision/recall/F1/one-vs-rest ROC AUC with approximate bands.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

ESTIMATION_FILE = "estimation.json"
FORMAT_VERSION = 2  # 2: calibration chosen by cross-validation, trust, extrapolation (issue 23)
_Z95 = 1.959963984540054
_EPS = 1e-15
_DRAWS = 2000
#: fewest reference rows of the rarer class for an estimate to be called trustworthy
MIN_TRUSTED_CLASS_ROWS = 200
CALIBRATION_METHODS = ("platt", "beta", "isotonic")
_CV_FOLDS = 5
_CV_EPS = 1e-4  # log loss of a held-out row is capped at -ln(1e-4): a 0/1 block costs 9.2, not infinity
_LOGIT_EPS = 1e-12


# --- calibration maps ------------------------------------------------------------------------
def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _LOGIT_EPS, 1.0 - _LOGIT_EPS)
    return np.asarray(np.log(q) - np.log1p(-q))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)))


def _design(method: str, scores: np.ndarray) -> np.ndarray:
    """Features of the parametric maps: Platt [logit p, 1]; beta [ln p, -ln(1 - p), 1]."""
    q = np.clip(np.asarray(scores, dtype="float64"), _LOGIT_EPS, 1.0 - _LOGIT_EPS)
    if method == "platt":
        return np.column_stack([_logit(q), np.ones_like(q)])
    return np.column_stack([np.log(q), -np.log1p(-q), np.ones_like(q)])


class Calibrator(BaseModel):
    """One class's calibration map: ``method`` platt / beta (``coef`` on :func:`_design`'s features)
    or isotonic (breakpoints ``x``/``y``, like scikit-learn's). An isotonic map extends beyond its
    breakpoints with ``param_method``'s slope in log-odds (``param_coef``), when it has one.
    ``lo``/``hi``: the reference's score range (outside it the map is an extrapolation)."""

    model_config = ConfigDict(frozen=True)

    method: str = "isotonic"
    x: list[float] = Field(default_factory=list)
    y: list[float] = Field(default_factory=list)
    coef: list[float] = Field(default_factory=list)
    param_method: str | None = None
    param_coef: list[float] = Field(default_factory=list)
    lo: float | None = None
    hi: float | None = None

    def _parametric(self, method: str, coef: list[float], scores: np.ndarray) -> np.ndarray:
        return _sigmoid(_design(method, scores) @ np.asarray(coef, dtype="float64"))

    def predict(self, scores: np.ndarray) -> np.ndarray:
        s = np.asarray(scores, dtype="float64")
        if self.method != "isotonic":
            return self._parametric(self.method, self.coef, s)
        if not self.x:
            return np.full(np.shape(s), np.nan)
        out = np.interp(s, self.x, self.y)
        if self.param_method is None or not self.param_coef:
            return np.asarray(
                out, dtype=np.float64
            )  # flat beyond the breakpoints (documents written before issue 23)
        for edge, value, beyond in (
            (self.x[0], self.y[0], s < self.x[0]),
            (self.x[-1], self.y[-1], s > self.x[-1]),
        ):
            if beyond.any():
                shift = _logit(self._parametric(self.param_method, self.param_coef, s[beyond]))
                shift -= _logit(self._parametric(self.param_method, self.param_coef, np.array([edge])))
                out[beyond] = _sigmoid(_logit(np.array([value])) + shift)
        return np.asarray(out, dtype=np.float64)

    def beyond_range(self, scores: np.ndarray) -> np.ndarray:
        """True where a score lies outside the reference's scores (the map extrapolates there)."""
        s = np.asarray(scores, dtype="float64")
        lo = self.lo if self.lo is not None else (self.x[0] if self.x else None)
        hi = self.hi if self.hi is not None else (self.x[-1] if self.x else None)
        if lo is None or hi is None:
            return np.zeros(np.shape(s), dtype=bool)
        return np.asarray((s < lo) | (s > hi))


IsotonicCalibrator = Calibrator  # the name stored documents and callers knew


def fit_parametric(
    method: str, scores: np.ndarray, outcomes: np.ndarray, weights: np.ndarray | None = None
) -> list[float]:
    """Maximum-likelihood coefficients of a Platt or beta map (Newton steps, a tiny ridge for
    separable data), rows weighted by ``weights`` when given. Beta keeps both slopes non-negative
    (a monotone map, Kull et al. 2017): a negative one is dropped and the rest refitted."""
    x = _design(method, scores)
    y = np.asarray(outcomes, dtype="float64")
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype="float64")
    free = np.ones(x.shape[1], dtype=bool)
    while True:
        coef = np.zeros(x.shape[1])
        coef[free] = _newton_logistic(x[:, free], y, w)
        negative = [j for j in range(x.shape[1] - 1) if free[j] and coef[j] < 0]
        if method != "beta" or not negative:
            return [float(c) for c in coef]
        free[negative[0]] = False


def _newton_logistic(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, ridge: float = 1e-6, steps: int = 50
) -> np.ndarray:
    coef = np.zeros(x.shape[1])
    for _ in range(steps):
        p = _sigmoid(x @ coef)
        grad = x.T @ (w * (p - y)) + ridge * coef
        hess = (x * (w * p * (1 - p))[:, None]).T @ x + ridge * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        coef -= step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    return coef


def _fit_map(
    method: str, scores: np.ndarray, outcomes: np.ndarray, weights: np.ndarray | None = None
) -> Calibrator:
    lo, hi = float(np.min(scores)), float(np.max(scores))
    if method == "isotonic":
        iso = fit_isotonic(scores, outcomes, weights)
        iso = _shrink_end_blocks(iso, np.asarray(scores, dtype="float64"))
        return iso.model_copy(
            update={
                "param_method": "beta",
                "param_coef": fit_parametric("beta", scores, outcomes, weights),
                "lo": lo,
                "hi": hi,
            }
        )
    return Calibrator(method=method, coef=fit_parametric(method, scores, outcomes, weights), lo=lo, hi=hi)


def _shrink_end_blocks(iso: Calibrator, scores: np.ndarray) -> Calibrator:
    """An end block of certain outcomes (all 1 or all 0, the usual top and bottom of a few hundred
    rows) says "probability 1" from a handful of rows: replaced by Jeffreys' estimate
    ``(k + 1/2) / (m + 1)`` of its ``m`` rows, kept between its neighbours (still monotone)."""
    y = list(iso.y)
    if len(y) < 2:
        return iso
    x = iso.x
    top_start = next(i for i in range(len(y)) if y[i] == y[-1])
    bottom_end = max(i for i in range(len(y)) if y[i] == y[0])
    if y[-1] >= 1.0:
        m = int(np.sum(scores >= x[top_start]))
        below = y[top_start - 1] if top_start > 0 else 0.0
        value = max((m + 0.5) / (m + 1.0), below)
        y[top_start:] = [value] * (len(y) - top_start)
    if y[0] <= 0.0:
        m = int(np.sum(scores <= x[bottom_end]))
        above = y[bottom_end + 1] if bottom_end + 1 < len(y) else 1.0
        value = min(0.5 / (m + 1.0), above)
        y[: bottom_end + 1] = [value] * (bottom_end + 1)
    return iso.model_copy(update={"y": y})


def cross_validated_log_loss(
    scores: np.ndarray, outcomes: np.ndarray, folds: int = _CV_FOLDS, seed: int = 0
) -> dict[str, float]:
    """Mean held-out log loss of each calibration method over ``folds`` folds of the reference."""
    s = np.asarray(scores, dtype="float64")
    y = np.asarray(outcomes, dtype="float64")
    fold = np.random.default_rng(seed).permutation(s.size) % folds
    out: dict[str, float] = {}
    for method in CALIBRATION_METHODS:
        losses = []
        for k in range(folds):
            train, test = fold != k, fold == k
            if not test.any() or len(np.unique(y[train])) < 2:
                continue
            c = np.clip(_fit_map(method, s[train], y[train]).predict(s[test]), _CV_EPS, 1 - _CV_EPS)
            losses.append(-(y[test] * np.log(c) + (1 - y[test]) * np.log1p(-c)))
        out[method] = float(np.mean(np.concatenate(losses))) if losses else math.inf
    return out


def fit_calibrator(
    scores: np.ndarray, outcomes: np.ndarray, calibration: str = "auto"
) -> tuple[Calibrator, dict[str, float]]:
    """The map for one class: ``calibration`` names one, or "auto" picks the lowest
    cross-validated log loss. Returns the map fitted on every reference row and the CV losses."""
    s = np.asarray(scores, dtype="float64").ravel()
    y = np.asarray(outcomes, dtype="float64").ravel()
    keep = np.isfinite(s) & np.isfinite(y)
    s, y = s[keep], y[keep]
    if s.size == 0:
        return Calibrator(), {}
    if calibration != "auto" and calibration not in CALIBRATION_METHODS:
        raise ValueError(f"calibration must be 'auto' or one of {CALIBRATION_METHODS}, not {calibration!r}")
    if len(np.unique(y)) < 2:  # one outcome only: nothing to fit but a constant
        return fit_isotonic(s, y), {}
    losses = cross_validated_log_loss(s, y) if calibration == "auto" or s.size >= 2 * _CV_FOLDS else {}
    method = calibration if calibration != "auto" else min(CALIBRATION_METHODS, key=lambda m: losses[m])
    return _fit_map(method, s, y), losses


def fit_isotonic(scores: np.ndarray, outcomes: np.ndarray, weights: np.ndarray | None = None) -> Calibrator:
    """Least-squares non-decreasing fit of outcomes on scores (matches sklearn IsotonicRegression)."""
    x = np.asarray(scores, dtype="float64").ravel()
    y = np.asarray(outcomes, dtype="float64").ravel()
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype="float64").ravel()
    keep = np.isfinite(x) & np.isfinite(y) & (w > 0)
    x, y, w = x[keep], y[keep], w[keep]
    if x.size == 0:
        return Calibrator(x=[], y=[])
    # ties in x become one point (weighted mean): the fit is a function of x
    ux, inverse = np.unique(x, return_inverse=True)
    uw = np.bincount(inverse, weights=w)
    uy = np.bincount(inverse, weights=w * y) / uw
    values, first, last = _pav(uy, uw)
    bx: list[float] = []
    by: list[float] = []
    for v, i0, i1 in zip(values, first, last, strict=True):
        bx.append(float(ux[i0]))
        by.append(float(v))
        if i1 != i0:
            bx.append(float(ux[i1]))
            by.append(float(v))
    return Calibrator(**_drop_collinear(bx, by))


def _pav(y: np.ndarray, w: np.ndarray) -> tuple[list[float], list[int], list[int]]:
    """Pool adjacent violators on points already sorted by x: block means and index ranges."""
    values: list[float] = []
    weights: list[float] = []
    first: list[int] = []
    last: list[int] = []
    for i in range(y.size):
        values.append(float(y[i]))
        weights.append(float(w[i]))
        first.append(i)
        last.append(i)
        while len(values) > 1 and values[-2] >= values[-1]:
            v2, w2, l2 = values.pop(), weights.pop(), last.pop()
            first.pop()
            total = weights[-1] + w2
            values[-1] = (values[-1] * weights[-1] + v2 * w2) / total
            weights[-1] = total
            last[-1] = l2
    return values, first, last


def _drop_collinear(x: list[float], y: list[float]) -> dict[str, list[float]]:
    """Remove breakpoints in the middle of a flat run: same function, smaller JSON."""
    if len(x) <= 2:
        return {"x": x, "y": y}
    keep = [0]
    for i in range(1, len(x) - 1):
        if not (y[i - 1] == y[i] == y[i + 1]):
            keep.append(i)
    keep.append(len(x) - 1)
    return {"x": [x[i] for i in keep], "y": [y[i] for i in keep]}


# --- results -----------------------------------------------------------------------------------
class MetricEstimate(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: float | None
    lower: float | None = None
    upper: float | None = None
    std: float | None = None

    @property
    def width(self) -> float | None:
        """Width of the 95% band (upper - lower), None without a band."""
        if self.lower is None or self.upper is None:
            return None
        return self.upper - self.lower


class EstimatedPerformance(BaseModel):
    """Expected metrics of one batch, with a 95% sampling band, and the reference they compare to."""

    rows: int
    classes: list[str]
    metrics: dict[str, MetricEstimate]
    reference: dict[str, float | None] = Field(default_factory=dict)
    expected_confusion: list[list[float]] = Field(default_factory=list)  # rows: true, cols: predicted
    method: str = "cbpe-isotonic"
    calibration: list[str] = Field(default_factory=list)  # the map per calibrated class
    band_widths: dict[str, float | None] = Field(default_factory=dict)
    trusted: bool = True
    trust_note: str | None = None
    reference_rows: int = 0
    reference_rarer_class_rows: int | None = None
    beyond_reference_share: float = 0.0  # rows scored outside the reference's score range
    #: calibration refitted on reference rows weighted to resemble the batch (domain.shift_adjust)
    shift_adjusted: bool = False
    effective_reference_rows: float | None = None  # Kish's effective rows of that weighting
    #: cross-validated AUC of a classifier telling reference rows from the batch's (0.5: alike)
    shift_domain_auc: float | None = None

    def value(self, metric: str) -> float | None:
        est = self.metrics.get(metric)
        return None if est is None else est.value

    def drop(self, metric: str, validation: float | None, *, greater_is_better: bool) -> float | None:
        """Validation minus estimate (positive = worse), whichever direction the metric improves."""
        est = self.value(metric)
        if est is None or validation is None:
            return None
        return validation - est if greater_is_better else est - validation

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> EstimatedPerformance:
        return cls.model_validate_json(text)


# --- the estimator -----------------------------------------------------------------------------
class Estimator(BaseModel):
    """Calibrators fitted on a reference set; stored as ``estimation.json`` next to a model version."""

    format_version: int = FORMAT_VERSION
    classes: list[str]
    calibrators: list[Calibrator]  # binary: one (positive class); multiclass: one per class
    reference: dict[str, float | None] = Field(default_factory=dict)
    reference_rows: int = 0
    class_rows: list[int] = Field(default_factory=list)  # reference rows per class (empty: unknown)
    cv_log_loss: list[dict[str, float]] = Field(default_factory=list)  # per calibrator, per method
    #: set by :meth:`reweighted` only (never stored): Kish's effective rows, overall and per class
    effective_rows: float | None = None
    effective_class_rows: list[float] = Field(default_factory=list)
    domain_auc: float | None = None  # reference vs batch (domain.shift_adjust), when it was measured

    @property
    def rarer_class_rows(self) -> int | None:
        return min(self.class_rows) if self.class_rows else None

    def reweighted(self, reference_proba: Any, reference_labels: Any, weights: np.ndarray) -> Estimator:
        """The same maps (each class keeps the method chosen on the reference) refitted on
        reference rows weighted by ``weights`` (domain.shift_adjust.density_ratio: rows that look
        like the batch count more). The band and the trust rule then use the effective rows."""
        from .shift_adjust import effective_rows

        proba = _proba_matrix(reference_proba, len(self.classes))
        truth = _label_indices(reference_labels, self.classes)
        w = np.asarray(weights, dtype="float64")
        if w.shape[0] != proba.shape[0] or truth.shape[0] != proba.shape[0]:
            raise ValueError("reference probabilities, labels and weights differ in length")
        columns = [1] if self.is_binary else list(range(len(self.classes)))
        maps = []
        for c, k in zip(self.calibrators, columns, strict=True):
            y = (truth == k).astype("float64")
            ok = len(np.unique(y[w > 0])) == 2 and c.method in CALIBRATION_METHODS
            maps.append(_fit_map(c.method, proba[:, k], y, w) if ok else c)
        n_eff = effective_rows(w)
        share = np.bincount(truth, weights=w, minlength=len(self.classes)) / max(float(w.sum()), _EPS)
        return self.model_copy(
            update={
                "calibrators": maps,
                "effective_rows": n_eff,
                "effective_class_rows": [float(n_eff * v) for v in share],
            }
        )

    def trust(self) -> tuple[bool, str | None]:
        """Whether the reference is large enough to trust the estimate, and if not, why."""
        if self.effective_rows is not None and self.effective_class_rows:
            rarer_eff = min(self.effective_class_rows)
            if rarer_eff < MIN_TRUSTED_CLASS_ROWS and (self.rarer_class_rows or 0) >= MIN_TRUSTED_CLASS_ROWS:
                name = self.classes[int(np.argmin(self.effective_class_rows))]
                return False, (
                    f"the batch's inputs differ so much from the reference that it resembles about "
                    f"{self.effective_rows:.0f} of its rows ({rarer_eff:.0f} of the rarer class '{name}'; "
                    f"fewer than {MIN_TRUSTED_CLASS_ROWS}): the calibration is extrapolated, treat the "
                    "estimate as a rough guide until labels arrive"
                )
        rarer = self.rarer_class_rows
        if rarer is None or rarer >= MIN_TRUSTED_CLASS_ROWS:
            return True, None
        name = self.classes[int(np.argmin(self.class_rows))]
        return False, (
            f"the labeled reference has {rarer} rows of the rarer class '{name}' (of "
            f"{self.reference_rows}); with fewer than {MIN_TRUSTED_CLASS_ROWS} the calibration map's own "
            "error is as large as the drops the estimate should reveal: treat it as a rough guide and "
            "give the model a larger holdout or labeled reference"
        )

    @property
    def is_binary(self) -> bool:
        return len(self.classes) == 2

    @classmethod
    def fit(
        cls,
        reference_proba: Any,
        reference_labels: Sequence[Any] | np.ndarray,
        classes: Sequence[Any],
        *,
        calibration: str = "auto",
    ) -> Estimator:
        """Fit on holdout probabilities (columns in ``classes`` order) and their true labels;
        ``calibration`` "auto" (cross-validated choice) or one of :data:`CALIBRATION_METHODS`."""
        names = [str(c) for c in classes]
        if len(names) < 2 or len(set(names)) != len(names):
            raise ValueError("classes must list at least two distinct class labels")
        proba = _proba_matrix(reference_proba, len(names))
        truth = _label_indices(reference_labels, names)
        if truth.shape[0] != proba.shape[0]:
            raise ValueError(f"{proba.shape[0]} probability rows but {truth.shape[0]} labels")
        if proba.shape[0] == 0:
            raise ValueError("the reference set is empty")
        columns = [1] if len(names) == 2 else list(range(len(names)))
        fitted = [fit_calibrator(proba[:, k], truth == k, calibration) for k in columns]
        reference = realized_metrics(proba, truth, len(names))
        return cls(
            classes=names,
            calibrators=[c for c, _ in fitted],
            cv_log_loss=[losses for _, losses in fitted],
            reference=reference,
            reference_rows=int(proba.shape[0]),
            class_rows=[int(v) for v in np.bincount(truth, minlength=len(names))],
        )

    def calibrate(self, proba: Any) -> np.ndarray:
        """Calibrated class probabilities (n, k); multiclass rows renormalised to sum to one."""
        p = _proba_matrix(proba, len(self.classes))
        if self.is_binary:
            pos = np.clip(self.calibrators[0].predict(p[:, 1]), 0.0, 1.0)
            return np.column_stack([1.0 - pos, pos])
        cal = np.column_stack([np.clip(c.predict(p[:, k]), 0.0, 1.0) for k, c in enumerate(self.calibrators)])
        totals = cal.sum(axis=1, keepdims=True)
        flat = totals[:, 0] <= 0
        cal[flat] = p[flat]
        totals[flat] = 1.0
        return np.asarray(cal / totals, dtype="float64")

    def estimate(
        self, batch_proba: Any, predicted: Sequence[Any] | np.ndarray | None = None
    ) -> EstimatedPerformance:
        """Expected performance of a batch from the model's probabilities alone (no labels).

        ``predicted``: the class labels the model returned (default: the most probable class).
        """
        proba = _proba_matrix(batch_proba, len(self.classes))
        n = int(proba.shape[0])
        if n == 0:
            empty = {m: MetricEstimate(value=None) for m in _METRICS}
            return EstimatedPerformance(rows=0, classes=self.classes, metrics=empty, reference=self.reference)
        cal = self.calibrate(proba)
        if predicted is None:
            pred = np.argmax(proba, axis=1)
        else:
            pred = _label_indices(predicted, self.classes)
            if pred.shape[0] != n:
                raise ValueError(f"{n} probability rows but {pred.shape[0]} predictions")
        metrics = (
            _binary_estimates(proba, cal, pred) if self.is_binary else _multiclass_estimates(proba, cal, pred)
        )
        reference_rows = self.effective_rows if self.effective_rows is not None else self.reference_rows
        if reference_rows > 0:
            # the calibration map was learned from a finite reference: its error is shared by every
            # row of the batch, about as large as the sampling noise of a reference-sized batch
            widen = math.sqrt(1.0 + n / reference_rows)
            metrics = {name: _widen(est, widen, name) for name, est in metrics.items()}
        k = len(self.classes)
        confusion = np.zeros((k, k))
        for j in range(k):
            confusion[:, j] = cal[pred == j].sum(axis=0)
        columns = [1] if self.is_binary else list(range(k))
        beyond = np.zeros(n, dtype=bool)
        for c, j in zip(self.calibrators, columns, strict=True):
            beyond |= c.beyond_range(proba[:, j])
        trusted, note = self.trust()
        methods = [c.method for c in self.calibrators]
        return EstimatedPerformance(
            rows=n,
            classes=self.classes,
            metrics=metrics,
            reference=self.reference,
            expected_confusion=confusion.round(6).tolist(),
            method="cbpe-" + "/".join(dict.fromkeys(methods)),
            calibration=methods,
            band_widths={name: est.width for name, est in metrics.items()},
            trusted=trusted,
            trust_note=note,
            reference_rows=self.reference_rows,
            reference_rarer_class_rows=self.rarer_class_rows,
            beyond_reference_share=round(float(beyond.mean()), 6),
            shift_adjusted=self.effective_rows is not None,
            effective_reference_rows=None if self.effective_rows is None else round(self.effective_rows, 1),
            shift_domain_auc=None if self.domain_auc is None else round(self.domain_auc, 4),
        )

    def to_json(self) -> str:
        return self.model_dump_json()

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, text: str | bytes | dict[str, Any]) -> Estimator:
        if isinstance(text, dict):
            return cls.model_validate(text)
        return cls.model_validate_json(text)


def fit_estimator_for_version(
    holdout_proba: Any, holdout_labels: Any, classes: Sequence[Any], *, calibration: str = "auto"
) -> dict[str, Any]:
    """For the training pipeline: the JSON document to store as ``<version_prefix>/estimation.json``."""
    return Estimator.fit(holdout_proba, holdout_labels, classes, calibration=calibration).to_dict()


def estimation_summary(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a registry row and a model card say about a version's label-free estimator."""
    if not document:
        return None
    est = Estimator.from_json(document)
    trusted, note = est.trust()
    return {
        "calibration": [c.method for c in est.calibrators],
        "reference_rows": est.reference_rows,
        "rarer_class_rows": est.rarer_class_rows,
        "trusted": trusted,
        "note": note,
    }


def estimation_document(text: str | bytes) -> Estimator:
    """Parse a stored ``estimation.json`` (raises ValueError on a malformed document)."""
    try:
        return Estimator.from_json(json.loads(text))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"estimation.json is not a valid estimator document: {exc}") from exc


# --- metric arithmetic -------------------------------------------------------------------------
_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")


def _proba_matrix(proba: Any, k: int) -> np.ndarray:
    p = np.asarray(proba, dtype="float64")
    if p.ndim == 1:
        if k != 2:
            raise ValueError("a 1-D probability array is only accepted for binary models")
        p = np.column_stack([1.0 - p, p])
    if p.ndim != 2 or p.shape[1] != k:
        raise ValueError(f"probabilities must have one column per class ({k}), got shape {p.shape}")
    if p.size and not np.all(np.isfinite(p)):
        raise ValueError("probabilities contain NaN or infinite values")
    return p


def _label_indices(labels: Sequence[Any] | np.ndarray, classes: list[str]) -> np.ndarray:
    """Class positions of labels compared as strings (domain.metrics.as_labels: 1, 1.0, "1" agree)."""
    from .metrics import as_labels

    index = {c: i for i, c in enumerate(classes)}
    keys = as_labels(np.asarray(labels, dtype=object) if not isinstance(labels, np.ndarray) else labels)
    out = np.fromiter((index.get(k, -1) for k in keys), dtype="int64", count=len(keys))
    if (out < 0).any():
        bad = keys[np.flatnonzero(out < 0)[0]]
        raise ValueError(f"label {bad!r} is not one of the classes {classes}")
    return out


def _safe_div(a: float, b: float) -> float | None:
    return None if b <= 0 else a / b


def expected_roc_auc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """Area under the ROC curve where row ``i`` is positive with weight ``positive[i]`` in [0, 1].

    With 0/1 weights this is the ordinary (realized) ROC AUC, ties handled like scikit-learn.
    """
    s = np.asarray(scores, dtype="float64")
    w = np.asarray(positive, dtype="float64")
    total_pos = float(w.sum())
    total_neg = float((1.0 - w).sum())
    if total_pos <= 0 or total_neg <= 0:
        return None
    order = np.argsort(-s, kind="mergesort")
    s, w = s[order], w[order]
    tps = np.cumsum(w)
    fps = np.cumsum(1.0 - w)
    distinct = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tpr = np.r_[0.0, tps[distinct] / total_pos]
    fpr = np.r_[0.0, fps[distinct] / total_neg]
    return float(np.trapezoid(tpr, fpr))


def _hanley_mcneil_se(auc: float, n_pos: float, n_neg: float) -> float | None:
    if n_pos < 1 or n_neg < 1:
        return None
    q1 = auc / (2.0 - auc)
    q2 = 2.0 * auc * auc / (1.0 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (
        n_pos * n_neg
    )
    return math.sqrt(max(var, 0.0))


def _band(value: float | None, std: float | None, lo: float = 0.0, hi: float = 1.0) -> MetricEstimate:
    if value is None:
        return MetricEstimate(value=None)
    if std is None:
        return MetricEstimate(value=value)
    return MetricEstimate(
        value=value,
        lower=max(lo, value - _Z95 * std),
        upper=min(hi, value + _Z95 * std),
        std=std,
    )


def _widen(est: MetricEstimate, factor: float, name: str) -> MetricEstimate:
    if est.value is None or est.std is None:
        return est
    return _band(est.value, est.std * factor, lo=0.0, hi=math.inf if name == "log_loss" else 1.0)


def _from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> dict[str, np.ndarray]:
    """Vectorised metrics over draws of confusion counts (NaN where undefined)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "accuracy": (tp + tn) / (tp + fp + fn + tn),
            "precision": np.where(tp + fp > 0, tp / (tp + fp), np.nan),
            "recall": np.where(tp + fn > 0, tp / (tp + fn), np.nan),
            "f1": np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan),
        }


def _expected_log_loss(proba: np.ndarray, cal: np.ndarray) -> tuple[float, float]:
    loss = -np.log(np.clip(proba, _EPS, 1.0))
    mean_i = (cal * loss).sum(axis=1)
    var_i = (cal * loss * loss).sum(axis=1) - mean_i * mean_i
    n = proba.shape[0]
    return float(mean_i.mean()), float(math.sqrt(max(var_i.sum(), 0.0)) / n)


def _binary_estimates(proba: np.ndarray, cal: np.ndarray, predicted: np.ndarray) -> dict[str, MetricEstimate]:
    c = cal[:, 1]
    yhat = predicted == 1
    mu1, v1 = float(c[yhat].sum()), float((c[yhat] * (1 - c[yhat])).sum())  # expected TP among predicted 1
    mu0, v0 = float(c[~yhat].sum()), float((c[~yhat] * (1 - c[~yhat])).sum())  # expected FN among predicted 0
    n1, n0 = float(yhat.sum()), float((~yhat).sum())
    point = _from_counts(np.array([mu1]), np.array([n1 - mu1]), np.array([mu0]), np.array([n0 - mu0]))
    # sampling band: TP and FN are sums of independent Bernoullis (normal approximation), drawn jointly
    rng = np.random.default_rng(0)
    tp = np.clip(rng.normal(mu1, math.sqrt(v1), _DRAWS), 0, n1)
    fn = np.clip(rng.normal(mu0, math.sqrt(v0), _DRAWS), 0, n0)
    draws = _from_counts(tp, n1 - tp, fn, n0 - fn)
    out: dict[str, MetricEstimate] = {}
    for name, arr in point.items():
        value = float(arr[0]) if np.isfinite(arr[0]) else None
        std = float(np.nanstd(draws[name])) if np.isfinite(draws[name]).sum() > 1 else None
        out[name] = _band(value, std)
    auc = expected_roc_auc(proba[:, 1], c)
    n_pos, n_neg = float(c.sum()), float((1 - c).sum())
    out["roc_auc"] = _band(auc, None if auc is None else _hanley_mcneil_se(auc, n_pos, n_neg))
    ll, ll_se = _expected_log_loss(proba, cal)
    out["log_loss"] = _band(ll, ll_se, lo=0.0, hi=math.inf)
    return out


def _multiclass_estimates(
    proba: np.ndarray, cal: np.ndarray, predicted: np.ndarray
) -> dict[str, MetricEstimate]:
    n, k = proba.shape
    q = cal[np.arange(n), predicted]  # probability the prediction is right
    accuracy = float(q.mean())
    out = {"accuracy": _band(accuracy, math.sqrt(float((q * (1 - q)).sum())) / n)}
    rng = np.random.default_rng(0)
    per_class: dict[str, list[np.ndarray]] = {"precision": [], "recall": [], "f1": []}
    point: dict[str, list[float]] = {"precision": [], "recall": [], "f1": []}
    auc_values: list[float] = []
    auc_var = 0.0
    for j in range(k):
        hit = predicted == j
        cj = cal[:, j]
        mu_tp, v_tp = float(cj[hit].sum()), float((cj[hit] * (1 - cj[hit])).sum())
        mu_fn, v_fn = float(cj[~hit].sum()), float((cj[~hit] * (1 - cj[~hit])).sum())
        nj, rest = float(hit.sum()), float((~hit).sum())
        p = _from_counts(
            np.array([mu_tp]), np.array([nj - mu_tp]), np.array([mu_fn]), np.array([rest - mu_fn])
        )
        tp = np.clip(rng.normal(mu_tp, math.sqrt(v_tp), _DRAWS), 0, nj)
        fn = np.clip(rng.normal(mu_fn, math.sqrt(v_fn), _DRAWS), 0, rest)
        d = _from_counts(tp, nj - tp, fn, rest - fn)
        for name in per_class:
            # sklearn's macro averages count an undefined per-class score as 0
            point[name].append(float(np.nan_to_num(p[name][0])))
            per_class[name].append(np.nan_to_num(d[name]))
        auc_j = expected_roc_auc(proba[:, j], cj)
        if auc_j is not None:
            auc_values.append(auc_j)
            se = _hanley_mcneil_se(auc_j, float(cj.sum()), float((1 - cj).sum())) or 0.0
            auc_var += se * se
    for name in per_class:
        draws = np.mean(np.vstack(per_class[name]), axis=0)
        out[name] = _band(float(np.mean(point[name])), float(np.std(draws)))
    if auc_values:
        out["roc_auc"] = _band(float(np.mean(auc_values)), math.sqrt(auc_var) / len(auc_values))
    else:
        out["roc_auc"] = MetricEstimate(value=None)
    ll, ll_se = _expected_log_loss(proba, cal)
    out["log_loss"] = _band(ll, ll_se, lo=0.0, hi=math.inf)
    return out


def realized_metrics(proba: np.ndarray, truth: np.ndarray, k: int) -> dict[str, float | None]:
    """Metrics on labeled reference rows, computed the same way as the estimates (for the drop)."""
    onehot = np.zeros((truth.size, k))
    onehot[np.arange(truth.size), truth] = 1.0
    predicted = np.argmax(proba, axis=1)
    metrics = (
        _binary_estimates(proba, onehot, predicted)
        if k == 2
        else _multiclass_estimates(proba, onehot, predicted)
    )
    return {name: est.value for name, est in metrics.items()}

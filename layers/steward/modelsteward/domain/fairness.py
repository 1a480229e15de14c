"""Fairness: bias of the training data, bias of a model on its holdout, bias of a production batch.

Pure numpy (the layers are at their size budget, so no fairlearn at run time); the unit tests pin
every metric to its formula on a hand case and to fairlearn's functions and ``MetricFrame`` on the
same rows (fairlearn is a dev/test dependency only, pinned in requirements/lock.txt).

Definitions, per sensitive attribute, over the groups with at least ``min_group_size`` rows
(smaller groups are reported as too small to judge and take no part in any difference; numbers
with more than four distinct values, also when they arrive as text, fall in quartile bands named
by their inner cut points: ``< 31``, ``[31, 45)``, ``[45, 58)``, ``>= 58``):

* pre-training (SageMaker Clarify, facet d = the group, a = every other row):
  class imbalance ``CI = (n_a - n_d) / (n_a + n_d)``; difference in positive proportions in labels
  ``DPL = q_a - q_d`` where q is the share of rows whose label is the favorable one;
* post-training (fairlearn's ``between_groups`` semantics): selection rate = share of rows
  predicted favorable; ``demographic_parity_difference`` = largest minus smallest selection rate;
  ``disparate_impact_ratio`` = smallest over largest (fairlearn's ``demographic_parity_ratio``;
  0.8 is the four-fifths rule); ``equal_opportunity_difference`` = TPR gap;
  ``equalized_odds_difference`` = max(TPR gap, FPR gap); ``primary_metric_gap`` = largest minus
  smallest per-group primary metric (for regression: the per-group error gap).

A group below ``min_group_size`` keeps only its size: its rates and metric are not computed (the
selection rate of a one-row group is that row's prediction). Rates carry Wilson score intervals
and the per-group primary metric a seeded percentile bootstrap (groups above 2,000 rows: an
m-out-of-n bootstrap of 2,000 rows whose standard error is rescaled by sqrt(m/n), normal
interval), at ``confidence``. Only group-level figures (counts, rates) are
produced: never a row value.

No pandas at import: monitor_batch (numpy + pyarrow only) computes batch bias with this module;
the per-group primary metric (holdout only) imports domain.metrics when it is needed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from ..spec import FAIRNESS_BOUNDS, HIGHER_IS_FAIRER, FairnessPolicy, ModelSpec
from .assessment_record import BatchBias, BiasVerdict
from .metrics import label_text

BOOTSTRAP_ROUNDS = 200
BOOTSTRAP_MAX_ROWS = 2000  # larger groups: m-out-of-n bootstrap, standard error rescaled by sqrt(m/n)
MAX_GROUPS = 50  # more distinct values than this is not a group attribute (and naming them could leak rows)
Verdict = BiasVerdict  # held / breached / unjudged / none: the gate's verdict and each batch's


# --- helpers ------------------------------------------------------------------------------------
def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (None when there are no trials)."""
    if n <= 0:
        return None
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def favorable_label(spec: ModelSpec, classes: Sequence[str] | None) -> str | None:
    """The outcome counted as 'selected': the spec's, else the positive class ``classes[1]``."""
    if not spec.is_classifier:
        return None
    if spec.fairness.favorable_label is not None:
        return spec.fairness.favorable_label
    labels = list(classes or spec.classes or [])
    return str(labels[1]) if len(labels) == 2 else None


MISSING_GROUP = "(missing)"
NUMERIC_GROUP_BINS = 4
PROBE_VALUES = 64  # text whose first values are not numbers is a category, decided without a full pass


def _is_missing(v: Any) -> bool:
    if v is None or type(v).__name__ == "NAType":
        return True
    return isinstance(v, float | np.floating) and math.isnan(float(v))


def labels(values: Any) -> np.ndarray:
    """Row labels as text (missing values as None)."""
    arr = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    return np.array([None if _is_missing(v) else label_text(v) for v in arr.ravel()], dtype=object)


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _as_numbers(arr: np.ndarray) -> np.ndarray | None:
    """Float values (NaN for missing) when every present value is a finite number, else None.

    Sensitive attributes that are not features arrive as text (the contract keeps them as read, and
    the label join as objects): an age column must still be split into bands, not named value by value.
    """
    if arr.dtype.kind in "iufb":
        return arr.astype(float)
    if arr.dtype.kind not in "OUS":
        return None
    flat = arr.ravel()
    try:  # one C loop when every value is a number (text or not); None or a word raises
        numbers = flat.astype(float)
    except (TypeError, ValueError):
        if any(not _number_like(v) for v in flat[:PROBE_VALUES]):
            return None  # "F", "M": not numbers, decided on the first values
        missing = np.array([_is_missing(v) or (isinstance(v, str) and not v.strip()) for v in flat])
        try:
            numbers = np.full(flat.shape, np.nan)
            numbers[~missing] = flat[~missing].astype(float)
        except (TypeError, ValueError):
            return None
        return numbers if np.isfinite(numbers[~missing]).all() else None
    return None if np.isinf(numbers).any() else numbers  # NaN: a missing value


def _number_like(v: Any) -> bool:
    if _is_missing(v) or (isinstance(v, str) and not v.strip()):
        return True
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _band_names(cuts: np.ndarray) -> list[str]:
    """Open outer bands (``< a`` ... ``>= c``): the smallest and largest value, which are one
    person's, are never part of a group's name."""
    inner = [f"[{_fmt(cuts[i])}, {_fmt(cuts[i + 1])})" for i in range(len(cuts) - 1)]
    return [f"< {_fmt(cuts[0])}", *inner, f">= {_fmt(cuts[-1])}"]


def group_keys(values: Any, allowed: Sequence[str] | None = None) -> np.ndarray:
    """Group of each row as text; None for rows whose group is not compared.

    Numbers (numeric columns, or text that is all numbers) with more than ``NUMERIC_GROUP_BINS``
    distinct values fall in quartile bands of the rows evaluated, cut where segments cut; fewer
    distinct values (a 0/1 flag, a coded band) are one group each. Nulls are '(missing)'.
    """
    to_numpy = getattr(values, "to_numpy", None)
    arr = to_numpy() if to_numpy is not None else np.asarray(values)
    x = _as_numbers(arr) if arr.size else None
    finite = x[~np.isnan(x)] if x is not None else np.array([])
    cuts: np.ndarray = np.array([])
    if x is not None and np.unique(finite).size > NUMERIC_GROUP_BINS:
        quantiles = np.linspace(0, 1, NUMERIC_GROUP_BINS + 1)[1:-1]
        cuts = np.unique(np.quantile(finite, quantiles))
    if x is not None and cuts.size:
        idx = np.searchsorted(cuts, x, side="right")
        keys = np.array(_band_names(cuts), dtype=object)[idx]
        keys[np.isnan(x)] = MISSING_GROUP
    else:
        keys = np.array([MISSING_GROUP if v is None else v for v in labels(arr)], dtype=object)
    if allowed:
        keep = {str(a) for a in allowed}
        keys = np.array([k if k in keep else None for k in keys], dtype=object)
    return keys


def _rate(hits: np.ndarray, confidence: float) -> tuple[float | None, list[float] | None]:
    n = int(hits.size)
    if n == 0:
        return None, None
    k = int(hits.sum())
    ci = wilson_interval(k, n, confidence)
    return k / n, None if ci is None else [ci[0], ci[1]]


def _gap(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(max(known) - min(known)) if len(known) >= 2 else None


# --- results ------------------------------------------------------------------------------------
class GroupFairness(BaseModel):
    group: str
    n: int
    too_small: bool = False
    # pre-training (labels of the data)
    label_rate: float | None = Field(default=None, description="share of favorable labels")
    class_imbalance: float | None = Field(default=None, description="Clarify CI, this group vs the rest")
    dpl: float | None = Field(default=None, description="Clarify DPL: rest's label rate minus this group's")
    # post-training (predictions)
    selection_rate: float | None = None
    selection_rate_ci: list[float] | None = None
    true_positive_rate: float | None = None
    true_positive_rate_ci: list[float] | None = None
    false_positive_rate: float | None = None
    false_positive_rate_ci: list[float] | None = None
    metric: float | None = None
    metric_ci: list[float] | None = None


class AttributeFairness(BaseModel):
    attribute: str
    groups: list[GroupFairness] = Field(default_factory=list)
    too_small: list[str] = Field(default_factory=list, description="groups below min_group_size")
    too_many_groups: int | None = Field(
        default=None, description=f"distinct values when above {MAX_GROUPS}: nothing computed, no names"
    )
    demographic_parity_difference: float | None = None
    disparate_impact_ratio: float | None = None
    equal_opportunity_difference: float | None = None
    equalized_odds_difference: float | None = None
    primary_metric_gap: float | None = None
    max_class_imbalance: float | None = Field(default=None, description="largest |CI| of a judged group")
    max_dpl: float | None = Field(default=None, description="largest |DPL| of a judged group")

    def value(self, name: str) -> float | None:
        v = getattr(self, name, None)
        return None if v is None else float(v)


class FairnessReport(BaseModel):
    """One model's (or one batch's) fairness figures on one set of rows."""

    kind: Literal["training_data", "holdout", "batch"]
    metric: str | None = None
    favorable_label: str | None = None
    min_group_size: int
    confidence: float
    rows: int
    attributes: list[AttributeFairness] = Field(default_factory=list)
    missing_attributes: list[str] = Field(default_factory=list)

    def worst(self, name: str) -> float | None:
        """The least fair value of a metric over the attributes (smallest ratio, largest difference)."""
        vals = [v for a in self.attributes if (v := a.value(name)) is not None]
        if not vals:
            return None
        return min(vals) if name in HIGHER_IS_FAIRER else max(vals)

    def values(self) -> dict[str, float | None]:
        return {name: self.worst(name) for name in FAIRNESS_BOUNDS}


# --- computations -------------------------------------------------------------------------------
def _attribute_keys(
    policy: FairnessPolicy, sensitive: Mapping[str, Any]
) -> tuple[dict[str, np.ndarray], list[str]]:
    keys, missing = {}, []
    for attr in policy.sensitive_attributes:
        if attr not in sensitive:
            missing.append(attr)
            continue
        keys[attr] = group_keys(sensitive[attr], policy.groups.get(attr))
    return keys, missing


def pre_training_bias(
    policy: FairnessPolicy, *, sensitive: Mapping[str, Any], y_true: Any, favorable: str | None
) -> FairnessReport:
    """Clarify's CI and DPL of the labelled training data, per group (DPL for classifiers only)."""
    keys, missing = _attribute_keys(policy, sensitive)
    y = labels(y_true) if favorable is not None else None
    report = FairnessReport(
        kind="training_data",
        favorable_label=favorable,
        min_group_size=policy.min_group_size,
        confidence=policy.confidence,
        rows=len(np.asarray(y_true, dtype=object)),
        missing_attributes=missing,
    )
    for attr, k in keys.items():
        compared = np.array([g is not None for g in k])
        total = int(compared.sum())
        out = AttributeFairness(attribute=attr)
        distinct = sorted({str(v) for v in k[compared]})
        if len(distinct) > MAX_GROUPS:
            out.too_many_groups = len(distinct)
            report.attributes.append(out)
            continue
        for g in distinct:
            member = k == g
            n_d = int(member.sum())
            rest = compared & ~member
            n_a = total - n_d
            row = GroupFairness(group=g, n=n_d, too_small=n_d < policy.min_group_size)
            row.class_imbalance = (n_a - n_d) / (n_a + n_d) if total else None
            if y is not None and not row.too_small:  # a small group's label rate tells its rows
                fav = y == favorable
                row.label_rate = float(fav[member].mean()) if n_d else None
                if n_d and n_a:
                    row.dpl = float(fav[rest].mean() - fav[member].mean())
            out.groups.append(row)
        _mark_small(out)
        judged = [g for g in out.groups if not g.too_small]
        cis = [abs(g.class_imbalance) for g in judged if g.class_imbalance is not None]
        dpls = [abs(g.dpl) for g in judged if g.dpl is not None]
        out.max_class_imbalance = max(cis) if cis else None
        out.max_dpl = max(dpls) if dpls else None
        report.attributes.append(out)
    return report


# long: one table of per-group figures, built row by row
def post_training_bias(
    policy: FairnessPolicy,
    *,
    task: str,
    metric: str | None,
    classes: Sequence[str] | None,
    sensitive: Mapping[str, Any],
    y_pred: Any,
    y_true: Any | None = None,
    proba: np.ndarray | None = None,
    favorable: str | None = None,
    seed: int = 0,
    kind: Literal["holdout", "batch"] = "holdout",
    bootstrap_rounds: int = BOOTSTRAP_ROUNDS,
) -> FairnessReport:
    """Per-group selection rates, TPR/FPR and primary metric, and the between-group metrics.

    Without ``y_true`` (a production batch before labels) only selection rates, demographic
    parity and disparate impact are computed.
    """
    keys, missing = _attribute_keys(policy, sensitive)
    classifier = task != "regression"
    pred_raw = np.asarray(y_pred, dtype=object)
    pred = labels(pred_raw) if classifier else np.asarray(y_pred, dtype=float)
    true = None
    if y_true is not None:
        true = labels(y_true) if classifier else np.asarray(y_true, dtype=float)
    report = FairnessReport(
        kind=kind,
        metric=metric if true is not None else None,
        favorable_label=favorable,
        min_group_size=policy.min_group_size,
        confidence=policy.confidence,
        rows=int(pred.shape[0]),
        missing_attributes=missing,
    )
    rng = np.random.default_rng(seed)
    conf = policy.confidence
    for attr, k in keys.items():
        out = AttributeFairness(attribute=attr)
        compared = np.array([g is not None for g in k], dtype=bool)
        distinct = sorted({str(v) for v in k[compared]})
        if len(distinct) > MAX_GROUPS:
            out.too_many_groups = len(distinct)
            report.attributes.append(out)
            continue
        for g in distinct:
            idx = np.flatnonzero(k == g)
            row = GroupFairness(group=g, n=int(idx.size), too_small=idx.size < policy.min_group_size)
            if row.too_small:  # its size only: one row's rate would be that row's outcome
                out.groups.append(row)
                continue
            if classifier and favorable is not None:
                selected = pred[idx] == favorable
                row.selection_rate, row.selection_rate_ci = _rate(selected, conf)
                if true is not None:
                    actual = true[idx] == favorable
                    row.true_positive_rate, row.true_positive_rate_ci = _rate(selected[actual], conf)
                    row.false_positive_rate, row.false_positive_rate_ci = _rate(selected[~actual], conf)
            if true is not None and metric is not None:
                row.metric, row.metric_ci = _group_metric(
                    metric, task, true, pred, proba, classes, idx, conf, rng, bootstrap_rounds
                )
            out.groups.append(row)
        _mark_small(out)
        judged = [g for g in out.groups if not g.too_small]
        rates = [g.selection_rate for g in judged if g.selection_rate is not None]
        if len(rates) >= 2:
            out.demographic_parity_difference = float(max(rates) - min(rates))
            out.disparate_impact_ratio = float(min(rates) / max(rates)) if max(rates) > 0 else None
        tpr_gap = _gap([g.true_positive_rate for g in judged])
        fpr_gap = _gap([g.false_positive_rate for g in judged])
        out.equal_opportunity_difference = tpr_gap
        if tpr_gap is not None and fpr_gap is not None:
            out.equalized_odds_difference = max(tpr_gap, fpr_gap)
        out.primary_metric_gap = _gap([g.metric for g in judged])
        report.attributes.append(out)
    return report


def _mark_small(out: AttributeFairness) -> None:
    out.too_small = [g.group for g in out.groups if g.too_small]


def _group_metric(
    metric: str,
    task: str,
    true: np.ndarray,
    pred: np.ndarray,
    proba: np.ndarray | None,
    classes: Sequence[str] | None,
    idx: np.ndarray,
    confidence: float,
    rng: np.random.Generator,
    rounds: int,
) -> tuple[float | None, list[float] | None]:
    from .metrics import metric_value  # the holdout path: pandas is there

    def value(rows: np.ndarray) -> float | None:
        p = None if proba is None else proba[rows]
        return metric_value(metric, task, true[rows], pred[rows], p, classes)

    point = value(idx) if idx.size else None
    if point is None or idx.size < 2 or rounds <= 0:
        return point, None
    m = min(idx.size, BOOTSTRAP_MAX_ROWS)
    draws = [v for _ in range(rounds) if (v := value(idx[rng.integers(0, idx.size, m)])) is not None]
    if len(draws) < rounds // 2:
        return point, None
    if m == idx.size:  # percentile bootstrap
        alpha = (1 - confidence) / 2
        lo, hi = np.quantile(np.asarray(draws), [alpha, 1 - alpha])
        return point, [float(lo), float(hi)]
    se = float(np.std(draws, ddof=1)) * math.sqrt(m / idx.size)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    return point, [point - z * se, point + z * se]


# --- commitments --------------------------------------------------------------------------------
class FairnessCheck(BaseModel):
    """One committed metric of one attribute: its value, its bound, the champion's, the verdict."""

    attribute: str
    metric: str
    bound: float
    value: float | None
    champion: float | None = None
    worse_by: float | None = Field(default=None, description="how much less fair than the champion")
    breaches_bound: bool = False
    worse_than_champion: bool = False
    unjudged: bool = False

    @property
    def failed(self) -> bool:
        return self.breaches_bound or self.worse_than_champion


class FairnessVerdict(BaseModel):
    """What the gate (or a batch check) concluded about the commitments; stored with each version."""

    verdict: Verdict
    bounds: dict[str, float]
    tolerance: float
    values: dict[str, float | None] = Field(default_factory=dict)
    champion_values: dict[str, float | None] | None = None
    checks: list[FairnessCheck] = Field(default_factory=list)
    too_small: dict[str, list[str]] = Field(default_factory=dict)
    missing_attributes: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)

    @property
    def failed_checks(self) -> list[str]:
        out = []
        for c in self.checks:
            if c.breaches_bound:
                out.append(f"fairness:{c.attribute}:{c.metric}")
            elif c.worse_than_champion:
                out.append(f"fairness_vs_champion:{c.attribute}:{c.metric}")
        return out


def _breaks(metric: str, value: float, bound: float) -> bool:
    return value < bound if metric in HIGHER_IS_FAIRER else value > bound


def _worse_by(metric: str, challenger: float, champion: float) -> float:
    return champion - challenger if metric in HIGHER_IS_FAIRER else challenger - champion


def judge(
    policy: FairnessPolicy, challenger: FairnessReport, champion: FairnessReport | None = None
) -> FairnessVerdict:
    """Check every committed bound per attribute, and the champion comparison within ``tolerance``."""
    bounds = policy.bounds.committed()
    verdict = FairnessVerdict(
        verdict="none",
        bounds=bounds,
        tolerance=policy.tolerance,
        values=challenger.values(),
        champion_values=champion.values() if champion is not None else None,
        too_small={a.attribute: a.too_small for a in challenger.attributes if a.too_small},
        missing_attributes=list(challenger.missing_attributes),
    )
    if not bounds:
        return verdict
    champ_attrs = {a.attribute: a for a in champion.attributes} if champion is not None else {}
    for attr in challenger.missing_attributes:
        verdict.reasons.append(
            f"fairness: sensitive attribute '{attr}' is absent from the data: cannot judge"
        )
    for a in challenger.attributes:
        for name, bound in bounds.items():
            value = a.value(name)
            check = FairnessCheck(attribute=a.attribute, metric=name, bound=bound, value=value)
            if value is None:
                check.unjudged = True
                why = (
                    f"{a.too_many_groups} distinct values: band it (at most {MAX_GROUPS} groups)"
                    if a.too_many_groups
                    else f"fewer than two groups of >= {policy.min_group_size} rows with a defined value"
                )
                verdict.reasons.append(f"fairness: {name} of '{a.attribute}' cannot be judged ({why})")
            else:
                check.breaches_bound = _breaks(name, value, bound)
                if check.breaches_bound:
                    rel = ">=" if name in HIGHER_IS_FAIRER else "<="
                    verdict.reasons.append(
                        f"fairness: {name} of '{a.attribute}' is {value:.4f}, breaking the committed "
                        f"bound {rel} {bound}"
                    )
                prev = champ_attrs.get(a.attribute)
                champ_value = prev.value(name) if prev is not None else None
                if champ_value is not None:
                    check.champion = champ_value
                    check.worse_by = _worse_by(name, value, champ_value)
                    check.worse_than_champion = check.worse_by > policy.tolerance
                    if check.worse_than_champion:
                        verdict.reasons.append(
                            f"fairness: {name} of '{a.attribute}' is {value:.4f} vs the champion's "
                            f"{champ_value:.4f}: worse by {check.worse_by:.4f} (tolerance {policy.tolerance})"
                        )
            verdict.checks.append(check)
    if any(c.failed for c in verdict.checks):
        verdict.verdict = "breached"
    elif challenger.missing_attributes or any(c.unjudged for c in verdict.checks) or not verdict.checks:
        verdict.verdict = "unjudged"
    else:
        verdict.verdict = "held"
    return verdict


def sensitive_columns(frame: Any, policy: FairnessPolicy) -> dict[str, Any]:
    """The sensitive attribute columns a frame carries (absent ones are reported as missing)."""
    return {a: frame[a] for a in policy.sensitive_attributes if a in frame.columns}


def holdout_bias(spec: ModelSpec, holdout: Any, preds: Any, classes: Sequence[str] | None) -> FairnessReport:
    """Post-training bias of one model's predictions (``preds``: label, proba) on a holdout frame."""
    return post_training_bias(
        spec.fairness,
        task=spec.task,
        metric=spec.primary_metric,
        classes=classes,
        sensitive=sensitive_columns(holdout, spec.fairness),
        y_true=holdout[spec.target].to_numpy(),
        y_pred=preds.label,
        proba=preds.proba,
        favorable=favorable_label(spec, classes),
        seed=spec.seed,
    )


PREDICTION_BOUNDS = ("demographic_parity_difference", "disparate_impact_ratio")


def batch_bias(
    spec: ModelSpec, sensitive: Mapping[str, Any], y_pred: Any, classes: Sequence[str] | None
) -> BatchBias | None:
    """Selection rate per group and the prediction-only bounds (parity, disparate impact) of a batch.

    None when the spec commits no such bound, the task has no favorable label, or the batch carries
    none of the sensitive attributes.
    """
    fair = spec.fairness
    bounds = {k: v for k, v in fair.bounds.committed().items() if k in PREDICTION_BOUNDS}
    favorable = favorable_label(spec, classes)
    present = [a for a in fair.sensitive_attributes if a in sensitive]
    if not bounds or favorable is None or not present:
        return None
    only = fair.model_copy(update={"bounds": fair.bounds.model_copy(update=_only(fair, bounds))})
    report = post_training_bias(
        only,
        task=spec.task,
        metric=None,
        classes=classes,
        sensitive=sensitive,
        y_pred=y_pred,
        favorable=favorable,
        kind="batch",
    )
    verdict = judge(only, report)
    return BatchBias(
        breach=verdict.verdict == "breached",
        verdict=verdict.verdict,
        bounds=bounds,
        values={k: report.worst(k) for k in bounds},
        selection_rates={
            a.attribute: {g.group: g.selection_rate for g in a.groups if not g.too_small}
            for a in report.attributes
        },
        group_rows={a.attribute: {g.group: g.n for g in a.groups} for a in report.attributes},
        too_small=verdict.too_small,
        missing_attributes=verdict.missing_attributes,
        reasons=verdict.reasons,
    )


def _only(fair: FairnessPolicy, keep: Mapping[str, float]) -> dict[str, float | None]:
    return {k: (v if k in keep else None) for k, v in fair.bounds.model_dump().items()}

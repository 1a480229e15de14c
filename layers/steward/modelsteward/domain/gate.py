"""Champion/challenger gate: promote only a model that is better, by enough, for real, for everyone.

Both models are scored on the SAME fresh holdout (the challenger's, which neither trained on by
construction for the challenger; the champion may have seen some rows, which only makes the gate
more conservative). The challenger passes when all of these hold:

1. it beats the champion on the primary metric by at least ``min_absolute_change`` and by at least
   ``min_relative_change`` of the champion's score (MLflow ``MetricThreshold`` semantics; the sign
   follows ``greater_is_better``);
2. the difference is significant at ``significance``: a paired bootstrap over holdout rows (seeded;
   p = share of bootstrap differences <= 0) or, for accuracy, McNemar's test (exact binomial when
   there are fewer than 25 discordant rows);
3. no segment (value of a ``segments`` column, numeric ones in quartile bins, >= 30 rows) loses more
   than ``segment_tolerance`` of the primary metric;
4. the spec's fairness commitments hold (domain.fairness.judge): no committed bound is broken and no
   fairness metric is worse than the champion's by more than ``fairness.tolerance``, whatever the
   primary metric says (the first version too). A bound that cannot be judged (too few rows per
   group, attribute absent) sends a passing challenger to a person.

A passing challenger is promoted when ``auto_promote`` is true, else it awaits approval. The first
version of a model (no champion) follows the same rule with the reason "no champion".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..spec import ModelSpec
from .gate_record import GateDecision, Outcome, SegmentComparison
from .metrics import MIN_SEGMENT_ROWS, as_labels, binary_roc_auc, precision_recall_f1, segment_labels
from .training import Predictions

EXACT_MCNEMAR_BELOW = 25
NO_CHAMPION = "no champion"


# --- fast single-metric scoring on integer codes (for the bootstrap) ------------------------
class _Scored:
    """A model's predictions pre-encoded so one metric on a row subset costs microseconds."""

    def __init__(
        self, metric: str, task: str, y_true: Any, preds: Predictions, classes: Sequence[str] | None
    ):
        self.metric = metric
        self.classification = task != "regression"
        if self.classification:
            labels = [str(c) for c in classes or []]
            index = {c: i for i, c in enumerate(labels)}
            self.k = len(labels)
            self.y = np.array([index.get(v, -1) for v in as_labels(y_true)], dtype=np.int64)
            self.p = np.array([index.get(v, -1) for v in as_labels(preds.label)], dtype=np.int64)
            self.proba = None if preds.proba is None else np.asarray(preds.proba, dtype=float)
            if metric == "log_loss" and self.proba is not None:
                eps = np.finfo(float).eps
                q = np.clip(self.proba, eps, 1 - eps)
                q = q / q.sum(axis=1, keepdims=True)
                rows = np.arange(len(self.y))
                self.row_loss = np.where(self.y >= 0, -np.log(q[rows, np.clip(self.y, 0, None)]), np.nan)
        else:
            self.yf = np.asarray(y_true, dtype=float)
            self.pf = np.asarray(preds.label, dtype=float)

    def __call__(self, idx: np.ndarray | slice) -> float | None:
        m = self.metric
        if not self.classification:
            y, p = self.yf[idx], self.pf[idx]
            if y.size == 0:
                return None
            err = p - y
            if m == "mae":
                return float(np.mean(np.abs(err)))
            if m == "rmse":
                return float(math.sqrt(np.mean(err**2)))
            if m == "mape":
                nz = y != 0
                return float(np.mean(np.abs(err[nz]) / np.abs(y[nz]))) if nz.any() else None
            ss_tot = float(np.sum((y - y.mean()) ** 2))
            return None if ss_tot == 0 else float(1 - np.sum(err**2) / ss_tot)
        y, p = self.y[idx], self.p[idx]
        if y.size == 0:
            return None
        if m == "accuracy":
            return float(np.mean(y == p))
        if m in ("precision", "recall", "f1"):
            keep = (y >= 0) & (p >= 0)
            cm = np.bincount(y[keep] * self.k + p[keep], minlength=self.k * self.k).reshape(self.k, self.k)
            return precision_recall_f1(cm)[m]
        if self.proba is None:
            return None
        if m == "log_loss":
            losses = self.row_loss[idx]
            return None if np.isnan(losses).any() else float(np.mean(losses))
        proba = self.proba[idx]
        if self.k == 2:
            return binary_roc_auc(y == 1, proba[:, 1])
        aucs = [binary_roc_auc(y == c, proba[:, c]) for c in range(self.k)]
        return None if any(a is None for a in aucs) else float(np.mean([a for a in aucs if a is not None]))


# --- significance ---------------------------------------------------------------------------
def paired_bootstrap_p(
    challenger: Callable[[np.ndarray], float | None],
    champion: Callable[[np.ndarray], float | None],
    n: int,
    *,
    sign: float,
    rounds: int,
    seed: int,
) -> float | None:
    """Share of bootstrap resamples (same rows for both models) where the challenger is not better."""
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(rounds):
        idx = rng.integers(0, n, n)
        a, b = challenger(idx), champion(idx)
        if a is not None and b is not None:
            diffs.append(sign * (a - b))
    if not diffs:
        return None
    return float(np.mean(np.asarray(diffs) <= 0))


def mcnemar_p(challenger_correct: np.ndarray, champion_correct: np.ndarray) -> tuple[float, int, int]:
    """One-sided McNemar p-value that the challenger is more accurate, and the discordant counts.

    b = rows only the champion gets right, c = rows only the challenger gets right. Exact binomial
    P(X >= c | b + c, 1/2) below 25 discordant rows, else the continuity-corrected normal form.
    """
    from scipy.special import bdtrc, ndtr

    b = int(np.sum(champion_correct & ~challenger_correct))
    c = int(np.sum(challenger_correct & ~champion_correct))
    n = b + c
    if n == 0:
        return 1.0, b, c
    if n < EXACT_MCNEMAR_BELOW:
        return float(bdtrc(c - 1, n, 0.5)) if c > 0 else 1.0, b, c
    z = (c - b - 1) / math.sqrt(n)
    return float(ndtr(-z)), b, c


# --- the gate -------------------------------------------------------------------------------
def evaluate_gate(
    spec: ModelSpec,
    *,
    y_true: Any,
    challenger: Predictions,
    champion: Predictions | None,
    classes: Sequence[str] | None,
    segment_frame: pd.DataFrame | None = None,
    champion_version: int | None = None,
    challenger_version: int | None = None,
    fairness: Any | None = None,
) -> GateDecision:
    """The primary-metric gate, then the fairness commitments (``fairness``: a FairnessVerdict)."""
    decision = _primary_gate(
        spec,
        y_true=y_true,
        challenger=challenger,
        champion=champion,
        classes=classes,
        segment_frame=segment_frame,
        champion_version=champion_version,
        challenger_version=challenger_version,
    )
    if fairness is None:
        return decision
    update: dict[str, Any] = {"fairness": fairness.model_dump(mode="json")}
    if fairness.verdict == "breached":
        update.update(
            outcome="reject",
            failed_checks=[*decision.failed_checks, *fairness.failed_checks],
            reasons=[*decision.reasons, *fairness.reasons],
        )
    elif fairness.verdict == "unjudged":
        update.update(
            outcome="pending_approval" if decision.passed else decision.outcome,
            failed_checks=[*decision.failed_checks, "fairness_unjudged"],
            reasons=[*decision.reasons, *fairness.reasons, "fairness could not be judged: a person decides"],
        )
    return decision.model_copy(update=update)


def _primary_gate(
    spec: ModelSpec,
    *,
    y_true: Any,
    challenger: Predictions,
    champion: Predictions | None,
    classes: Sequence[str] | None,
    segment_frame: pd.DataFrame | None = None,
    champion_version: int | None = None,
    challenger_version: int | None = None,
) -> GateDecision:
    policy = spec.gate
    metric = spec.primary_metric
    sign = 1.0 if spec.greater_is_better else -1.0
    base = _policy_fields(spec, n := len(np.asarray(y_true)), champion_version, challenger_version)
    passing: Outcome = "promote" if policy.auto_promote else "pending_approval"
    approval_note = [] if policy.auto_promote else ["auto_promote is false: a person approves the promotion"]
    chal = _Scored(metric, spec.task, y_true, challenger, classes)
    base["challenger_score"] = chal_score = chal(slice(None))
    if chal_score is None:
        return GateDecision(
            outcome="reject",
            failed_checks=["challenger_metric_undefined"],
            reasons=[f"the challenger's {metric} is undefined on the holdout"],
            **base,
        )
    if champion is None:
        return GateDecision(outcome=passing, reasons=[NO_CHAMPION, *approval_note], **base)

    champ = _Scored(metric, spec.task, y_true, champion, classes)
    champ_score = champ(slice(None))
    base["champion_score"] = champ_score
    if champ_score is None:
        return GateDecision(
            outcome="pending_approval",
            failed_checks=["champion_metric_undefined"],
            reasons=[f"the champion's {metric} is undefined on the holdout: a person decides"],
            **base,
        )
    improvement, relative = _improvement(chal_score, champ_score, sign, base)
    failed, reasons = _improvement_failures(spec, improvement, relative, chal_score, champ_score)
    p_value = _significance(spec, chal, champ, n, sign, base, failed, reasons)
    segments = _segments(spec, segment_frame, y_true, challenger, champion, classes, sign)
    for seg in (seg for seg in segments if seg.regressed):
        failed.append(f"segment:{seg.column}={seg.value}")
        reasons.append(
            f"segment {seg.column}={seg.value} (n={seg.n}) regresses: {metric} "
            f"{seg.champion:.4f} -> {seg.challenger:.4f} (tolerance {policy.segment_tolerance})"
        )
    if failed:
        return GateDecision(
            outcome="reject", segments=segments, failed_checks=failed, reasons=reasons, **base
        )
    reasons.insert(
        0,
        f"challenger beats champion v{champion_version} on {metric} by {improvement:+.4f} "
        f"(p = {p_value:.4f}) with no segment regression",
    )
    return GateDecision(outcome=passing, segments=segments, reasons=reasons + approval_note, **base)


def _policy_fields(
    spec: ModelSpec, n: int, champion_version: int | None, challenger_version: int | None
) -> dict[str, Any]:
    """What every decision records of the policy it was made under (the checks add their figures)."""
    policy = spec.gate
    return {
        "metric": spec.primary_metric,
        "greater_is_better": spec.greater_is_better,
        "champion_version": champion_version,
        "challenger_version": challenger_version,
        "significance": policy.significance,
        "min_absolute_change": policy.min_absolute_change,
        "min_relative_change": policy.min_relative_change,
        "segment_tolerance": policy.segment_tolerance,
        "auto_promote": policy.auto_promote,
        "n_holdout": n,
    }


def _improvement(
    chal_score: float, champ_score: float, sign: float, base: dict[str, Any]
) -> tuple[float, float]:
    """(improvement in the metric's better direction, relative to the champion); noted in ``base``."""
    diff = chal_score - champ_score
    improvement = sign * diff
    relative = improvement / abs(champ_score) if champ_score != 0 else (math.inf if improvement > 0 else 0.0)
    base.update(
        difference=diff,
        improvement=improvement,
        relative_improvement=relative if math.isfinite(relative) else None,
    )
    return improvement, relative


def _improvement_failures(
    spec: ModelSpec, improvement: float, relative: float, chal_score: float, champ_score: float
) -> tuple[list[str], list[str]]:
    """The failed checks and reasons of the improvement rules (better, by enough, absolute and relative)."""
    policy, metric = spec.gate, spec.primary_metric
    failed: list[str] = []
    reasons: list[str] = []
    if improvement <= 0:
        failed.append("not_better")
        reasons.append(
            f"challenger does not beat the champion: {metric} {chal_score:.4f} vs {champ_score:.4f}"
        )
    elif improvement < policy.min_absolute_change:
        failed.append("min_absolute_change")
        reasons.append(
            f"improvement {improvement:+.4f} is below min_absolute_change {policy.min_absolute_change}"
        )
    if improvement > 0 and relative < policy.min_relative_change:
        failed.append("min_relative_change")
        reasons.append(
            f"relative improvement {relative:+.2%} is below min_relative_change "
            f"{policy.min_relative_change:.2%}"
        )
    return failed, reasons


def _significance(
    spec: ModelSpec,
    chal: _Scored,
    champ: _Scored,
    n: int,
    sign: float,
    base: dict[str, Any],
    failed: list[str],
    reasons: list[str],
) -> float | None:
    """The p-value of the difference (McNemar for accuracy when asked, else the paired bootstrap);
    notes the test in ``base`` and a failed check in ``failed``/``reasons``."""
    policy, metric = spec.gate, spec.primary_metric
    p_value: float | None
    if policy.test == "mcnemar" and metric == "accuracy":
        p_value, b, c = mcnemar_p(chal.y == chal.p, champ.y == champ.p)
        base.update(test=f"mcnemar (discordant: champion-only {b}, challenger-only {c})")
    else:
        p_value = paired_bootstrap_p(
            chal, champ, n, sign=sign, rounds=policy.bootstrap_rounds, seed=spec.seed
        )
        base.update(test="paired_bootstrap", bootstrap_rounds=policy.bootstrap_rounds)
        if policy.test == "mcnemar":
            reasons.append(f"McNemar applies to accuracy only; used the paired bootstrap for {metric}")
    base["p_value"] = p_value
    if p_value is None:
        failed.append("significance")
        reasons.append("significance could not be computed (metric undefined on every resample)")
    elif p_value >= policy.significance:
        failed.append("significance")
        reasons.append(f"difference is not significant: p = {p_value:.4f} >= {policy.significance}")
    return p_value


def _segments(
    spec: ModelSpec,
    frame: pd.DataFrame | None,
    y_true: Any,
    challenger: Predictions,
    champion: Predictions,
    classes: Sequence[str] | None,
    sign: float,
) -> list[SegmentComparison]:
    if frame is None or not spec.segments:
        return []
    chal = _Scored(spec.primary_metric, spec.task, y_true, challenger, classes)
    champ = _Scored(spec.primary_metric, spec.task, y_true, champion, classes)
    out: list[SegmentComparison] = []
    for column in spec.segments:
        if column not in frame.columns:
            continue
        keys = segment_labels(frame[column]).to_numpy()
        for value in sorted(set(keys)):
            idx = np.flatnonzero(keys == value)
            if idx.size < MIN_SEGMENT_ROWS:
                continue
            a, b = chal(idx), champ(idx)
            change = None if a is None or b is None else sign * (a - b)
            out.append(
                SegmentComparison(
                    column=column,
                    value=str(value),
                    n=int(idx.size),
                    champion=b,
                    challenger=a,
                    change=change,
                    regressed=change is not None and change < -spec.gate.segment_tolerance,
                )
            )
    return out

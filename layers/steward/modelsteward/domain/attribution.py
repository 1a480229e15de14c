"""Global feature attributions of a model's outputs, and their drift (SageMaker Clarify's nDCG). Pure.

**What is attributed.** The change of the model's *output* when one feature's values are shuffled
among the rows (permutation of the inputs, scored against the model's own unshuffled outputs, not
against labels): for a classifier with probabilities, the mean total-variation distance between the
two probability vectors of a row (``0.5 * sum(|p - p'|)``); without probabilities, the share of
rows whose label changes; for a regressor, the mean absolute change of the prediction. Each
feature's mean change (over ``repeats`` shuffles) is normalized so the features sum to 1; with no
measurable change anywhere every feature gets an equal share.

Label-free on purpose: Clarify's explainability monitor attributes live inputs without ground
truth too (its global SHAP values need no labels), the model is only loaded where a batch is scored
(score_batch: labels arrive days later, in a function without scikit-learn), and a shift in what
the model relies on is then seen before labels arrive. The version's baseline is computed by the
same function on its holdout at training, so like is compared with like (the label-based
permutation importance of the model card answers another question: what the primary metric loses).

**Drift** (Clarify's feature attribution drift check): features ranked by the batch's attributions,
relevance = the baseline's attributions,
``nDCG = sum_i a(f'_i) / log2(i + 1)  /  sum_i a(f_i) / log2(i + 1)`` where ``f'`` is the batch's
ranking, ``f`` the baseline's and ``a`` the baseline attribution. 1 = same order of importance;
a batch drifts when nDCG < threshold (Clarify's default 0.9).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .assessment_record import AttributionDrift, RankChange

DEFAULT_REPEATS = 2


def ndcg(baseline: Mapping[str, float], current: Mapping[str, float]) -> float | None:
    """Clarify's nDCG of the current ranking against the baseline attributions (None: nothing to rank).

    Features missing from ``current`` rank last; ties in ``current`` keep the baseline's order.
    """
    names = [n for n in baseline if baseline[n] is not None]
    if not names:
        return None
    base_rank = sorted(names, key=lambda n: -float(baseline[n]))
    order = {n: i for i, n in enumerate(base_rank)}
    live_rank = sorted(names, key=lambda n: (-float(current.get(n, float("-inf"))), order[n]))

    def dcg(ranking: Sequence[str]) -> float:
        return sum(float(baseline[n]) / math.log2(i + 2) for i, n in enumerate(ranking))

    ideal = dcg(base_rank)
    if ideal <= 0:
        return None
    return dcg(live_rank) / ideal


def _normalized(raw: Mapping[str, float]) -> dict[str, float]:
    clipped = {n: max(0.0, float(v)) if np.isfinite(v) else 0.0 for n, v in raw.items()}
    total = sum(clipped.values())
    if total <= 0:
        return {n: 1.0 / len(clipped) for n in clipped} if clipped else {}
    return {n: v / total for n, v in clipped.items()}


def output_attributions(
    predict: Callable[[Any], tuple[np.ndarray, np.ndarray | None]],
    features: Any,
    *,
    seed: int = 0,
    sample_rows: int = 1000,
    repeats: int = DEFAULT_REPEATS,
    regression: bool = False,
) -> dict[str, float]:
    """Label-free permutation attributions of ``predict`` on a frame of prepared features.

    ``predict(frame) -> (labels, proba or None)``. One call scores every shuffled copy at once.
    """
    import pandas as pd  # the scoring and training paths have pandas; the module imports without it

    frame = features
    rng = np.random.default_rng(seed)
    if len(frame) > sample_rows:
        frame = frame.iloc[np.sort(rng.choice(len(frame), sample_rows, replace=False))]
    frame = frame.reset_index(drop=True)
    n, names = len(frame), list(frame.columns)
    if n < 2 or not names:
        return {name: 1.0 / len(names) for name in names} if names else {}
    copies = []
    for _ in range(repeats):
        for name in names:
            shuffled = frame.copy()
            shuffled[name] = frame[name].to_numpy()[rng.permutation(n)]
            copies.append(shuffled)
    labels, proba = predict(pd.concat([frame, *copies], ignore_index=True))
    out: dict[str, float] = {name: 0.0 for name in names}
    for k in range(repeats * len(names)):
        rows = slice((k + 1) * n, (k + 2) * n)
        if proba is not None:
            change = 0.5 * np.abs(proba[rows] - proba[:n]).sum(axis=1)
        elif regression:
            change = np.abs(np.asarray(labels[rows], dtype=float) - np.asarray(labels[:n], dtype=float))
        else:
            change = (np.asarray(labels[rows]) != np.asarray(labels[:n])).astype(float)
        out[names[k % len(names)]] += float(np.nanmean(change)) / repeats
    return _normalized(out)


def unavailable(reason: str) -> AttributionDrift:
    return AttributionDrift(available=False, reason=reason)


def attribution_drift(
    baseline: Mapping[str, float],
    current: Mapping[str, float],
    *,
    threshold: float,
    version: int | None = None,
    rows: int | None = None,
) -> AttributionDrift:
    """Compare a batch's attributions with the version's baseline (drifted when nDCG < threshold)."""
    score = ndcg(baseline, current)
    if score is None:
        return unavailable("the version's baseline attributions are empty")
    base_rank = sorted(baseline, key=lambda n: -float(baseline[n]))
    order = {n: i for i, n in enumerate(base_rank)}
    live = sorted(current, key=lambda n: (-float(current[n]), order.get(n, len(order))))
    live_rank = {n: i + 1 for i, n in enumerate(live)}
    return AttributionDrift(
        available=True,
        version=version,
        rows=rows,
        ndcg=round(score, 6),
        threshold=threshold,
        drifted=score < threshold,
        baseline={n: float(v) for n, v in baseline.items()},
        current={n: float(v) for n, v in current.items()},
        ranks=[
            RankChange(
                feature=n,
                baseline=float(baseline[n]),
                current=current.get(n),
                baseline_rank=i + 1,
                current_rank=live_rank.get(n),
            )
            for i, n in enumerate(base_rank)
        ],
    )

"""The champion/challenger gate: better by enough, significantly, and in every segment - or no promotion."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from modelsteward.domain.gate import _Scored, evaluate_gate, mcnemar_p
from modelsteward.domain.gate_record import GateDecision
from modelsteward.domain.metrics import task_metrics
from modelsteward.domain.training import Predictions
from modelsteward.spec import ModelSpec, parse_spec

CLASSES = ["0", "1"]


def spec(**gate: Any) -> ModelSpec:
    return parse_spec(
        {
            "name": "credit-default",
            "task": "binary",
            "target": "default",
            "classes": CLASSES,
            "features": {"numeric": ["x"], "categorical": ["region"]},
            "segments": ["region"],
            "primary_metric": gate.pop("metric", "roc_auc"),
            "gate": gate,
        }
    )


def holdout(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    region = np.where(rng.random(n) < 0.5, "north", "south")
    signal = y - 0.5
    return y.astype(str), region, signal, rng


def binary_preds(score: np.ndarray) -> Predictions:
    p = 1 / (1 + np.exp(-score))
    return Predictions(label=np.where(p > 0.5, "1", "0").astype(object), proba=np.column_stack([1 - p, p]))


def decide(
    s: ModelSpec,
    y: np.ndarray,
    region: np.ndarray,
    challenger: Predictions,
    champion: Predictions | None,
    champion_version: int | None = 1,
) -> GateDecision:
    return evaluate_gate(
        s,
        y_true=y,
        challenger=challenger,
        champion=champion,
        classes=CLASSES,
        segment_frame=pd.DataFrame({"region": region}),
        champion_version=champion_version,
        challenger_version=2,
    )


def test_a_clearly_better_challenger_is_promoted_with_evidence() -> None:
    y, region, signal, rng = holdout()
    noise = rng.normal(0, 1, len(y))
    champion = binary_preds(1.0 * signal + noise)
    challenger = binary_preds(3.0 * signal + noise)
    d = decide(spec(min_absolute_change=0.01), y, region, challenger, champion)
    assert d.outcome == "promote"
    assert d.failed_checks == []
    assert d.challenger_score is not None and d.champion_score is not None and d.p_value is not None
    assert d.challenger_score > d.champion_score
    assert d.improvement == pytest.approx(d.challenger_score - d.champion_score)
    assert d.p_value < 0.05 and d.test == "paired_bootstrap"
    assert {s.value for s in d.segments} == {"north", "south"}
    assert "beats champion v1" in d.reasons[0]
    assert "improvement" in d.text() and "p = " in d.text()


def test_a_passing_challenger_awaits_approval_without_auto_promote() -> None:
    y, region, signal, rng = holdout()
    noise = rng.normal(0, 1, len(y))
    d = decide(
        spec(auto_promote=False), y, region, binary_preds(3 * signal + noise), binary_preds(signal + noise)
    )
    assert d.outcome == "pending_approval"
    assert any("auto_promote is false" in r for r in d.reasons)


def test_an_equal_challenger_is_rejected_as_not_better_and_not_significant() -> None:
    y, region, signal, rng = holdout()
    same = binary_preds(signal + rng.normal(0, 1, len(y)))
    d = decide(spec(), y, region, same, same)
    assert d.outcome == "reject"
    assert "not_better" in d.failed_checks and "significance" in d.failed_checks
    assert d.p_value == 1.0


def test_a_worse_challenger_is_rejected() -> None:
    y, region, signal, rng = holdout()
    noise = rng.normal(0, 1, len(y))
    d = decide(spec(), y, region, binary_preds(signal + noise), binary_preds(3 * signal + noise))
    assert d.outcome == "reject"
    assert d.failed_checks[0] == "not_better"
    assert d.improvement is not None
    assert d.improvement < 0


def test_a_small_gain_below_min_absolute_change_is_rejected_by_name() -> None:
    y, region, signal, rng = holdout()
    noise = rng.normal(0, 1, len(y))
    d = decide(
        spec(min_absolute_change=0.5),
        y,
        region,
        binary_preds(3 * signal + noise),
        binary_preds(signal + noise),
    )
    assert d.outcome == "reject"
    assert d.failed_checks == ["min_absolute_change"]


def test_min_relative_change_is_relative_to_the_champion() -> None:
    y, region, signal, rng = holdout()
    noise = rng.normal(0, 1, len(y))
    d = decide(
        spec(min_relative_change=0.9),
        y,
        region,
        binary_preds(3 * signal + noise),
        binary_preds(signal + noise),
    )
    assert d.failed_checks == ["min_relative_change"]
    assert d.improvement is not None and d.champion_score is not None
    assert d.relative_improvement == pytest.approx(d.improvement / d.champion_score)


def test_a_segment_regression_rejects_an_overall_better_challenger() -> None:
    y, region, signal, rng = holdout(n=4000)
    noise = rng.normal(0, 1, len(y))
    north = region == "north"
    champion = binary_preds(2 * signal + noise)
    # much better in the north, clearly worse in the south
    challenger = binary_preds(np.where(north, 8 * signal, 1.0 * signal) + noise)
    d = decide(spec(segment_tolerance=0.02), y, region, challenger, champion)
    assert d.improvement is not None
    assert d.improvement > 0
    assert d.outcome == "reject"
    assert d.failed_checks == ["segment:region=south"]
    south = next(s for s in d.segments if s.value == "south")
    assert south.change is not None
    assert south.regressed and south.change < -0.02


def test_the_first_version_is_promoted_because_there_is_no_champion() -> None:
    y, region, signal, rng = holdout()
    d = decide(
        spec(), y, region, binary_preds(signal + rng.normal(0, 1, len(y))), None, champion_version=None
    )
    assert d.outcome == "promote" and d.reasons == ["no champion"]


def test_lower_is_better_metrics_flip_the_comparison() -> None:
    rng = np.random.default_rng(5)
    y = rng.normal(100, 10, 1500)
    s = parse_spec(
        {
            "name": "house-price",
            "task": "regression",
            "target": "price",
            "features": {"numeric": ["x"]},
            "primary_metric": "mae",
        }
    )
    good = Predictions(label=y + rng.normal(0, 2, len(y)))
    bad = Predictions(label=y + rng.normal(0, 6, len(y)))
    promoted = evaluate_gate(s, y_true=y, challenger=good, champion=bad, classes=None, champion_version=1)
    rejected = evaluate_gate(s, y_true=y, challenger=bad, champion=good, classes=None, champion_version=1)
    assert promoted.improvement is not None and promoted.difference is not None
    assert promoted.outcome == "promote" and promoted.improvement > 0 and promoted.difference < 0
    assert rejected.outcome == "reject" and "not_better" in rejected.failed_checks


def test_mcnemar_is_used_for_accuracy_and_matches_the_exact_binomial() -> None:
    y, region, signal, rng = holdout(n=300)
    noise = rng.normal(0, 1, len(y))
    d = decide(
        spec(metric="accuracy", test="mcnemar"),
        y,
        region,
        binary_preds(4 * signal + noise),
        binary_preds(signal + noise),
    )
    assert d.test is not None
    assert d.test.startswith("mcnemar")
    assert d.outcome == "promote"
    champion_right = np.array([True] * 10 + [False] * 30 + [True] * 5)
    challenger_right = np.array([False] * 10 + [True] * 30 + [True] * 5)
    p, b, c = mcnemar_p(challenger_right[:12], champion_right[:12])  # 10 vs 2 discordant: exact
    assert (b, c) == (10, 2)
    assert p == pytest.approx(binomtest(2, 12, 0.5, alternative="greater").pvalue)
    p_large, b, c = mcnemar_p(challenger_right, champion_right)
    assert (b, c) == (10, 30) and p_large < 0.01


def test_mcnemar_requested_for_another_metric_falls_back_to_the_bootstrap_and_says_so() -> None:
    y, region, signal, rng = holdout()
    noise = rng.normal(0, 1, len(y))
    d = decide(
        spec(test="mcnemar"), y, region, binary_preds(3 * signal + noise), binary_preds(signal + noise)
    )
    assert d.test == "paired_bootstrap"
    assert any("McNemar applies to accuracy only" in r for r in d.reasons)


def test_the_bootstrap_is_seeded() -> None:
    y, region, signal, rng = holdout(n=800)
    challenger = binary_preds(1.05 * signal + rng.normal(0, 1, len(y)))
    champion = binary_preds(signal + rng.normal(0, 1, len(y)))
    a = decide(spec(), y, region, challenger, champion)
    b = decide(spec(), y, region, challenger, champion)
    assert a.p_value is not None
    assert a.p_value == b.p_value and 0 < a.p_value < 1


@pytest.mark.parametrize("metric", ["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"])
def test_the_gate_scores_like_the_reported_metrics(metric: str) -> None:
    y, _, signal, rng = holdout(n=500)
    preds = binary_preds(2 * signal + rng.normal(0, 1, len(y)))
    expected = task_metrics("binary", y, preds.label, preds.proba, CLASSES)[metric]
    assert _Scored(metric, "binary", y, preds, CLASSES)(slice(None)) == pytest.approx(expected)


@pytest.mark.parametrize("metric", ["mae", "rmse", "mape", "r2"])
def test_the_gate_scores_regression_like_the_reported_metrics(metric: str) -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(50, 5, 300)
    preds = Predictions(label=y + rng.normal(0, 1, 300))
    assert _Scored(metric, "regression", y, preds, None)(slice(None)) == pytest.approx(
        task_metrics("regression", y, preds.label)[metric]
    )


def test_multiclass_roc_auc_in_the_gate_matches_the_metrics() -> None:
    rng = np.random.default_rng(9)
    classes = ["a", "b", "c"]
    y = rng.choice(classes, 600)
    logits = rng.normal(0, 1, (600, 3))
    logits[np.arange(600), [classes.index(v) for v in y]] += 1.0
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    preds = Predictions(label=np.array(classes, dtype=object)[proba.argmax(axis=1)], proba=proba)
    expected = task_metrics("multiclass", y, preds.label, proba, classes)["roc_auc"]
    assert _Scored("roc_auc", "multiclass", y, preds, classes)(slice(None)) == pytest.approx(expected)


def fair_spec(**fairness: Any) -> ModelSpec:
    return parse_spec(
        {
            "name": "credit-default",
            "task": "binary",
            "target": "default",
            "classes": CLASSES,
            "features": {"numeric": ["x"], "categorical": ["region"]},
            "primary_metric": "roc_auc",
            "fairness": {"sensitive_attributes": ["sex"], **fairness},
        }
    )


def test_a_better_challenger_that_breaks_the_parity_bound_is_rejected_with_evidence() -> None:
    from modelsteward.domain.fairness import holdout_bias, judge

    y, _region, signal, rng = holdout()
    sex = np.where(rng.random(len(y)) < 0.5, "F", "M")
    noise = rng.normal(0, 1, len(y))
    champion = binary_preds(1.0 * signal + noise)
    # planted: the challenger ranks better but pushes group F's scores down, so F is selected less
    challenger = binary_preds(3.0 * signal + noise - 2.5 * (sex == "F"))
    s = fair_spec(bounds={"demographic_parity_difference": 0.1})
    frame = pd.DataFrame({"default": y, "sex": sex})
    verdict = judge(
        s.fairness, holdout_bias(s, frame, challenger, CLASSES), holdout_bias(s, frame, champion, CLASSES)
    )
    d = evaluate_gate(
        s,
        y_true=y,
        challenger=challenger,
        champion=champion,
        classes=CLASSES,
        champion_version=1,
        challenger_version=2,
        fairness=verdict,
    )
    assert d.challenger_score is not None and d.champion_score is not None and d.p_value is not None
    assert d.challenger_score > d.champion_score and d.p_value < 0.05  # better on the primary metric
    assert d.outcome == "reject"
    assert "fairness:sex:demographic_parity_difference" in d.failed_checks
    assert d.fairness is not None
    assert d.fairness["verdict"] == "breached" and d.fairness["values"]["demographic_parity_difference"] > 0.1
    assert any("breaking the committed bound <= 0.1" in r for r in d.reasons)
    assert "fairness: breached" in d.text()
    # without the commitment the same challenger is promoted
    loose = fair_spec()
    plain = judge(loose.fairness, holdout_bias(loose, frame, challenger, CLASSES))
    d2 = evaluate_gate(
        loose,
        y_true=y,
        challenger=challenger,
        champion=champion,
        classes=CLASSES,
        champion_version=1,
        challenger_version=2,
        fairness=plain,
    )
    assert d2.fairness is not None
    assert d2.outcome == "promote" and d2.fairness["verdict"] == "none"


def test_fairness_that_cannot_be_judged_sends_a_passing_challenger_to_a_person() -> None:
    from modelsteward.domain.fairness import holdout_bias, judge

    y, _region, signal, rng = holdout(n=200)
    s = fair_spec(bounds={"disparate_impact_ratio": 0.8}, min_group_size=500)
    preds = binary_preds(3 * signal + rng.normal(0, 1, len(y)))
    frame = pd.DataFrame({"default": y, "sex": np.where(rng.random(len(y)) < 0.5, "F", "M")})
    verdict = judge(s.fairness, holdout_bias(s, frame, preds, CLASSES))
    d = evaluate_gate(s, y_true=y, challenger=preds, champion=None, classes=CLASSES, fairness=verdict)
    assert d.outcome == "pending_approval" and "fairness_unjudged" in d.failed_checks
    assert d.fairness is not None
    assert d.fairness["too_small"] == {"sex": ["F", "M"]}

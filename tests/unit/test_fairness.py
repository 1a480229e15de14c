"""Fairness metrics pinned to their formulas on hand cases (and to fairlearn, a test-only dependency)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from narrowing import present

from modelsteward.domain.fairness import (
    FairnessReport,
    favorable_label,
    judge,
    post_training_bias,
    pre_training_bias,
    wilson_interval,
)
from modelsteward.errors import SpecError
from modelsteward.spec import FairnessPolicy, parse_spec

BASE = """
name: credit-default
task: binary
target: default
features:
  numeric: [age, income]
  categorical: [region]
primary_metric: accuracy
"""


def policy(**kw: Any) -> FairnessPolicy:
    return FairnessPolicy(sensitive_attributes=["sex"], **{"min_group_size": 1, **kw})


# group A: labels 1 1 0 0, predictions 1 0 1 0 -> selection 2/4, TPR 1/2, FPR 1/2, accuracy 2/4
# group B: labels 1 1 0 0, predictions 1 1 1 0 -> selection 3/4, TPR 2/2, FPR 1/2, accuracy 3/4
SEX = ["A"] * 4 + ["B"] * 4
Y = ["1", "1", "0", "0", "1", "1", "0", "0"]
P = ["1", "0", "1", "0", "1", "1", "1", "0"]


def hand_report(**kw: Any) -> FairnessReport:
    return post_training_bias(
        policy(**kw),
        task="binary",
        metric="accuracy",
        classes=["0", "1"],
        sensitive={"sex": SEX},
        y_true=Y,
        y_pred=P,
        favorable="1",
        bootstrap_rounds=0,
    )


def test_post_training_metrics_follow_their_formulas_on_a_hand_case() -> None:
    (attr,) = hand_report().attributes
    a, b = attr.groups
    assert (a.group, a.n, a.selection_rate, a.true_positive_rate, a.false_positive_rate) == (
        "A",
        4,
        0.5,
        0.5,
        0.5,
    )
    assert (b.selection_rate, b.true_positive_rate, b.false_positive_rate) == (0.75, 1.0, 0.5)
    assert (a.metric, b.metric) == (0.5, 0.75)
    assert attr.demographic_parity_difference == pytest.approx(0.25)
    assert attr.disparate_impact_ratio == pytest.approx(0.5 / 0.75)
    assert attr.equal_opportunity_difference == pytest.approx(0.5)
    assert attr.equalized_odds_difference == pytest.approx(0.5)  # max(TPR gap 0.5, FPR gap 0)
    assert attr.primary_metric_gap == pytest.approx(0.25)


def test_pre_training_bias_is_clarifys_ci_and_dpl() -> None:
    # A: 2 rows, both favorable; B: 6 rows, one favorable
    report = pre_training_bias(
        policy(), sensitive={"sex": ["A"] * 2 + ["B"] * 6}, y_true=[1, 1, 1, 0, 0, 0, 0, 0], favorable="1"
    )
    a, b = report.attributes[0].groups
    assert a.class_imbalance == pytest.approx((6 - 2) / 8) and b.class_imbalance == pytest.approx(-0.5)
    assert a.label_rate == 1.0 and b.label_rate == pytest.approx(1 / 6)
    assert a.dpl == pytest.approx(1 / 6 - 1) and b.dpl == pytest.approx(1 - 1 / 6)
    assert report.attributes[0].max_dpl == pytest.approx(5 / 6)


def test_wilson_interval_matches_the_published_value() -> None:
    lo, hi = present(wilson_interval(5, 10, 0.95))
    assert (round(lo, 4), round(hi, 4)) == (0.2366, 0.7634)
    assert wilson_interval(0, 0) is None


def test_rates_carry_wilson_intervals_and_metrics_a_bootstrap_interval() -> None:
    rng = np.random.default_rng(0)
    n = 400
    sex = rng.choice(["F", "M"], n)
    y = rng.integers(0, 2, n).astype(str)
    p = np.where(rng.random(n) < 0.8, y, 1 - y.astype(int)).astype(str)
    report = post_training_bias(
        policy(),
        task="binary",
        metric="accuracy",
        classes=["0", "1"],
        sensitive={"sex": sex},
        y_true=y,
        y_pred=p,
        favorable="1",
    )
    for g in report.attributes[0].groups:
        k = int(np.sum(p[sex == g.group] == "1"))
        assert g.selection_rate_ci == pytest.approx(list(present(wilson_interval(k, g.n))))
        assert g.metric_ci is not None and g.metric is not None
        assert g.metric_ci[0] < g.metric < g.metric_ci[1]


def test_groups_below_min_group_size_are_flagged_and_left_out_of_the_differences() -> None:
    sex = [*SEX, "C"]
    report = post_training_bias(
        policy(min_group_size=3),
        task="binary",
        metric="accuracy",
        classes=["0", "1"],
        sensitive={"sex": sex},
        y_true=[*Y, "0"],
        y_pred=[*P, "1"],
        favorable="1",
        bootstrap_rounds=0,
    )
    attr = report.attributes[0]
    assert attr.too_small == ["C"]  # C selects 1/1: counted, it would make the difference 0.5
    assert attr.demographic_parity_difference == pytest.approx(0.25)


def test_judge_breaks_a_bound_and_compares_with_the_champion_within_tolerance() -> None:
    p = policy(bounds={"demographic_parity_difference": 0.2, "disparate_impact_ratio": 0.5}, tolerance=0.05)
    chal = hand_report()
    verdict = judge(p, chal)
    assert verdict.verdict == "breached"
    assert verdict.failed_checks == ["fairness:sex:demographic_parity_difference"]
    assert any("0.2500" in r and "<= 0.2" in r for r in verdict.reasons)
    # a champion with perfect parity: the challenger is worse by 0.25 > tolerance on both metrics
    fair = post_training_bias(
        p,
        task="binary",
        metric="accuracy",
        classes=["0", "1"],
        sensitive={"sex": SEX},
        y_true=Y,
        y_pred=["1", "0"] * 4,
        favorable="1",
        bootstrap_rounds=0,
    )
    loose = policy(bounds={"demographic_parity_difference": 0.3}, tolerance=0.05)
    v2 = judge(loose, chal, fair)
    assert v2.verdict == "breached"
    assert v2.failed_checks == ["fairness_vs_champion:sex:demographic_parity_difference"]
    assert v2.checks[0].worse_by == pytest.approx(0.25)
    assert (
        judge(policy(bounds={"demographic_parity_difference": 0.3}, tolerance=0.3), chal, fair).verdict
        == "held"
    )


def test_judge_cannot_judge_without_two_large_enough_groups() -> None:
    verdict = judge(
        policy(bounds={"demographic_parity_difference": 0.2}, min_group_size=5), hand_report(min_group_size=5)
    )
    assert verdict.verdict == "unjudged" and verdict.too_small == {"sex": ["A", "B"]}


def test_batch_reports_need_no_labels() -> None:
    report = post_training_bias(
        policy(),
        task="binary",
        metric=None,
        classes=["0", "1"],
        sensitive={"sex": SEX},
        y_pred=P,
        favorable="1",
        kind="batch",
    )
    attr = report.attributes[0]
    assert (
        attr.demographic_parity_difference == pytest.approx(0.25) and attr.equalized_odds_difference is None
    )


def test_regression_reports_the_per_group_error_gap() -> None:
    report = post_training_bias(
        policy(),
        task="regression",
        metric="mae",
        classes=None,
        sensitive={"sex": ["A", "A", "B", "B"]},
        y_true=[1.0, 2.0, 1.0, 2.0],
        y_pred=[1.0, 2.0, 2.0, 4.0],
        bootstrap_rounds=0,
    )
    assert report.attributes[0].primary_metric_gap == pytest.approx(1.5)  # MAE 0 vs 1.5


def test_fairlearn_agrees_on_the_same_rows() -> None:
    """The same 500 rows through fairlearn (a test-only dependency, pinned in requirements/lock.txt):
    every between-group metric and every per-group rate must match."""
    from fairlearn import metrics
    from sklearn.metrics import accuracy_score

    rng = np.random.default_rng(3)
    n = 500
    sex = rng.choice(["F", "M", "X"], n)
    y = rng.integers(0, 2, n)
    p = np.where(rng.random(n) < 0.7, y, 1 - y)
    report = post_training_bias(
        policy(),
        task="binary",
        metric="accuracy",
        classes=["0", "1"],
        sensitive={"sex": sex},
        y_true=y,
        y_pred=p,
        favorable="1",
        bootstrap_rounds=0,
    )
    attr = report.attributes[0]
    kw = {"sensitive_features": sex}
    assert attr.demographic_parity_difference == pytest.approx(
        metrics.demographic_parity_difference(y, p, **kw)
    )
    assert attr.disparate_impact_ratio == pytest.approx(metrics.demographic_parity_ratio(y, p, **kw))
    assert attr.equalized_odds_difference == pytest.approx(metrics.equalized_odds_difference(y, p, **kw))
    assert attr.equal_opportunity_difference == pytest.approx(
        metrics.equal_opportunity_difference(y, p, **kw)
    )
    frame = metrics.MetricFrame(
        metrics={
            "selection_rate": metrics.selection_rate,
            "true_positive_rate": metrics.true_positive_rate,
            "false_positive_rate": metrics.false_positive_rate,
            "accuracy": accuracy_score,
        },
        y_true=y,
        y_pred=p,
        sensitive_features=sex,
    )
    by_group = frame.by_group
    assert sorted(g.group for g in attr.groups) == sorted(by_group.index)
    for g in attr.groups:
        row = by_group.loc[g.group]
        assert g.selection_rate == pytest.approx(row["selection_rate"])
        assert g.true_positive_rate == pytest.approx(row["true_positive_rate"])
        assert g.false_positive_rate == pytest.approx(row["false_positive_rate"])
        assert g.metric == pytest.approx(row["accuracy"])
    assert attr.primary_metric_gap == pytest.approx(frame.difference()["accuracy"])


# --- the spec ------------------------------------------------------------------------------------
def test_fairness_commitments_parse_with_defaults() -> None:
    spec = parse_spec(
        BASE + "fairness:\n  sensitive_attributes: [sex, region]\n"
        "  bounds:\n    demographic_parity_difference: 0.1\n    disparate_impact_ratio: 0.8\n"
    )
    assert spec.fairness.bounds.committed() == {
        "demographic_parity_difference": 0.1,
        "disparate_impact_ratio": 0.8,
    }
    assert spec.fairness.min_group_size == 30 and spec.fairness.tolerance == 0.02
    assert spec.sensitive_only_columns == ["sex"]  # region is a feature too
    assert favorable_label(spec, ["0", "1"]) == "1"


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        (
            "fairness:\n  bounds:\n    demographic_parity_difference: 0.1\n",
            "fairness.bounds: name the sensitive_attributes",
        ),
        (
            "fairness:\n  sensitive_attributes: [default]\n",
            "fairness.sensitive_attributes: ['default'] is the target",
        ),
        (
            "fairness:\n  sensitive_attributes: [sex]\n  groups:\n    age: [a, b]\n",
            "fairness.groups: ['age'] are not",
        ),
        ("fairness:\n  sensitive_attributes: [sex]\n  groups:\n    sex: [F]\n", "at least two group values"),
        (
            "fairness:\n  sensitive_attributes: [sex]\n  bounds:\n    disparate_impact_ratio: 1.5\n",
            "fairness.bounds.disparate_impact_ratio",
        ),
        ("fairness:\n  sensitive_attributes: [sex]\n  bound:\n    x: 1\n", "fairness.bound: unknown field"),
        (
            "classes: ['0', '1']\nfairness:\n  sensitive_attributes: [sex]\n  favorable_label: good\n",
            "fairness.favorable_label: 'good' is not one of",
        ),
    ],
)
def test_bad_fairness_sections_name_field_and_fix(patch: str, expected: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(BASE + patch)
    assert expected in str(info.value)


def test_regression_rejects_classifier_only_bounds() -> None:
    reg = BASE.replace("task: binary", "task: regression").replace("accuracy", "mae")
    with pytest.raises(SpecError, match="for regression bound the per-group error gap"):
        parse_spec(
            reg
            + "fairness:\n  sensitive_attributes: [sex]\n  bounds:\n    demographic_parity_difference: 0.1\n"
        )
    ok = parse_spec(reg + "fairness:\n  sensitive_attributes: [sex]\n  bounds:\n    primary_metric_gap: 2\n")
    assert ok.fairness.bounds.committed() == {"primary_metric_gap": 2.0}


def test_multiclass_needs_a_favorable_label() -> None:
    multi = BASE.replace("task: binary", "task: multiclass")
    with pytest.raises(SpecError, match=r"fairness\.favorable_label: name the favorable class"):
        parse_spec(multi + "fairness:\n  sensitive_attributes: [sex]\n")


def _partition(keys: Any) -> set[frozenset[int]]:
    groups: dict[Any, set[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, set()).add(i)
    return {frozenset(v) for v in groups.values()}


def test_numeric_sensitive_attributes_fall_in_the_quartile_bands_of_segments() -> None:
    import pandas as pd

    from modelsteward.domain.fairness import group_keys
    from modelsteward.domain.metrics import segment_labels

    ages = pd.Series([18.0, 25.0, 33.0, 41.0, 52.0, 67.0, np.nan, 29.0])
    keys = list(group_keys(ages))
    assert _partition(keys) == _partition(segment_labels(ages))  # the same rows together
    assert keys[6] == "(missing)" and keys[0].startswith("< ") and keys[5].startswith(">= ")
    text = pd.Series(["F", None, "M", 1, 1.0], dtype=object)
    assert list(group_keys(text)) == list(segment_labels(text)) == ["F", "(missing)", "M", "1", "1"]
    assert list(group_keys(["F", "M", "X"], ["F", "M"])) == ["F", "M", None]


def test_a_numeric_attribute_that_arrives_as_text_is_banded_like_numbers() -> None:
    """The contract keeps a sensitive attribute that is not a feature as read (text from a CSV), and
    the label join hands objects: an age column must still fall in quartile bands, not be 64
    one-age groups that leave the bound unjudged."""
    import pyarrow as pa

    from modelsteward.domain.contract import conform
    from modelsteward.domain.fairness import group_keys

    spec = parse_spec(BASE + "fairness:\n  sensitive_attributes: [age_years]\n")
    rng = np.random.default_rng(4)
    ages = rng.integers(19, 83, 400).astype(float) + 0.25
    table = pa.table(
        {
            "age": [str(v) for v in rng.normal(40, 9, 400)],
            "income": [str(v) for v in rng.normal(0, 1, 400)],
            "region": ["n"] * 400,
            "age_years": [str(a) for a in ages],
            "default": ["0", "1"] * 200,
        }
    )
    conformed = conform(table, spec, role="training").table.column("age_years")
    as_read = group_keys(conformed.to_numpy(zero_copy_only=False))
    as_objects = group_keys(ages.astype(object))  # the label join's to_numpy(dtype=object)
    assert list(as_read) == list(as_objects) == list(group_keys(ages))
    assert len(set(as_read)) == 4


def test_a_few_valued_numeric_attribute_is_one_group_per_value() -> None:
    """A 0/1 flag (or a coded band) is not cut into quartiles: with 60 % zeros every quartile edge
    is 0 or 1 and quartile bins would put every row in one group, leaving the bound unjudged."""
    from modelsteward.domain.fairness import group_keys

    flag = np.array([0.0] * 60 + [1.0] * 40)
    assert sorted(set(group_keys(flag))) == ["0", "1"]
    assert sorted(set(group_keys(np.array(["2", "1", "3"] * 10, dtype=object)))) == ["1", "2", "3"]


def test_numeric_group_names_never_quote_the_smallest_or_largest_value() -> None:
    """The youngest and the oldest person's exact ages are row values: bands are named by their
    inner cut points only."""
    from modelsteward.domain.fairness import group_keys

    ages = np.random.default_rng(2).uniform(18, 90, 500).round(3)
    names = " ".join(sorted(set(group_keys(ages))))
    for extreme in (ages.min(), ages.max()):
        assert f"{extreme:.4g}" not in names
    assert names.count("<") == 1 and ">=" in names


def test_a_group_below_the_minimum_size_keeps_its_size_only() -> None:
    """One row's selection rate, true-positive rate or metric is that row's prediction and label:
    a group too small to judge is reported with its size only, before and after training."""
    post = post_training_bias(
        policy(min_group_size=3),
        task="binary",
        metric="accuracy",
        classes=["0", "1"],
        sensitive={"sex": [*SEX, "C"]},
        y_true=[*Y, "0"],
        y_pred=[*P, "1"],
        favorable="1",
        bootstrap_rounds=0,
    )
    (c,) = [g for g in post.attributes[0].groups if g.group == "C"]
    assert (c.n, c.too_small) == (1, True)
    figures = ("selection_rate", "true_positive_rate", "false_positive_rate", "metric")
    assert [getattr(c, f) for f in figures] == [None] * 4
    assert [getattr(c, f + "_ci") for f in figures] == [None] * 4
    pre = pre_training_bias(
        policy(min_group_size=3), sensitive={"sex": [*SEX, "C"]}, y_true=[*Y, "1"], favorable="1"
    )
    (c_pre,) = [g for g in pre.attributes[0].groups if g.group == "C"]
    assert (c_pre.label_rate, c_pre.dpl) == (None, None)
    assert all(g.label_rate is not None for g in pre.attributes[0].groups if g.group != "C")


def test_an_attribute_with_too_many_values_is_not_judged_and_names_no_group() -> None:
    ids = [f"person-{i}" for i in range(120)]
    p = policy(bounds={"demographic_parity_difference": 0.1})
    report = post_training_bias(
        p,
        task="binary",
        metric=None,
        classes=["0", "1"],
        sensitive={"sex": ids},
        y_pred=["1", "0"] * 60,
        favorable="1",
        kind="batch",
    )
    (attr,) = report.attributes
    assert attr.too_many_groups == 120 and attr.groups == [] and attr.too_small == []
    verdict = judge(p, report)
    assert verdict.verdict == "unjudged" and "120 distinct values" in verdict.reasons[0]
    assert "person-" not in verdict.model_dump_json() + report.model_dump_json()


def test_large_groups_get_a_rescaled_bootstrap_interval_of_the_right_width() -> None:
    rng = np.random.default_rng(1)
    n = 12_000
    y = rng.integers(0, 2, n).astype(str)
    p = np.where(rng.random(n) < 0.8, y, np.where(y == "1", "0", "1"))
    report = post_training_bias(
        policy(),
        task="binary",
        metric="accuracy",
        classes=["0", "1"],
        sensitive={"sex": np.full(n, "F")},
        y_true=y,
        y_pred=p,
        favorable="1",
    )
    (g,) = report.attributes[0].groups
    assert g.metric_ci is not None and g.metric is not None
    lo, hi = g.metric_ci
    expected = 1.96 * np.sqrt(g.metric * (1 - g.metric) / n)  # binomial standard error of accuracy
    assert lo < g.metric < hi
    assert (hi - lo) / 2 == pytest.approx(expected, rel=0.3)


def test_numbers_with_missing_values_are_still_banded() -> None:
    from modelsteward.domain.fairness import group_keys

    ages = np.random.default_rng(5).uniform(18, 90, 200)
    holes: Any = ages.astype(object)
    holes[::10] = None
    nan_holes = ages.copy()
    nan_holes[::10] = np.nan
    for values in (
        holes,
        nan_holes.astype(object),
        np.array([str(v) if v is not None else "" for v in holes]),
    ):
        keys = list(group_keys(values))
        assert keys[0] == "(missing)" and len(set(keys)) == 5, values[:3]


def test_the_production_paths_agree_with_fairlearn_on_the_same_rows() -> None:
    """The figures a batch report (monitor_batch: predictions only) and a label batch
    (evaluate_labels: the prediction copy joined with labels) publish, through their own entry
    points and input shapes, against fairlearn on the same 900 rows; the per-group primary metric is
    ROC AUC from the stored probabilities (sklearn's roc_auc_score in a MetricFrame). The rows are
    such that the false-positive-rate gap, not the true-positive one, sets equalized odds."""
    import pandas as pd
    from fairlearn import metrics
    from sklearn.metrics import roc_auc_score

    from modelsteward.domain.fairness import batch_bias
    from modelsteward.domain.label_join import LABEL, PROBABILITY_PREFIX, SEGMENT_PREFIX, realized_fairness

    bounds = (
        "    demographic_parity_difference: 0.1\n    disparate_impact_ratio: 0.8\n"
        "    equal_opportunity_difference: 0.1\n    equalized_odds_difference: 0.1\n"
        "    primary_metric_gap: 0.05\n"
    )
    spec = parse_spec(
        BASE.replace("accuracy", "roc_auc") + "fairness:\n  sensitive_attributes: [sex]\n  bounds:\n" + bounds
    )
    rng = np.random.default_rng(11)
    n = 900
    sex = rng.choice(["F", "M", "X"], n, p=[0.45, 0.45, 0.1])
    y = rng.integers(0, 2, n)
    score = np.clip(0.5 * y + rng.normal(0.25 + 0.1 * (sex == "M"), 0.3, n), 0, 1)
    p = (score > 0.5).astype(int)
    kw = {"sensitive_features": sex}
    expected = {
        "demographic_parity_difference": metrics.demographic_parity_difference(y, p, **kw),
        "disparate_impact_ratio": metrics.demographic_parity_ratio(y, p, **kw),
        "equal_opportunity_difference": metrics.equal_opportunity_difference(y, p, **kw),
        "equalized_odds_difference": metrics.equalized_odds_difference(y, p, **kw),
    }
    frame = metrics.MetricFrame(
        metrics={
            "selection_rate": metrics.selection_rate,
            "true_positive_rate": metrics.true_positive_rate,
        },
        y_true=y,
        y_pred=p,
        sensitive_features=sex,
    )
    auc = metrics.MetricFrame(metrics=roc_auc_score, y_true=y, y_pred=score, sensitive_features=sex)
    by_group = frame.by_group
    fpr_gap = metrics.MetricFrame(
        metrics=metrics.false_positive_rate, y_true=y, y_pred=p, sensitive_features=sex
    ).difference()
    assert fpr_gap > expected["equal_opportunity_difference"]  # the FPR gap decides equalized odds here

    before_labels = batch_bias(spec, {"sex": sex.astype(object)}, p.astype(str).astype(object), ["0", "1"])
    assert before_labels is not None
    for name in ("demographic_parity_difference", "disparate_impact_ratio"):
        assert before_labels.values[name] == pytest.approx(expected[name])
    for g, rate in before_labels.selection_rates["sex"].items():
        assert rate == pytest.approx(by_group.loc[g, "selection_rate"])

    copy = pd.DataFrame(
        {
            LABEL: y.astype(str),
            "prediction": p.astype(str),
            SEGMENT_PREFIX + "sex": sex,
            PROBABILITY_PREFIX + "0": 1 - score,
            PROBABILITY_PREFIX + "1": score,
        }
    )
    realized = present(realized_fairness(copy, spec, ["0", "1"]))
    for name, value in expected.items():
        assert realized["values"][name] == pytest.approx(value), name
    assert realized["values"]["primary_metric_gap"] == pytest.approx(auc.difference())
    for g, d in realized["groups"]["sex"].items():
        assert d["selection_rate"] == pytest.approx(by_group.loc[g, "selection_rate"])
        assert d["true_positive_rate"] == pytest.approx(by_group.loc[g, "true_positive_rate"])
        assert d["metric"] == pytest.approx(auc.by_group.loc[g])

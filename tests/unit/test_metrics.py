"""domain.metrics agrees with scikit-learn on the same data, and degrades gracefully where it must."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from modelsteward.domain.metrics import (
    as_labels,
    binary_roc_auc,
    classification_metrics,
    metrics_by_segment,
    regression_metrics,
    segment_labels,
)


def _binary(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.choice(["no", "yes"], size=n, p=[0.7, 0.3])
    score = np.clip((y == "yes") * 0.3 + rng.normal(0.35, 0.2, n), 0.001, 0.999)
    proba = np.column_stack([1 - score, score])
    pred = np.where(score > 0.5, "yes", "no")
    return y, pred, proba


def _multiclass(n: int = 600, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    classes = ["a", "b", "c", "d"]
    y = rng.choice(classes, size=n)
    logits = rng.normal(0, 1, (n, 4))
    logits[np.arange(n), [classes.index(v) for v in y]] += 1.2
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    pred = np.array(classes)[proba.argmax(axis=1)]
    return y, pred, proba, classes


def test_binary_metrics_match_sklearn() -> None:
    y, pred, proba = _binary()
    got = classification_metrics(y, pred, proba, ["no", "yes"])
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred, pos_label="yes"))
    assert got["recall"] == pytest.approx(skm.recall_score(y, pred, pos_label="yes"))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred, pos_label="yes"))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y == "yes", proba[:, 1]))
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=["no", "yes"]))
    assert got["confusion_matrix"]["labels"] == ["no", "yes"]
    assert got["confusion_matrix"]["matrix"] == skm.confusion_matrix(y, pred, labels=["no", "yes"]).tolist()


def test_positive_class_is_the_second_listed() -> None:
    y, pred, proba = _binary()
    flipped = classification_metrics(y, pred, proba[:, ::-1], ["yes", "no"])
    assert flipped["precision"] == pytest.approx(skm.precision_score(y, pred, pos_label="no"))
    assert flipped["roc_auc"] == pytest.approx(skm.roc_auc_score(y == "no", proba[:, 0]))


def test_multiclass_metrics_are_macro_and_match_sklearn() -> None:
    y, pred, proba, classes = _multiclass()
    got = classification_metrics(y, pred, proba, classes)
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred, average="macro", labels=classes))
    assert got["recall"] == pytest.approx(skm.recall_score(y, pred, average="macro", labels=classes))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro", labels=classes))
    assert got["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=classes)
    )
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=classes))


def test_roc_auc_with_tied_scores_matches_sklearn() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500).astype(bool)
    score = np.round(rng.random(500) + 0.3 * y, 1)  # heavy ties
    assert binary_roc_auc(y, score) == pytest.approx(skm.roc_auc_score(y, score))


def test_single_class_slice_has_no_auc_and_says_why() -> None:
    got = classification_metrics(
        ["yes"] * 5, ["yes", "no", "yes", "yes", "yes"], np.tile([0.2, 0.8], (5, 1)), ["no", "yes"]
    )
    assert got["roc_auc"] is None
    assert "one class" in got["roc_auc_reason"]
    assert got["accuracy"] == pytest.approx(0.8)


def test_multiclass_auc_undefined_when_a_class_is_absent() -> None:
    y, pred, proba, classes = _multiclass()
    keep = y != "d"
    got = classification_metrics(y[keep], pred[keep], proba[keep], classes)
    assert got["roc_auc"] is None
    assert "'d'" in got["roc_auc_reason"]


def test_without_probabilities_auc_and_log_loss_are_none() -> None:
    y, pred, _ = _binary()
    got = classification_metrics(y, pred, None, ["no", "yes"])
    assert got["roc_auc"] is None and got["log_loss"] is None
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))


def test_regression_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(4)
    y = rng.lognormal(12, 0.4, 300)
    pred = y * rng.normal(1, 0.1, 300)
    got = regression_metrics(y, pred)
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, pred))
    assert got["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, pred)))
    assert got["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y, pred))
    assert got["r2"] == pytest.approx(skm.r2_score(y, pred))


def test_mape_skips_zero_targets_and_counts_them() -> None:
    y = np.array([0.0, 100.0, 200.0, 0.0])
    pred = np.array([5.0, 110.0, 180.0, 1.0])
    got = regression_metrics(y, pred)
    assert got["mape"] == pytest.approx((0.1 + 0.1) / 2)
    assert got["mape_skipped_zero_targets"] == 2


def test_constant_target_has_no_r2() -> None:
    got = regression_metrics([3.0, 3.0, 3.0], [2.0, 3.0, 4.0])
    assert got["r2"] is None and "constant" in got["r2_reason"]


def test_labels_are_compared_as_canonical_strings() -> None:
    assert list(as_labels([1, 1.0, "1", True, 2.5])) == ["1", "1", "1", "true", "2.5"]
    assert list(as_labels(np.array([0, 1]))) == ["0", "1"]
    assert list(as_labels(pd.Series([1.0, 0.0]))) == ["1", "0"]
    got = classification_metrics(np.array([0, 1, 1]), np.array([0.0, 1.0, 0.0]), None, ["0", "1"])
    assert got["accuracy"] == pytest.approx(2 / 3)


def test_metrics_by_segment_equal_metrics_on_the_slice_and_skip_small_ones() -> None:
    y, pred, proba = _binary(n=400)
    region = np.where(np.arange(400) < 390, "big", "tiny")
    frame = pd.DataFrame({"region": region})
    got = metrics_by_segment(
        frame,
        ["region"],
        task="binary",
        y_true=y,
        y_pred=pred,
        proba=proba,
        classes=["no", "yes"],
        min_rows=30,
    )
    big = region == "big"
    assert got["region"]["big"]["roc_auc"] == pytest.approx(skm.roc_auc_score(y[big] == "yes", proba[big, 1]))
    assert got["region"]["big"]["n"] == 390
    assert got["region"]["tiny"] == {"n": 10, "skipped": "fewer than 30 rows"}


def test_numeric_segments_are_quartile_bins_with_missing_apart() -> None:
    values = pd.Series([*range(100), None], dtype="float64")
    labels = segment_labels(values)
    assert labels.iloc[-1] == "(missing)"
    counts = labels.iloc[:-1].value_counts()
    assert len(counts) == 4 and counts.min() >= 24
    assert labels.iloc[0].startswith("[0, ")


@pytest.mark.parametrize("metric", ["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"])
def test_metric_value_equals_the_full_report(metric: str) -> None:
    from modelsteward.domain.metrics import metric_value

    y, pred, proba, classes = _multiclass()
    assert metric_value(metric, "multiclass", y, pred, proba, classes) == pytest.approx(
        classification_metrics(y, pred, proba, classes)[metric]
    )

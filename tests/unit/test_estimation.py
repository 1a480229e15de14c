"""Label-free performance estimation (CBPE): calibration, accuracy of the estimate, serialization."""

from __future__ import annotations

import json

import numpy as np
import numpy.typing as npt
import pytest
from narrowing import present
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc_score

from modelsteward.domain.estimation import (
    EstimatedPerformance,
    Estimator,
    estimation_document,
    expected_roc_auc,
    fit_estimator_for_version,
    fit_isotonic,
)


def _sigmoid(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-z))


def binary_world(n: int, rng: np.random.Generator, x0_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Truth P(y=1|x) = sigmoid(2 x0 - x1); the model is overconfident and biased (needs calibration).

    ``x0_scale`` < 1 is a covariate shift toward the decision boundary: P(y|x) is unchanged,
    but more rows are hard, so accuracy drops.
    """
    x0 = rng.normal(0.0, x0_scale, n)
    x1 = rng.normal(0.0, 1.0, n)
    logit = 2.0 * x0 - x1
    y = (rng.random(n) < _sigmoid(logit)).astype(int)
    proba = _sigmoid(1.6 * logit + 0.4)
    return proba, y


def realized(proba: np.ndarray, y: np.ndarray) -> dict[str, float]:
    pred = (proba > 0.5).astype(int)
    return {
        "accuracy": accuracy_score(y, pred),
        "precision": precision_score(y, pred),
        "recall": recall_score(y, pred),
        "f1": f1_score(y, pred),
        "roc_auc": roc_auc_score(y, proba),
        "log_loss": log_loss(y, np.column_stack([1 - proba, proba])),
    }


@pytest.fixture(scope="module")
def estimator() -> Estimator:
    rng = np.random.default_rng(7)
    proba, y = binary_world(20_000, rng)
    return Estimator.fit(proba, y, [0, 1])


# --- calibration ------------------------------------------------------------------------------
def test_pav_matches_sklearn_isotonic_regression() -> None:
    rng = np.random.default_rng(0)
    x = rng.random(3000).round(2)  # many ties
    y = (rng.random(3000) < x**2).astype(float)
    w = rng.uniform(0.5, 2.0, 3000)
    ours = fit_isotonic(x, y, w)
    ref = IsotonicRegression(out_of_bounds="clip").fit(x, y, sample_weight=w)
    grid = np.linspace(-0.2, 1.2, 501)
    np.testing.assert_allclose(ours.predict(grid), ref.predict(grid), atol=1e-12)


def test_calibration_fixes_an_overconfident_model(estimator: Estimator) -> None:
    rng = np.random.default_rng(8)
    proba, y = binary_world(20_000, rng)
    cal = estimator.calibrate(proba)[:, 1]
    bins = np.digitize(cal, np.linspace(0, 1, 11)[1:-1])
    errors = [abs(cal[bins == b].mean() - y[bins == b].mean()) for b in range(10) if (bins == b).sum() > 200]
    assert max(errors) < 0.04


# --- accuracy of the estimate ---------------------------------------------------------------------
def test_reference_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(3)
    proba, y = binary_world(5000, rng)
    est = Estimator.fit(proba, y, [0, 1])
    expected = realized(proba, y)
    for name, value in expected.items():
        assert est.reference[name] == pytest.approx(value, abs=1e-9), name


def test_estimate_is_close_to_realized_on_an_unshifted_batch(estimator: Estimator) -> None:
    rng = np.random.default_rng(11)
    proba, y = binary_world(20_000, rng)
    truth = realized(proba, y)
    result = estimator.estimate(proba)
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"):
        assert result.value(name) == pytest.approx(truth[name], abs=0.015), name
        band = result.metrics[name]
        assert band.lower is not None and band.upper is not None
        assert band.lower <= present(result.value(name)) <= band.upper


def test_estimate_tracks_a_drop_under_covariate_shift(estimator: Estimator) -> None:
    rng = np.random.default_rng(12)
    base_proba, base_y = binary_world(20_000, rng)
    shifted_proba, shifted_y = binary_world(20_000, rng, x0_scale=0.3)
    base, shifted = realized(base_proba, base_y), realized(shifted_proba, shifted_y)
    assert base["accuracy"] - shifted["accuracy"] > 0.08  # the shift really hurts
    est_base, est_shifted = estimator.estimate(base_proba), estimator.estimate(shifted_proba)
    for name in ("accuracy", "f1", "roc_auc"):
        real_drop = base[name] - shifted[name]
        est_drop = present(est_base.value(name)) - present(est_shifted.value(name))
        assert est_shifted.value(name) == pytest.approx(shifted[name], abs=0.025), name
        assert est_drop == pytest.approx(real_drop, abs=0.025), name
    drop = est_shifted.drop("accuracy", estimator.reference["accuracy"], greater_is_better=True)
    assert drop is not None and drop > 0.08


def test_band_covers_realized_accuracy_in_most_batches(estimator: Estimator) -> None:
    rng = np.random.default_rng(21)
    covered = 0
    trials = 60
    for _ in range(trials):
        proba, y = binary_world(1000, rng)
        band = estimator.estimate(proba).metrics["accuracy"]
        covered += band.lower <= accuracy_score(y, (proba > 0.5).astype(int)) <= band.upper
    assert covered / trials >= 0.85  # nominal 95%; calibration error on the reference adds a little


def test_multiclass_accuracy_estimate() -> None:
    rng = np.random.default_rng(5)

    def world(n: int, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        x = rng.normal(0.0, scale, (n, 2))
        logits = np.column_stack([x[:, 0], x[:, 1], -x[:, 0] - x[:, 1]]) * 2.0
        truth = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        y = np.array([rng.choice(3, p=p) for p in truth])
        model = np.exp(1.5 * logits) / np.exp(1.5 * logits).sum(axis=1, keepdims=True)  # overconfident
        return model, y

    ref_p, ref_y = world(15_000)
    est = Estimator.fit(ref_p, np.array(["a", "b", "c"])[ref_y], ["a", "b", "c"])
    for scale in (1.0, 0.4):
        p, y = world(15_000, scale)
        pred = p.argmax(axis=1)
        result = est.estimate(p)
        assert result.value("accuracy") == pytest.approx(accuracy_score(y, pred), abs=0.02)
        assert result.value("f1") == pytest.approx(f1_score(y, pred, average="macro"), abs=0.03)
        assert result.value("roc_auc") == pytest.approx(roc_auc_score(y, p, multi_class="ovr"), abs=0.03)
    assert np.asarray(result.expected_confusion).sum() == pytest.approx(15_000)


# --- probabilistic AUC ----------------------------------------------------------------------------
def test_expected_auc_with_hard_labels_is_sklearns_auc() -> None:
    rng = np.random.default_rng(2)
    scores = rng.random(500).round(1)  # heavy ties
    labels = (rng.random(500) < scores).astype(int)
    assert expected_roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert expected_roc_auc(scores, np.ones(500)) is None


# --- serialization and inputs ----------------------------------------------------------------------
def test_json_round_trip_gives_identical_estimates(estimator: Estimator) -> None:
    proba, _ = binary_world(2000, np.random.default_rng(4))
    loaded = estimation_document(estimator.to_json())
    assert loaded.estimate(proba) == estimator.estimate(proba)
    doc = fit_estimator_for_version(proba, (proba > 0.5).astype(int), ["0", "1"])
    assert Estimator.from_json(doc).classes == ["0", "1"]
    result = estimator.estimate(proba)
    assert EstimatedPerformance.from_json(result.to_json()) == result


def test_two_column_and_one_column_binary_probabilities_agree(estimator: Estimator) -> None:
    proba, _ = binary_world(1000, np.random.default_rng(9))
    assert estimator.estimate(proba) == estimator.estimate(np.column_stack([1 - proba, proba]))


def test_given_predictions_override_argmax(estimator: Estimator) -> None:
    proba, _ = binary_world(1000, np.random.default_rng(10))
    everything_positive = estimator.estimate(proba, predicted=["1"] * 1000)
    assert everything_positive.value("recall") == pytest.approx(1.0)


def test_bad_inputs_are_refused(estimator: Estimator) -> None:
    with pytest.raises(ValueError, match="not one of the classes"):
        Estimator.fit([0.2, 0.8], ["no", "maybe"], ["no", "yes"])
    with pytest.raises(ValueError, match="one column per class"):
        estimator.estimate(np.ones((3, 3)) / 3)
    with pytest.raises(ValueError, match="NaN"):
        estimator.estimate([0.1, np.nan])
    with pytest.raises(ValueError, match="not a valid estimator"):
        estimation_document(b"{not json")
    assert estimator.estimate(np.empty((0, 2))).value("accuracy") is None


# --- calibration choice, trust, bands (issue 23) -----------------------------------------------------
def test_small_reference_gets_a_parametric_map_and_is_flagged_untrusted() -> None:
    rng = np.random.default_rng(11)
    proba, y = binary_world(400, rng)
    est = Estimator.fit(proba, y, [0, 1])
    assert est.calibrators[0].method in ("platt", "beta")
    assert set(est.cv_log_loss[0]) == {"platt", "beta", "isotonic"}
    batch, _ = binary_world(2000, rng)
    result = est.estimate(batch)
    assert result.trusted is False and result.trust_note and "rarer class" in result.trust_note
    assert result.band_widths["roc_auc"] == pytest.approx(result.metrics["roc_auc"].width, abs=1e-6)


def test_estimated_metrics_equal_hand_computation_on_calibrated_probabilities(estimator: Estimator) -> None:
    rng = np.random.default_rng(12)
    proba, _ = binary_world(3000, rng)
    result = estimator.estimate(proba)
    c = estimator.calibrate(proba)[:, 1]
    pred = proba > 0.5
    assert result.value("accuracy") == pytest.approx(float(np.mean(np.where(pred, c, 1 - c))), abs=1e-12)
    assert result.value("roc_auc") == pytest.approx(expected_roc_auc(proba, c), abs=1e-12)
    assert result.trusted is True


def test_isotonic_map_is_not_flat_beyond_the_reference_range() -> None:
    rng = np.random.default_rng(13)
    proba, y = binary_world(5000, rng)
    proba = _sigmoid(0.4 * (np.log(proba) - np.log1p(-proba)))  # under-confident: top block below 1
    cal = Estimator.fit(proba, y, [0, 1], calibration="isotonic").calibrators[0]
    assert cal.method == "isotonic" and cal.param_method == "beta"
    lo, hi = cal.x[0], cal.x[-1]
    edge, beyond = cal.predict(np.array([hi, hi + (1 - hi) / 2]))
    assert edge < beyond < 1.0  # flat at the top block before issue 23
    low_edge, below = cal.predict(np.array([lo, lo / 2]))
    assert 0.0 < below < low_edge
    assert list(cal.beyond_range(np.array([hi + 1e-9, (lo + hi) / 2, lo - 1e-9]))) == [True, False, True]
    flat = cal.model_copy(update={"param_method": None, "param_coef": []})  # a format-1 document
    assert flat.predict(np.array([hi + (1 - hi) / 2]))[0] == pytest.approx(edge)


def test_calibration_choice_follows_the_reference_size() -> None:
    """A step-shaped calibration curve: Platt cannot follow it, isotonic can once rows suffice."""
    rng = np.random.default_rng(14)

    def world(n: int) -> tuple[np.ndarray, np.ndarray]:
        score = rng.random(n)
        truth = np.where(score < 0.5, 0.1, 0.9)  # P(y | score): a step no sigmoid of logit(p) fits
        return score, (rng.random(n) < truth).astype(int)

    big = Estimator.fit(*world(20_000), [0, 1])
    assert big.calibrators[0].method == "isotonic"
    assert big.cv_log_loss[0]["isotonic"] < min(big.cv_log_loss[0]["platt"], big.cv_log_loss[0]["beta"])
    assert big.estimate(world(2000)[0]).trusted is True
    with pytest.raises(ValueError, match="calibration must be"):
        Estimator.fit(*world(100), [0, 1], calibration="spline")


def test_format_1_documents_still_load_and_estimate(estimator: Estimator) -> None:
    old = {
        "format_version": 1,
        "classes": ["0", "1"],
        "calibrators": [{"x": [0.1, 0.9], "y": [0.2, 0.8]}],
        "reference": {"accuracy": 0.8},
        "reference_rows": 1000,
    }
    est = estimation_document(json.dumps(old))
    result = est.estimate(np.array([0.05, 0.5, 0.95]))
    assert est.calibrators[0].method == "isotonic" and result.trusted is True
    assert result.beyond_reference_share == pytest.approx(2 / 3)

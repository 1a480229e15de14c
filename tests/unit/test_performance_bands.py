"""Performance thresholds a model earns (domain.performance_bands): holdout spread, scaled to the batch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from modelsteward.domain.performance_bands import MetricNoise, drop_threshold, metric_noise
from modelsteward.spec import PerformanceAlert


def test_the_bootstrap_spread_of_accuracy_is_the_binomial_standard_error() -> None:
    rng = np.random.default_rng(3)
    n, p = 4000, 0.85
    truth = rng.integers(0, 2, n).astype(str)
    correct = rng.random(n) < p
    predicted = np.where(correct, truth, np.where(truth == "1", "0", "1"))
    noise = metric_noise("accuracy", "binary", truth, predicted, classes=["0", "1"], resamples=400, seed=1)
    assert noise is not None and noise.n == n
    accuracy = float(np.mean(correct))
    assert noise.sd == pytest.approx(math.sqrt(accuracy * (1 - accuracy) / n), rel=0.12)
    assert noise.mean == pytest.approx(accuracy, abs=0.002)


def test_the_spread_shrinks_with_the_square_root_of_the_batch_rows() -> None:
    noise = MetricNoise(metric="accuracy", sd=0.01, n=1000)
    assert noise.sd_at(4000) == pytest.approx(0.005)
    assert noise.sd_at(250) == pytest.approx(0.02)


def test_a_realized_drop_counts_the_validation_scores_own_error_and_an_estimated_one_does_not() -> None:
    alert = PerformanceAlert(min_drop=0.0, max_drop=1.0)
    noise = MetricNoise(metric="accuracy", sd=0.006, n=5000)
    realized, how = drop_threshold(alert, noise, 5000, against_validation=True)
    estimated, _ = drop_threshold(alert, noise, 5000, against_validation=False)
    assert realized == pytest.approx(3 * 0.006 * math.sqrt(2))
    assert estimated == pytest.approx(3 * 0.006)
    assert "3 sd of the accuracy drop at 5000 rows" in how


def test_the_owner_bounds_and_overrides_the_earned_threshold() -> None:
    noise = MetricNoise(metric="roc_auc", sd=0.05, n=200)
    tiny = MetricNoise(metric="roc_auc", sd=0.0001, n=50_000)
    alert = PerformanceAlert()
    capped, how = drop_threshold(alert, noise, 200, against_validation=True)
    assert capped == alert.max_drop and "bounded to [0.005, 0.05]" in how
    floored, _ = drop_threshold(alert, tiny, 50_000, against_validation=False)
    assert floored == alert.min_drop
    assert (
        drop_threshold(PerformanceAlert(drop_threshold=0.02), noise, 200, against_validation=True)[0] == 0.02
    )
    fixed, how = drop_threshold(alert, None, 5000, against_validation=True)
    assert fixed == alert.max_drop and "no holdout spread" in how


def test_too_few_rows_measure_no_spread() -> None:
    assert metric_noise("accuracy", "binary", ["1"] * 10, ["1"] * 10, classes=["0", "1"]) is None

"""Reference rows weighted to resemble the batch (domain.shift_adjust): used only when the batch
measurably differs, and then they take out what a covariate shift does to a plain CBPE estimate."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelsteward.domain.estimation import Estimator
from modelsteward.domain.shift_adjust import (
    adjust_for_batch,
    density_ratio,
    effective_rows,
    feature_arrays,
    null_auc_threshold,
    sample_frame,
)

CLASSES = ["0", "1"]


def draw(n: int, shift: float, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A model that sees x1 only, while the outcome depends on x2 too; the shift moves x2."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(0, 1, n), rng.normal(shift, 1, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.5 + 1.2 * x1 + 1.2 * x2)))).astype(int)
    score = 1 / (1 + np.exp(-(-1.5 + 1.2 * x1)))
    frame = pd.DataFrame({"x1": x1, "x2": x2, "group": np.where(x1 > 0, "a", "b")})
    return frame, np.column_stack([1 - score, score]), y


def _weights(ref: pd.DataFrame, batch: pd.DataFrame) -> Any:
    rn, rc = feature_arrays(ref, ["x1", "x2"], ["group"])
    bn, bc = feature_arrays(batch, ["x1", "x2"], ["group"])
    return density_ratio(rn, bn, rc, bc)


def test_an_unshifted_batch_keeps_every_weight_at_one() -> None:
    ref, _, _ = draw(3000, 0.0, 1)
    batch, _, _ = draw(3000, 0.0, 2)
    found = _weights(ref, batch)
    assert not found.shifted and found.domain_auc is not None
    assert found.domain_auc < null_auc_threshold(3000, 3000)
    assert np.all(found.weights == 1.0)


def test_a_shifted_batch_weights_the_rows_that_look_like_it() -> None:
    ref, _, _ = draw(3000, 0.0, 1)
    batch, _, _ = draw(3000, 0.8, 2)
    found = _weights(ref, batch)
    assert found.shifted and found.domain_auc is not None and found.domain_auc > 0.65
    assert found.weights.mean() == pytest.approx(1.0)
    assert np.corrcoef(found.weights, ref["x2"])[0, 1] > 0.7  # high x2 resembles the batch
    assert 300 < effective_rows(found.weights) < 2900


def test_weights_take_the_shift_out_of_the_estimate() -> None:
    ref, proba, y = draw(4000, 0.0, 3)
    estimator = Estimator.fit(proba, y.astype(str), CLASSES)
    sample = sample_frame(ref, proba, y, CLASSES)
    batch, batch_proba, batch_y = draw(4000, 1.0, 4)
    predicted = np.where(batch_proba[:, 1] >= 0.5, "1", "0")
    realized = float(np.mean(predicted == batch_y.astype(str)))
    plain = estimator.estimate(batch_proba, predicted)
    adjusted = adjust_for_batch(estimator, sample, batch, ["x1", "x2"], ["group"]).estimate(
        batch_proba, predicted
    )
    plain_error = abs((plain.value("accuracy") or 0.0) - realized)
    adjusted_error = abs((adjusted.value("accuracy") or 0.0) - realized)
    assert plain_error > 0.1  # the plain estimate misses the shift in what it cannot see
    assert adjusted_error < plain_error / 4
    assert adjusted.shift_adjusted and not plain.shift_adjusted
    assert adjusted.effective_reference_rows is not None and adjusted.effective_reference_rows < 4000
    # fewer effective rows: a wider band than the plain estimate's
    assert (adjusted.metrics["accuracy"].std or 0) > (plain.metrics["accuracy"].std or 0)


def test_an_unshifted_batch_gets_the_plain_estimate() -> None:
    ref, proba, y = draw(2000, 0.0, 5)
    estimator = Estimator.fit(proba, y.astype(str), CLASSES)
    batch, batch_proba, _ = draw(2000, 0.0, 6)
    adjusted = adjust_for_batch(
        estimator, sample_frame(ref, proba, y, CLASSES), batch, ["x1", "x2"], ["group"]
    )
    assert adjusted.estimate(batch_proba).metrics == estimator.estimate(batch_proba).metrics
    assert adjusted.estimate(batch_proba).shift_domain_auc is not None


def test_few_effective_rows_of_the_rarer_class_are_not_trusted() -> None:
    ref, proba, y = draw(3000, 0.0, 7)
    estimator = Estimator.fit(proba, y.astype(str), CLASSES)
    assert estimator.trust()[0]
    weights = np.where(ref["x2"].to_numpy() > 2.2, 1.0, 1e-9)  # the batch resembles a handful of rows
    trusted, note = estimator.reweighted(proba, y.astype(str), weights).trust()
    assert not trusted and note is not None and "resembles about" in note


def test_a_sample_keeps_at_most_the_cap_seeded() -> None:
    frame = pd.DataFrame({"x1": np.arange(12_000.0)})
    proba = np.column_stack([np.full(12_000, 0.5), np.full(12_000, 0.5)])
    one = sample_frame(frame, proba, ["1"] * 12_000, CLASSES, seed=3)
    assert len(one) == 10_000 and one.equals(sample_frame(frame, proba, ["1"] * 12_000, CLASSES, seed=3))
    assert list(one.columns) == ["x1", "_score_0", "_score_1", "_label"]

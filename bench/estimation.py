"""Benchmark: how well the label-free estimate (domain.estimation, CBPE-style) tracks realized quality.

Synthetic credit-like data with a known mechanism P(y | x) that stays fixed; a logistic regression
that cannot represent its interaction term (so its raw probabilities are miscalibrated). Batches
then drift (covariate shift): inputs concentrate near the decision boundary and the interaction
grows in weight, so realized accuracy/F1/ROC AUC fall batch after batch.

Per batch the table shows realized vs estimated accuracy, F1 and ROC AUC (the estimate as score_batch
makes it: the calibration refitted on holdout rows weighted to resemble the batch when it
measurably differs, domain.shift_adjust), its error and the plain CBPE estimate's error (no
weights), whether the realized accuracy lies inside the estimate's 95% band, and the time. The
summary compares the mean absolute errors with the naive assumption "performance equals the
reference".

    python bench/estimation.py [--rows 5000] [--batches 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from modelsteward.domain.estimation import Estimator
from modelsteward.domain.shift_adjust import adjust_for_batch, sample_frame

METRICS = ("accuracy", "f1", "roc_auc")
FEATURES = ["x0", "x1", "x2", "x3"]


def frame(x: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(x, columns=FEATURES)


def sample(n: int, shift: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``shift`` in [0, 1]: 0 is the training distribution; 1 the most drifted batch."""
    scale_main = 1.0 - 0.7 * shift  # x0, x1 concentrate near the boundary
    scale_inter = 1.0 + 0.6 * shift  # x2, x3 spread: the interaction the model cannot see matters more
    x = np.column_stack(
        [
            rng.normal(0.0, scale_main, n),
            rng.normal(0.0, scale_main, n),
            rng.normal(0.0, scale_inter, n),
            rng.normal(0.0, scale_inter, n),
        ]
    )
    logit = 1.8 * x[:, 0] - 1.2 * x[:, 1] + 0.6 * x[:, 2] * x[:, 3] + 0.3
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return x, y


def realized(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    pred = (proba[:, 1] > proba[:, 0]).astype(int)
    return {
        "accuracy": accuracy_score(y, pred),
        "f1": f1_score(y, pred),
        "roc_auc": roc_auc_score(y, proba[:, 1]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000, help="rows per monitored batch")
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    x_train, y_train = sample(20_000, 0.0, rng)
    x_hold, y_hold = sample(10_000, 0.0, rng)
    model = LogisticRegression(max_iter=1000).fit(x_train, y_train)
    started = time.perf_counter()
    hold_proba = model.predict_proba(x_hold)
    estimator = Estimator.fit(hold_proba, y_hold, [0, 1])
    kept = sample_frame(frame(x_hold), hold_proba, y_hold, ["0", "1"])
    fit_ms = (time.perf_counter() - started) * 1000
    reference = {m: estimator.reference[m] for m in METRICS}

    header = (
        f"{'batch':>5} {'shift':>5} | "
        + " | ".join(f"{m + ' real':>13} {'est':>6} {'err':>6} {'plain':>6}" for m in METRICS)
        + f" | {'acc in band':>11} | {'ms':>6}"
    )
    print(
        f"reference (holdout, n={len(y_hold)}): "
        + ", ".join(f"{m}={v:.4f}" for m, v in reference.items())
        + f"; estimator fitted in {fit_ms:.1f} ms"
    )
    print(header)
    print("-" * len(header))
    errors: dict[str, list[float]] = {m: [] for m in METRICS}
    plain_errors: dict[str, list[float]] = {m: [] for m in METRICS}
    naive: dict[str, list[float]] = {m: [] for m in METRICS}
    covered = 0
    for b in range(args.batches):
        shift = b / max(args.batches - 1, 1)
        x, y = sample(args.rows, shift, rng)
        proba = model.predict_proba(x)
        truth = realized(y, proba)
        t0 = time.perf_counter()
        estimate = adjust_for_batch(estimator, kept, frame(x), FEATURES, []).estimate(proba)
        ms = (time.perf_counter() - t0) * 1000
        plain = estimator.estimate(proba)
        cells = []
        for m in METRICS:
            est = estimate.value(m)
            assert est is not None
            errors[m].append(abs(est - truth[m]))
            plain_m = plain.value(m) or 0.0
            plain_errors[m].append(abs(plain_m - truth[m]))
            naive[m].append(abs(reference[m] - truth[m]))
            cells.append(f"{truth[m]:>13.4f} {est:>6.4f} {est - truth[m]:>+6.3f} {plain_m - truth[m]:>+6.3f}")
        band = estimate.metrics["accuracy"]
        inside = (
            band.lower is not None
            and band.upper is not None
            and band.lower <= truth["accuracy"] <= band.upper
        )
        covered += inside
        print(
            f"{b:>5} {shift:>5.2f} | "
            + " | ".join(cells)
            + f" | {'yes' if inside else 'no':>11} | {ms:>6.1f}"
        )
    print()
    print("mean absolute error of the estimate, the plain CBPE estimate and assuming reference performance:")
    for m in METRICS:
        print(
            f"  {m:<9} estimate MAE {np.mean(errors[m]):.4f}   plain MAE {np.mean(plain_errors[m]):.4f}"
            f"   naive MAE {np.mean(naive[m]):.4f}"
        )
    print(f"  realized accuracy inside the 95% band in {covered}/{args.batches} batches")


if __name__ == "__main__":
    main()

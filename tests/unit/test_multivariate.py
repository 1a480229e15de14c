"""Multivariate drift: the domain classifier sees what no single column shows."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pytest

from modelsteward.domain.baseline import Baseline
from modelsteward.domain.baseline_builder import build_baseline
from modelsteward.domain.drift import detect_drift
from modelsteward.domain.multivariate import cross_validated_auc, fit_logistic, multivariate_drift, roc_auc
from modelsteward.domain.profile import profile_batch
from modelsteward.spec import parse_spec

FEATURES = [f"x{i}" for i in range(6)]
SPEC = parse_spec(
    {
        "name": "mv",
        "task": "regression",
        "target": "y",
        "primary_metric": "rmse",
        "features": {"numeric": FEATURES, "categorical": ["segment"]},
    }
)


def correlated(n: int, rho: float, seed: int) -> pa.Table:
    """x0 and x1 are standard normal with correlation rho; every marginal is the same for any rho."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, len(FEATURES)))
    z[:, 1] = rho * z[:, 0] + np.sqrt(1 - rho**2) * z[:, 1]
    cols = {f: z[:, i] for i, f in enumerate(FEATURES)}
    cols["segment"] = rng.choice(["a", "b", "c"], n)
    return pa.table(cols)


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    return build_baseline(correlated(20_000, 0.8, seed=0), SPEC)


def test_a_correlation_flip_is_caught_although_no_column_drifts(baseline: Baseline) -> None:
    current = correlated(20_000, -0.8, seed=1)
    univariate = detect_drift(baseline, profile_batch(current, baseline, SPEC), SPEC.drift)
    assert not any(f.drifted for f in univariate.features)
    result = multivariate_drift(baseline, current, SPEC.drift, seed=3)
    assert result.auc is not None and result.auc >= 0.8
    assert result.drifted and result.threshold == SPEC.drift.multivariate_auc
    assert result.n_reference == result.n_current == 2000
    assert set(result.features) == {*FEATURES, "segment"}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_change_stays_near_chance(baseline: Baseline, seed: int) -> None:
    result = multivariate_drift(baseline, correlated(20_000, 0.8, seed=seed), SPEC.drift, seed=seed)
    assert result.auc == pytest.approx(0.5, abs=0.05)
    assert not result.drifted


def test_categorical_frequency_change_is_seen_too(baseline: Baseline) -> None:
    current = correlated(5_000, 0.8, seed=4)
    rng = np.random.default_rng(4)
    segment = rng.choice(["a", "b", "c", "new"], 5_000, p=[0.1, 0.1, 0.2, 0.6])
    current = current.set_column(current.schema.get_field_index("segment"), "segment", pa.array(segment))
    assert multivariate_drift(baseline, current, SPEC.drift).drifted


def test_too_few_rows_is_not_a_verdict(baseline: Baseline) -> None:
    result = multivariate_drift(baseline, correlated(50, 0.8, seed=5), SPEC.drift)
    assert result.note is not None
    assert result.auc is None and not result.drifted and "at least" in result.note


def test_missing_values_do_not_break_the_classifier(baseline: Baseline) -> None:
    current = correlated(3_000, 0.8, seed=6)
    x0 = current.column("x0").to_numpy().copy()
    x0[::3] = np.nan
    current = current.set_column(0, "x0", pa.array(x0, from_pandas=True))
    result = multivariate_drift(baseline, current, SPEC.drift)
    # a third of the batch rows are told apart by the missing value, the rest not: AUC 1/2 + 1/3 * 1/2
    assert result.auc == pytest.approx(0.5 + 1 / 6, abs=0.03)


def test_roc_auc_matches_a_pairwise_count() -> None:
    rng = np.random.default_rng(0)
    scores = np.round(rng.normal(size=60), 1)  # ties included
    y = (rng.random(60) < 0.5).astype(float)
    pos, neg = scores[y == 1], scores[y == 0]
    pairs = [(p > q) + 0.5 * (p == q) for p, q in itertools.product(pos, neg)]
    assert roc_auc(scores, y) == pytest.approx(np.mean(pairs))
    assert roc_auc(np.arange(10.0), np.r_[np.zeros(5), np.ones(5)]) == 1.0


def test_cross_validation_is_seeded() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] + rng.normal(size=400) > 0).astype(float)
    assert cross_validated_auc(x, y, seed=7) == cross_validated_auc(x, y, seed=7)
    assert cross_validated_auc(x, y, seed=7) > 0.7


def test_the_monitoring_path_imports_no_heavy_library() -> None:
    """Cold start: scikit-learn (1-5 s), pandas (~2 s) and scipy.stats (~1.5 s) stay out of monitoring."""
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        from modelsteward.spec import parse_spec
        from modelsteward.domain.baseline import Baseline
        from modelsteward.domain.baseline_builder import build_baseline
        from modelsteward.domain.contract import conform
        from modelsteward.domain.ingest import read_table
        from modelsteward.services.assessment import assess_batch
        spec = parse_spec({"name": "m", "task": "binary", "target": "y",
                           "features": {"numeric": ["a", "b"], "categorical": ["c"]}})
        rng = np.random.default_rng(0)
        def table(n):
            rows = [f"{a:.5f},{b:.5f},{c}" for a, b, c in zip(rng.normal(size=n), rng.normal(size=n),
                                                                  rng.choice(["x", "y", "z"], n))]
            text = chr(10).join(["a,b,c", *rows, ""])
            return conform(read_table(text.encode(), "batch.csv"), spec, role="reference").table
        baseline = Baseline.from_json(build_baseline(table(3000), spec).to_json())
        heavy = [m for m in ("sklearn", "pandas", "scipy.stats") if m in sys.modules]
        assess_batch(table(3000), baseline, spec, batch_id="b")
        heavy += [m for m in ("sklearn", "pandas", "scipy.stats") if m in sys.modules]
        print(",".join(sorted(set(heavy))))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""


def test_warm_started_folds_reach_the_same_weights() -> None:
    """Each fold starts from the previous fold's weights: the penalized optimum is unique, so the
    weights (and the AUC) are those of a fit from zero."""
    rng = np.random.default_rng(3)
    x = np.vstack([rng.normal(0, 1, (600, 20)), rng.normal(0.2, 1, (600, 20))])
    y = np.r_[np.zeros(600), np.ones(600)]
    cold = fit_logistic(x[:900], y[:900])
    other = fit_logistic(x[300:], y[300:])
    warm = fit_logistic(x[:900], y[:900], start=other)
    assert not np.allclose(cold, other, atol=1e-3)  # a different start...
    np.testing.assert_allclose(warm, cold, atol=1e-6)  # ...the same optimum

"""Drift verdicts on synthetic data with known truth, and the maths of each method against references."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from narrowing import present
from numpy.typing import ArrayLike
from scipy import stats

from modelsteward.domain.assessment_record import DriftResult, FeatureResult
from modelsteward.domain.baseline import Baseline, NumericBaseline
from modelsteward.domain.baseline_builder import build_baseline
from modelsteward.domain.drift import (
    METHODS,
    Distribution,
    JensenShannon,
    Psi,
    benjamini_hochberg,
    chi2_p_value,
    detect_drift,
    ks_p_value,
    numeric_distributions,
    wasserstein_distance,
)
from modelsteward.domain.profile import NumericProfile, Profile, merge_profiles, profile_batch
from modelsteward.spec import ModelSpec, parse_spec

NUMERIC = ["steady", "shift", "spread", "tiny"]
CATEGORICAL = ["cat_steady", "cat_shift"]


def spec_for(**drift: Any) -> ModelSpec:
    return parse_spec(
        {
            "name": "synthetic",
            "task": "regression",
            "target": "y",
            "primary_metric": "rmse",
            "features": {"numeric": NUMERIC, "categorical": CATEGORICAL},
            "drift": drift,
        }
    )


def make(n: int, seed: int, *, drifted: bool) -> pa.Table:
    """Known truth: when drifted, 'shift' moves 0.2 sd, 'spread' gets 1.5x the std, 'tiny' moves 0.02 sd
    (negligible) and 'cat_shift' changes its category frequencies; everything else is untouched."""
    rng = np.random.default_rng(seed)
    cats = np.array(["a", "b", "c"])
    return pa.table(
        {
            "steady": rng.normal(10, 2, n),
            "shift": rng.normal(0.2 if drifted else 0.0, 1, n),
            "spread": rng.normal(0, 1.5 if drifted else 1.0, n),
            "tiny": rng.normal(0.02 if drifted else 0.0, 1, n),
            "cat_steady": rng.choice(cats, n, p=[0.5, 0.3, 0.2]),
            "cat_shift": rng.choice(cats, n, p=[0.35, 0.3, 0.35] if drifted else [0.5, 0.3, 0.2]),
            "prediction": rng.normal(0, 1, n),
        }
    )


def run(
    n: int, *, drifted: bool, seed: int = 1, **drift: Any
) -> tuple[dict[str, FeatureResult], DriftResult, Baseline, Profile]:
    spec = spec_for(**drift)
    baseline = build_baseline(make(n, seed, drifted=False), spec)
    profile = profile_batch(make(n, seed + 100, drifted=drifted), baseline, spec)
    result = detect_drift(baseline, profile, spec.drift)
    return {f.name: f for f in result.features}, result, baseline, profile


# --- verdicts on known truth ----------------------------------------------------------------
@pytest.mark.parametrize("n", [10_000, 100_000])
def test_flags_real_shifts_and_nothing_else(n: int) -> None:
    by, result, _, _ = run(n, drifted=True)
    assert {name for name, f in by.items() if f.drifted} == {"shift", "spread", "cat_shift"}
    assert by["tiny"].severity == "none" and by["steady"].severity == "none"
    assert by["shift"].score == pytest.approx(0.2, abs=0.03)  # normalized Wasserstein = the shift in sd
    assert by["spread"].method == "wasserstein" and by["cat_shift"].method == "jensen_shannon"
    assert result.dataset.drifted_features == ["shift", "spread", "cat_shift"]
    assert result.dataset.share == pytest.approx(0.5)  # 3 of 6 features, uniform importance
    assert result.dataset.drifted


@pytest.mark.parametrize("n", [1_000, 10_000, 100_000])
def test_no_false_alarm_without_drift(n: int) -> None:
    by, result, _, _ = run(n, drifted=False, seed=3)
    assert not any(f.drifted for f in by.values())
    assert not result.dataset.drifted and result.dataset.share == 0


def test_no_false_alarm_over_many_small_batches() -> None:
    alarms = 0
    for seed in range(20):
        by, _, _, _ = run(1_000, drifted=False, seed=1000 + seed)
        alarms += sum(f.drifted for f in by.values())
    assert alarms == 0


@pytest.mark.parametrize("kind", ["numeric", "categorical", "many_categories"])
def test_noise_floor_predicts_the_score_of_two_samples_without_drift(kind: str) -> None:
    """The correction is calibrated: averaged over pairs of same-distribution samples, the plain score
    equals the predicted noise floor, and the corrected score stays below the threshold."""
    features = {"numeric": ["x"]} if kind == "numeric" else {"categorical": ["x"]}
    spec = parse_spec(
        {"name": "m", "task": "regression", "target": "y", "primary_metric": "rmse", "features": features}
    )
    rng = np.random.default_rng(42)
    k = 150 if kind == "many_categories" else 3
    probs = rng.dirichlet(np.ones(k) * 2)
    names = np.array([f"c{i}" for i in range(k)])

    def draw(n: int) -> pa.Table:
        return pa.table({"x": rng.normal(5, 2, n) if kind == "numeric" else rng.choice(names, n, p=probs)})

    raws, floors, corrected, drifted = [], [], [], 0
    for _ in range(100):
        baseline = build_baseline(draw(1_000), spec)
        (f,) = detect_drift(baseline, profile_batch(draw(1_000), baseline, spec), spec.drift).features
        assert f.raw_score is not None and f.score is not None
        raws.append(f.raw_score)
        floors.append(f.noise_floor)
        corrected.append(f.score)
        drifted += f.drifted
    power = 1 if kind == "numeric" else 2  # Jensen-Shannon: the divergence (distance squared) is additive
    # first-order approximation: with ~7 rows per category it runs ~15% low (a conservative correction)
    tolerance = 0.25 if kind == "many_categories" else 0.15
    mean_raw, mean_floor = np.mean(np.asarray(raws) ** power), np.mean(np.asarray(floors) ** power)
    assert mean_raw == pytest.approx(mean_floor, rel=tolerance)
    if kind == "many_categories":
        # 150 categories in 1000 rows: the plain distance crosses 0.1 in every no-drift batch (an
        # effect-only rule alarms 100 times); corrected, the false-alarm rate is at most the test's alpha
        assert min(raws) > 0.1
        assert np.median(corrected) < 0.1
        assert drifted <= 10
    else:
        assert max(corrected) < 0.1 and drifted == 0


def test_p_value_alone_flags_a_negligible_shift_at_a_million_rows_ours_does_not() -> None:
    spec = parse_spec(
        {
            "name": "big",
            "task": "regression",
            "target": "y",
            "primary_metric": "rmse",
            "features": {"numeric": ["tiny"]},
        }
    )
    rng = np.random.default_rng(5)
    baseline = build_baseline(pa.table({"tiny": rng.normal(0, 1, 1_000_000)}), spec)
    profile = profile_batch(pa.table({"tiny": rng.normal(0.02, 1, 1_000_000)}), baseline, spec)
    (tiny,) = detect_drift(baseline, profile, spec.drift).features
    assert tiny.p_value is not None and tiny.score is not None
    assert tiny.p_value < 1e-10  # a p-value-only rule (Evidently < 1000 rows, whylogs, Alibi) says drift
    assert tiny.score < 0.05 and not tiny.drifted and tiny.severity == "none"


def test_a_moderate_shift_is_a_warning() -> None:
    spec = parse_spec(
        {
            "name": "warn",
            "task": "regression",
            "target": "y",
            "primary_metric": "rmse",
            "features": {"numeric": ["x"]},
        }
    )
    rng = np.random.default_rng(8)
    baseline = build_baseline(pa.table({"x": rng.normal(0, 1, 100_000)}), spec)
    profile = profile_batch(pa.table({"x": rng.normal(0.07, 1, 100_000)}), baseline, spec)
    (x,) = detect_drift(baseline, profile, spec.drift).features
    # certain and far beyond its noise band (~0.01 at 100k rows): drift on its earned threshold
    assert x.score is not None and x.effect is not None and x.drift_reason is not None
    assert x.drifted and x.score < spec.drift.threshold and x.beyond_noise
    assert x.raw_score is not None
    assert x.noise_band is not None and x.raw_score > 2 * x.noise_band
    assert x.floor == 0.035 and x.effect == pytest.approx(0.07, abs=0.01) and x.effect >= x.floor
    assert x.drift_reason.startswith("beyond 2x its noise band")
    # a baseline without bands (built before them) keeps the plain threshold: only a warning
    stored = json.loads(baseline.to_json())
    del stored["columns"]["x"]["noise"]
    old = Baseline.from_json(json.dumps(stored))
    assert old.columns["x"].noise is None and old.fingerprint == baseline.fingerprint
    (y,) = detect_drift(old, profile, spec.drift).features
    assert y.severity == "warn" and not y.drifted and not y.beyond_noise and y.noise_band is None
    assert y.drift_reason is None


def test_insufficient_data_is_neither_drift_nor_counted() -> None:
    spec = spec_for(min_samples=500)
    baseline = build_baseline(make(5_000, 1, drifted=False), spec)
    profile = profile_batch(make(200, 2, drifted=True), baseline, spec)
    result = detect_drift(baseline, profile, spec.drift)
    assert {f.severity for f in result.features} == {"insufficient_data"}
    assert all(f.p_value_adjusted is None and f.score is None for f in result.features)
    assert result.dataset.evaluated_features == 0 and not result.dataset.drifted


def test_per_feature_overrides() -> None:
    by, _, _, _ = run(
        100_000,
        drifted=True,
        features={"tiny": {"threshold": 0.01, "warn_threshold": 0.005}, "shift": {"method": "psi"}},
    )
    assert by["tiny"].drifted and by["tiny"].threshold == 0.01  # lowered threshold: now it counts
    shift = by["shift"]
    assert shift.score is not None and shift.noise_band is not None and shift.drift_reason is not None
    assert shift.method == "psi" and shift.score < 0.1  # PSI is nearly blind to a 0.2 sd shift
    assert shift.floor == 0.002 and shift.noise_band < 0.01  # ...but it is far beyond its noise
    assert shift.drifted and shift.drift_reason.startswith("beyond 2x its noise band")
    assert by["tiny"].drift_reason == "above the threshold 0.01"


def test_a_numeric_only_method_on_categoricals_falls_back_with_a_note() -> None:
    by, _, _, _ = run(10_000, drifted=True, categorical_method="wasserstein")
    assert by["cat_shift"].note is not None
    assert by["cat_shift"].method == "jensen_shannon" and "does not apply" in by["cat_shift"].note
    assert by["cat_shift"].drifted


def test_dataset_share_is_weighted_by_importance() -> None:
    spec = spec_for()
    base_table = make(10_000, 1, drifted=False)
    current = make(10_000, 2, drifted=True)
    heavy = build_baseline(base_table, spec, feature_importance={"shift": 0.9, "steady": 0.1})
    light = build_baseline(base_table, spec, feature_importance={"shift": 0.02, "steady": 0.98})
    share_heavy = detect_drift(heavy, profile_batch(current, heavy, spec), spec.drift).dataset
    share_light = detect_drift(light, profile_batch(current, light, spec), spec.drift).dataset
    assert share_heavy.share == pytest.approx(0.9) and share_heavy.drifted
    assert share_light.share == pytest.approx(0.02) and not share_light.drifted


def test_prediction_drift_is_reported_apart_from_the_dataset_share() -> None:
    spec = spec_for()
    baseline = build_baseline(make(10_000, 1, drifted=False), spec)
    current = make(10_000, 2, drifted=False)
    current = current.set_column(
        current.schema.get_field_index("prediction"),
        "prediction",
        pa.array(np.random.default_rng(4).normal(1, 1, 10_000)),
    )
    result = detect_drift(baseline, profile_batch(current, baseline, spec), spec.drift)
    pred = next(f for f in result.features if f.name == "prediction")
    assert pred.kind == "prediction" and pred.drifted and result.prediction_drifted
    assert result.dataset.share == 0


def test_merged_profiles_give_the_same_verdict_as_one_batch() -> None:
    spec = spec_for()
    baseline = build_baseline(make(20_000, 1, drifted=False), spec)
    current = make(20_000, 9, drifted=True)
    whole = detect_drift(baseline, profile_batch(current, baseline, spec), spec.drift)
    halves = merge_profiles(
        [
            profile_batch(current.slice(0, 7_000), baseline, spec),
            profile_batch(current.slice(7_000), baseline, spec),
        ]
    )
    merged = detect_drift(baseline, halves, spec.drift)
    for a, b in zip(whole.features, merged.features, strict=True):
        assert a.score == pytest.approx(b.score, abs=1e-4) and a.severity == b.severity


def test_histograms_share_bins_and_hold_every_value() -> None:
    by, _, baseline, profile = run(10_000, drifted=True)
    shift = by["shift"]
    assert shift.reference_hist is not None and shift.current_hist is not None
    assert shift.current_hist.edges is not None
    assert shift.reference_hist.edges == shift.current_hist.edges
    assert sum(shift.reference_hist.counts) == baseline.columns["shift"].count
    assert sum(shift.current_hist.counts) == profile.columns["shift"].count
    assert len(shift.current_hist.edges) == len(shift.current_hist.counts) + 1
    cat = by["cat_shift"]
    assert cat.reference_hist is not None and cat.current_hist is not None
    assert cat.reference_hist.categories == ["a", "b", "c", "__other__"]
    assert sum(cat.current_hist.counts) == 10_000


def test_a_profile_of_another_baseline_is_refused() -> None:
    _, _, _, profile = run(2_000, drifted=False)
    other = build_baseline(make(2_000, 50, drifted=False), spec_for())
    with pytest.raises(ValueError, match="different baseline"):
        detect_drift(other, profile, spec_for().drift)


# --- the maths ------------------------------------------------------------------------------
def grid_pair(ref: np.ndarray, cur: np.ndarray) -> tuple[Distribution, Distribution]:
    spec = parse_spec(
        {
            "name": "m",
            "task": "regression",
            "target": "y",
            "primary_metric": "rmse",
            "features": {"numeric": ["x"]},
        }
    )
    baseline = build_baseline(pa.table({"x": ref}), spec)
    profile = profile_batch(pa.table({"x": cur}), baseline, spec)
    base, column = baseline.columns["x"], profile.columns["x"]
    assert isinstance(base, NumericBaseline) and isinstance(column, NumericProfile)
    return numeric_distributions(base, column)


@pytest.mark.parametrize(
    ("ref", "cur"),
    [
        (lambda r: r.normal(0, 1, 50_000), lambda r: r.normal(0.3, 1, 40_000)),
        (lambda r: r.normal(0, 1, 50_000), lambda r: r.normal(4, 2, 40_000)),  # mostly beyond the reference
        (lambda r: r.lognormal(0, 1, 50_000), lambda r: r.lognormal(0.2, 1.2, 40_000)),
        (lambda r: r.poisson(3, 50_000).astype(float), lambda r: r.poisson(3.5, 40_000).astype(float)),
    ],
)
def test_grid_wasserstein_and_ks_match_the_exact_statistics(
    ref: Callable[[np.random.Generator], np.ndarray], cur: Callable[[np.random.Generator], np.ndarray]
) -> None:
    rng = np.random.default_rng(11)
    a, b = ref(rng), cur(rng)
    r, c = grid_pair(a, b)
    exact = stats.wasserstein_distance(a, b)
    assert wasserstein_distance(r, c) == pytest.approx(exact, rel=0.02, abs=0.003)
    d, p = ks_p_value(r, c)
    exact_ks = stats.ks_2samp(a, b, method="asymp")
    assert d == pytest.approx(exact_ks.statistic, abs=0.003)
    assert (p < 0.05) == (exact_ks.pvalue < 0.05)


def test_identical_data_scores_zero_with_every_method() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, 20_000)
    r, c = grid_pair(x, x)
    for method in METHODS.values():
        assert method.score(r, c) == pytest.approx(0.0, abs=1e-12)
    assert ks_p_value(r, c) == (0.0, 1.0)


def cat(counts: ArrayLike) -> Distribution:
    arr = np.asarray(counts)
    return Distribution("categorical", int(arr.sum()), arr)


def test_jensen_shannon_distance_bounds_and_symmetry() -> None:
    assert JensenShannon().score(cat([10, 0]), cat([0, 10])) == pytest.approx(1.0)
    p, q = cat([50, 30, 20]), cat([35, 30, 35])
    assert JensenShannon().score(p, q) == pytest.approx(JensenShannon().score(q, p))
    m = np.array([0.425, 0.3, 0.275])
    pp, qq = np.array([0.5, 0.3, 0.2]), np.array([0.35, 0.3, 0.35])
    expected = np.sqrt(0.5 * np.sum(pp * np.log2(pp / m)) + 0.5 * np.sum(qq * np.log2(qq / m)))
    assert JensenShannon().score(p, q) == pytest.approx(expected)


def test_psi_formula_and_empty_bins_stay_finite() -> None:
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.35, 0.3, 0.35])
    assert Psi().score(cat([50, 30, 20]), cat([35, 30, 35])) == pytest.approx(np.sum((q - p) * np.log(q / p)))
    assert np.isfinite(Psi().score(cat([10, 0]), cat([0, 10])))


def test_chi_square_treats_both_sides_as_samples() -> None:
    ref, cur = [500, 300, 200, 0], [420, 310, 270, 0]
    stat, p = chi2_p_value(cat(ref), cat(cur))
    expected = stats.chi2_contingency(np.array([ref[:3], cur[:3]]), correction=False)
    assert stat == pytest.approx(expected.statistic) and p == pytest.approx(expected.pvalue)
    assert chi2_p_value(cat([10]), cat([20])) == (0.0, 1.0)


def test_benjamini_hochberg() -> None:
    adjusted = benjamini_hochberg([0.01, 0.04, 0.03, 0.5])
    assert adjusted == pytest.approx([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])
    assert benjamini_hochberg([]) == []
    assert max(benjamini_hochberg([0.9, 0.99])) <= 1.0


def test_stacked_rows_score_as_each_row_alone() -> None:
    """Noise bands score hundreds of chunks at once: each row scores what it scores alone."""
    rng = np.random.default_rng(5)
    spec = spec_for()
    data = {c: rng.normal(0, 1, 5000) for c in NUMERIC} | {c: ["a"] * 5000 for c in CATEGORICAL}
    baseline = build_baseline(pa.table(data), spec)
    base = baseline.columns["shift"]
    assert isinstance(base, NumericBaseline)
    rows = []
    for shift in (0.0, 0.3, -0.6):  # inside the reference range: stacked rows carry no tails
        batch = {c: np.clip(rng.normal(shift, 1, 300), base.min, base.max) for c in NUMERIC} | {
            c: ["a"] * 300 for c in CATEGORICAL
        }
        column = profile_batch(pa.table(batch), baseline, spec).columns["shift"]
        assert isinstance(column, NumericProfile)
        ref, current = numeric_distributions(base, column)
        rows.append(current)
    stacked = Distribution(
        "numeric",
        rows[0].n,
        np.stack([r.bins for r in rows]),
        np.stack([present(r.grid) for r in rows]),
        np.stack([present(r.positions) for r in rows]),
        ref.edges,
        scale=ref.scale,
    )
    for method in METHODS.values():
        assert method.scores(ref, stacked) == pytest.approx([method.score(ref, r) for r in rows], rel=1e-12)
    assert len({round(float(s), 6) for s in METHODS["wasserstein"].scores(ref, stacked)}) == 3


def test_pooled_rows_score_as_pool_rare_does() -> None:
    from modelsteward.domain.drift import pool_rare, pool_rare_rows

    reference = np.array([500, 300, 150, 40, 6, 4])
    current = np.array([[50, 30, 15, 4, 1, 0], [20, 40, 30, 5, 3, 2], [60, 20, 10, 10, 0, 0]])
    ref_rows, cur_rows = pool_rare_rows(reference, current)
    for method in (JensenShannon(), Psi()):
        scores = method.scores(cat(ref_rows), cat(cur_rows))
        alone = [method.score(*(cat(a) for a in pool_rare(reference, row))) for row in current]
        assert scores == pytest.approx(alone, rel=1e-12)

"""Noise bands learned from the reference, and persistence over batches (issue 22)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from narrowing import present

from modelsteward.domain.baseline_builder import build_baseline
from modelsteward.domain.drift import detect_drift, mark_persistent
from modelsteward.domain.noise import CONTIGUOUS_CHUNKS, NOISE_QUANTILE
from modelsteward.domain.persistence import persistent_features
from modelsteward.domain.profile import profile_batch
from modelsteward.spec import ModelSpec, Persistence, parse_spec


def spec_for(**drift: Any) -> ModelSpec:
    return parse_spec(
        {
            "name": "noise",
            "task": "regression",
            "target": "y",
            "primary_metric": "rmse",
            "features": {"numeric": ["x", "wobbly"], "categorical": ["c"]},
            "drift": drift,
        }
    )


def reference(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    # 'wobbly' moves its mean across the reference period: consecutive chunks see it, a bootstrap does not
    wobble = 0.3 * np.sin(np.linspace(0, 6 * np.pi, n))
    return pa.table(
        {
            "x": rng.normal(0, 1, n),
            "wobbly": rng.normal(0, 1, n) + wobble,
            "c": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
        }
    )


def test_bands_cover_the_no_drift_score_at_their_quantile() -> None:
    spec = spec_for()
    baseline = build_baseline(reference(60_000), spec)
    band = baseline.columns["x"].noise
    assert (
        band is not None and band.quantile == NOISE_QUANTILE and band.contiguous_chunks == CONTIGUOUS_CHUNKS
    )
    assert set(band.scaled) == {"wasserstein", "jensen_shannon", "psi"}
    assert set(present(baseline.columns["c"].noise).scaled) == {"jensen_shannon", "psi"}
    rng = np.random.default_rng(5)
    raw, above = [], 0
    for _ in range(60):  # batches of 5,000 rows drawn afresh from the reference distribution
        table = pa.table(
            {
                "x": rng.normal(0, 1, 5_000),
                "wobbly": rng.normal(0, 1, 5_000),
                "c": rng.choice(["a", "b", "c"], 5_000, p=[0.5, 0.3, 0.2]),
            }
        )
        (x, _, c) = detect_drift(baseline, profile_batch(table, baseline, spec), spec.drift).features
        assert x.raw_score is not None and x.noise_band is not None
        assert c.raw_score is not None and c.noise_band is not None
        raw.append(x.raw_score)
        above += (x.raw_score > x.noise_band) + (c.raw_score > c.noise_band)
        assert not x.beyond_noise and not c.beyond_noise and not x.drifted and not c.drifted
    assert above <= 4  # ~1% of 120 scores
    # the band sits above the typical no-drift score, not far above it (a useful bar, not a wall)
    assert x.noise_band is not None
    assert np.median(raw) < x.noise_band < 4 * np.median(raw)


def test_a_feature_that_moves_within_the_reference_earns_a_wider_band() -> None:
    baseline = build_baseline(reference(60_000), spec_for())
    steady = present(baseline.columns["x"].noise).scaled["wasserstein"]
    wobbly = present(baseline.columns["wobbly"].noise).scaled["wasserstein"]
    assert wobbly > 3 * steady


def test_bands_scale_with_the_batch_size_and_shrink_the_bar_to_the_floor() -> None:
    spec = spec_for()
    baseline = build_baseline(reference(60_000), spec)
    band = baseline.columns["x"].noise
    assert band is not None
    small, large = band.at("wasserstein", 60_000, 1_000), band.at("wasserstein", 60_000, 100_000)
    assert small == pytest.approx(band.scaled["wasserstein"] * np.sqrt(1 / 1_000 + 1 / 60_000))
    assert small is not None and large is not None
    assert large < small / 4 and band.at("unknown", 60_000, 1_000) is None


def test_short_references_get_no_band_and_keep_the_plain_rule() -> None:
    baseline = build_baseline(reference(150), spec_for())
    assert all(c.noise is None for c in baseline.columns.values())


def test_a_negligible_shift_is_never_beyond_noise_however_certain() -> None:
    spec = spec_for()
    baseline = build_baseline(reference(200_000), spec)
    rng = np.random.default_rng(9)
    table = pa.table(
        {
            "x": rng.normal(0.02, 1, 200_000),  # 0.02 sd: certain at this size, below the 0.035 floor
            "wobbly": rng.normal(0, 1, 200_000),
            "c": rng.choice(["a", "b", "c"], 200_000, p=[0.5, 0.3, 0.2]),
        }
    )
    (x, _, _) = detect_drift(baseline, profile_batch(table, baseline, spec), spec.drift).features
    assert x.p_value_adjusted is not None and x.raw_score is not None and x.noise_band is not None
    assert x.effect is not None and x.floor is not None
    assert x.p_value_adjusted < 0.01 and x.raw_score > x.noise_band
    assert x.effect < x.floor and not x.beyond_noise and not x.drifted
    lowered = spec_for(features={"x": {"floor": 0.01}})
    (x2, _, _) = detect_drift(baseline, profile_batch(table, baseline, lowered), lowered.drift).features
    assert x2.floor == 0.01 and x2.beyond_noise and x2.drifted  # the owner's floor decides


def test_persistence_m_of_n_with_since_and_reason() -> None:
    history = [{"a": False, "b": True}, {"a": False, "b": False}] + [
        {"a": True, "b": i == 0} for i in range(6)
    ]
    found = persistent_features(history)
    assert set(found) == {"a"}
    a = found["a"]
    assert (a.since, a.beyond, a.of) == (2, 6, 6)
    assert a.reason == "persistent: 6 of the last 6 batches beyond the noise band"
    # 3 of 4 with a gap still holds; 2 of 4 does not; missing flags count as not beyond
    assert "a" in persistent_features([{"a": True}, {"a": False}, {"a": True}, {"a": True}])
    assert persistent_features([{"a": True}, {"a": None}, {}, {"a": True}]) == {}
    gap = persistent_features([{"a": True}, {"a": False}, {"a": True}, {"a": True}])["a"]
    assert (gap.since, gap.beyond, gap.of) == (0, 3, 4)
    assert persistent_features([]) == {}


def test_persistence_is_configurable_and_validated() -> None:
    flags = [{"a": True}, {"a": True}]
    assert persistent_features(flags, Persistence(batches=2, min_beyond_noise=2))
    assert not persistent_features(flags)  # default 3 of 4
    with pytest.raises(ValueError):
        Persistence(batches=2, min_beyond_noise=3)
    assert spec_for(persistence={"batches": 6, "min_beyond_noise": 4}).drift.persistence.batches == 6


def test_persistence_needs_the_windows_mean_effect_to_reach_the_floor() -> None:
    flags = [{"a": True}] * 4
    low = [{"a": 0.03}] * 4
    assert not persistent_features(flags, effects=low, floors={"a": 0.035})
    high = [{"a": 0.05}, {"a": 0.02}, {"a": 0.04}, {"a": 0.06}]
    assert persistent_features(flags, effects=high, floors={"a": 0.035})


def test_mark_persistent_makes_drift_with_the_reason_and_recounts_the_share() -> None:
    spec = spec_for()
    baseline = build_baseline(reference(20_000), spec)
    result = detect_drift(baseline, profile_batch(reference(5_000, seed=3), baseline, spec), spec.drift)
    assert not result.dataset.drifted
    marked = mark_persistent(result, {"x": "persistent: 6 of the last 6 batches beyond the noise band"})
    x = next(f for f in marked.features if f.name == "x")
    assert x.drift_reason is not None
    assert x.drifted and x.severity == "drift" and x.drift_reason.startswith("persistent: 6 of")
    assert marked.dataset.drifted_features == ["x"] and marked.dataset.share == pytest.approx(1 / 3)


def test_category_codes_follow_the_baselines_categories_in_row_order() -> None:
    from modelsteward.domain.baseline import category_codes

    column = pa.chunked_array([pa.array(["b", None, "a", "zz", "b"]), pa.array(["a"])])
    assert category_codes(column, ["b", "a"]).tolist() == [0, 1, 2, 0, 1]  # null dropped, unseen = other
    coded = pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 1], type=pa.int8()), pa.array(["x", "b"]))
    assert category_codes(coded, ["b"]).tolist() == [1, 0, 0]


def test_the_sensitivity_benchmark_finds_modest_shifts_and_never_negligible_ones(tmp_path: Path) -> None:
    """bench/sensitivity.py, ours only: >= 95% of the shifted feature-chunks over the episode, no
    negligible or untouched feature ever flagged; the plain threshold finds none of them."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "sensitivity.py"
    loader = importlib.util.spec_from_file_location("sensitivity_bench", path)
    assert loader and loader.loader
    bench = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(bench)
    results = bench.ours(bench.generate(tmp_path))
    episode = bench.score(results["ours (batch verdict + persistence, episode)"])
    assert episode["recall"] >= 0.95 and episode["quiet_features_ever_flagged"] == []
    assert episode["false_feature_chunks"] == 0
    at_decision = bench.score(results["ours (batch verdict + persistence, at decision)"])
    alone = bench.score(results["ours (batch verdict alone)"])
    assert alone["found"] <= at_decision["found"] <= episode["found"]
    assert bench.score(results["ours, plain threshold (no noise bands)"])["found"] == 0


def test_the_drift_timeline_shows_which_features_are_persistent() -> None:
    from modelsteward.domain.timeline import DriftTimeline, TimelinePoint, persistent_now
    from modelsteward.reporting import render_drift_timeline

    def point(i: int, beyond: bool, effect: float) -> TimelinePoint:
        return TimelinePoint.model_validate(
            {
                "at": f"2026-01-{i + 1:02d}T00:00:00+00:00",
                "batch_id": f"b{i}",
                "drifted_share": 0.0,
                "threshold": 0.3,
                "verdict": "ok",
                "features": [
                    {
                        "name": "age",
                        "score": 0.04,
                        "threshold": 0.1,
                        "beyond_noise": beyond,
                        "effect": effect,
                        "floor": 0.035,
                    },
                    {
                        "name": "income",
                        "score": 0.01,
                        "threshold": 0.1,
                        "beyond_noise": False,
                        "effect": 0.0,
                        "floor": 0.035,
                    },
                ],
            }
        )

    points = [point(i, i >= 2, 0.05 if i >= 2 else 0.0) for i in range(8)]
    persistent = persistent_now(points)
    assert persistent == {"age": "persistent: 6 of the last 6 batches beyond the noise band"}
    assert persistent_now([]) == {} and persistent_now(points[:4]) == {}  # 2 of 4: not yet
    # a modest effect under the floor on average is not persistent, however often beyond the band
    assert persistent_now([point(i, True, 0.03) for i in range(6)]) == {}
    page = render_drift_timeline(DriftTimeline(model="m", points=points, persistent=persistent))
    assert ">Persistent<" in page and "persistent: 6 of the last 6 batches beyond the noise band" in page
    assert ">6 of 8<" in page and ">0 of 8<" in page  # the Beyond noise column
    assert ">Persistent<" not in render_drift_timeline(DriftTimeline(model="m", points=points))


def test_the_drift_timeline_takes_persistence_from_the_latest_batch_verdict() -> None:
    from modelsteward.domain.timeline import TimelinePoint, persistent_now

    def point(i: int, reason: str | None) -> TimelinePoint:
        entry = {
            "name": "age",
            "score": 0.04,
            "threshold": 0.1,
            "beyond_noise": True,
            "effect": 0.05,
            "floor": 0.035,
            "drift_reason": reason,
        }
        return TimelinePoint.model_validate(
            {"at": f"2026-01-{i + 1:02d}T00:00:00+00:00", "batch_id": f"b{i}", "features": [entry]}
        )

    live = "persistent: 2 of the last 2 batches beyond the noise band"  # a spec with its own rule
    assert persistent_now([point(0, None), point(1, live)]) == {"age": live}
    # the verdict said no (e.g. its spec asks 4 of 4): the page does not second-guess it
    assert persistent_now([point(i, None) for i in range(4)]) == {}
    assert persistent_now([point(0, None), point(1, "above the threshold 0.1")]) == {}

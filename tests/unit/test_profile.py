"""Baselines and batch profiles: exact bins, one pass, mergeable without re-reading data."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelsteward.domain.baseline import (
    COARSE_BINS,
    Baseline,
    CategoricalBaseline,
    NumericBaseline,
    float_array,
    monitored_columns,
    sorted_distinct,
    summarize_grid,
    summarize_sorted_grid,
    value_counts,
)
from modelsteward.domain.baseline_builder import build_baseline
from modelsteward.domain.profile import (
    CategoricalProfile,
    NumericProfile,
    Profile,
    grid_counts,
    merge_profiles,
    profile_batch,
)
from modelsteward.spec import parse_spec

SPEC = parse_spec(
    {
        "name": "shop",
        "task": "regression",
        "target": "spend",
        "primary_metric": "rmse",
        "features": {"numeric": ["income", "visits"], "categorical": ["region"]},
    }
)


def frame(n: int, seed: int, *, income_shift: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "id": [f"{seed}-{i}" for i in range(n)],
            "income": rng.normal(50 + income_shift, 10, n),
            "visits": rng.poisson(3, n).astype(float),
            "region": rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2]),
            "prediction": rng.normal(100, 20, n),
            "spend": rng.normal(100, 25, n),
        }
    )


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    return build_baseline(frame(20_000, 0), SPEC, feature_importance={"income": 3, "visits": 1})


def searchsorted_counts(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.bincount(np.searchsorted(edges, x, side="left"), minlength=len(edges) + 1)


# --- reading columns ------------------------------------------------------------------------
def test_float_array_reads_nulls_nan_offsets_and_chunks() -> None:
    arr = pa.array([1.0, None, float("nan"), 4.0, 5.0]).slice(1)
    values = float_array(arr)
    assert np.isnan(values[0]) and np.isnan(values[1])
    assert values[2:].tolist() == [4.0, 5.0]
    chunked = pa.chunked_array([pa.array([1, 2], pa.int64()), pa.array([None, 7], pa.int64())])
    out = float_array(chunked)
    assert out[:2].tolist() == [1.0, 2.0] and np.isnan(out[2]) and out[3] == 7.0


def test_value_counts_counts_dictionary_and_nulls() -> None:
    vc = value_counts(pa.chunked_array([pa.array(["a", None, "b"]), pa.array(["a", "a"])]))
    assert dict(zip(vc.values, vc.counts.tolist(), strict=True)) == {"a": 3, "b": 1}
    assert vc.missing == 1
    dict_arr = pa.array(["x", "y", "x", None]).dictionary_encode()
    vc = value_counts(dict_arr)
    assert dict(zip(vc.values, vc.counts.tolist(), strict=True)) == {"x": 2, "y": 1} and vc.missing == 1


# --- baseline -------------------------------------------------------------------------------
def test_monitored_columns_cover_features_prediction_and_label_when_present() -> None:
    cols = monitored_columns(SPEC, ["income", "visits", "region", "prediction", "spend"])
    assert [(c.name, c.role, c.data_type) for c in cols] == [
        ("income", "feature", "numeric"),
        ("visits", "feature", "numeric"),
        ("region", "feature", "categorical"),
        ("prediction", "prediction", "numeric"),
        ("spend", "label", "numeric"),
    ]
    without_outcomes = monitored_columns(SPEC, ["income", "visits", "region"])
    assert [c.name for c in without_outcomes] == ["income", "visits", "region"]


def test_numeric_baseline_grid_holds_equal_reference_mass(baseline: Baseline) -> None:
    income = baseline.columns["income"]
    assert isinstance(income, NumericBaseline)
    edges = np.asarray(income.edges)
    assert not income.discrete and len(edges) > 900
    assert np.all(np.diff(edges) > 0)
    assert sum(income.grid_counts) == income.count == 20_000
    assert income.grid_counts[-1] == 0  # nothing above the reference maximum
    inner = np.asarray(income.grid_counts[1:-1])
    assert inner.min() >= 15 and inner.max() <= 25  # 20 rows per 1/1000 quantile
    assert set(income.coarse_edges) <= set(income.edges)
    assert len(income.coarse_edges) == COARSE_BINS - 1
    assert income.min == edges[0] and income.max == edges[-1]
    assert income.range_low < income.min and income.range_high > income.max


def test_discrete_column_keeps_every_value(baseline: Baseline) -> None:
    visits = baseline.columns["visits"]
    assert isinstance(visits, NumericBaseline)
    assert visits.discrete and visits.integral
    assert visits.edges == sorted(set(visits.edges))
    assert visits.edges[0] == 0.0


def test_categorical_baseline_and_importance(baseline: Baseline) -> None:
    region = baseline.columns["region"]
    assert isinstance(region, CategoricalBaseline)
    assert region.categories[0] == "north" and set(region.categories) == {"north", "south", "east"}
    assert region.domain_complete and region.other == 0
    assert baseline.feature_importance == {"income": 0.75, "visits": 0.25, "region": 0.0}
    assert baseline.sample.rows == 2000
    assert set(baseline.sample.numeric) == {"income", "visits"}
    assert set(baseline.sample.categorical) == {"region"}


def test_top_categories_and_other_bucket() -> None:
    spec = parse_spec({"name": "m", "task": "binary", "target": "y", "features": {"categorical": ["c"]}})
    values = [f"v{i}" for i in range(300) for _ in range(300 - i)]
    b = build_baseline(pa.table({"c": values}), spec)
    c = b.columns["c"]
    assert isinstance(c, CategoricalBaseline)
    assert len(c.categories) == 200 and c.categories[0] == "v0"
    assert not c.domain_complete and c.distinct == 300
    assert c.other == sum(300 - i for i in range(200, 300))


def test_baseline_json_round_trip_and_uniform_importance() -> None:
    b = build_baseline(frame(2000, 1), SPEC)
    again = Baseline.from_json(b.to_json())
    assert again == b
    assert again.feature_importance == pytest.approx({"income": 1 / 3, "visits": 1 / 3, "region": 1 / 3})
    assert b.fingerprint and b.schema_version == "1.0"


# --- binning --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "draw",
    [
        lambda r, n: r.standard_normal(n),
        lambda r, n: r.lognormal(0, 1, n),
        lambda r, n: r.pareto(1.0, n),  # heavy tail: the lookup switches to a log scale
        lambda r, n: r.poisson(3, n).astype(float),
        lambda r, n: np.round(r.standard_normal(n), 1),  # ~80 distinct values
    ],
)
def test_grid_counts_match_a_binary_search(draw: Callable[[np.random.Generator, int], np.ndarray]) -> None:
    rng = np.random.default_rng(7)
    reference = draw(rng, 20_000)
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, 1001), method="inverted_cdf"))
    current = np.concatenate([draw(rng, 50_000), edges[:50], [edges[0] - 1, edges[-1] + 1e9]])
    assert np.array_equal(grid_counts(current, edges), searchsorted_counts(current, edges))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=200),
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=300),
)
def test_grid_counts_are_exact_for_any_values(edges_raw: list[float], values: list[float]) -> None:
    edges = np.unique(np.asarray(edges_raw))
    x = np.asarray(values + edges_raw)
    assert np.array_equal(grid_counts(x, edges), searchsorted_counts(x, edges))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False) | st.sampled_from([0.0, -0.0, 1.0]), max_size=200))
def test_sorted_distinct_equals_unique(values: list[float]) -> None:
    x = np.sort(np.asarray(values, dtype=float))
    assert np.array_equal(sorted_distinct(x), np.unique(x))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=0, max_size=200),
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=300),
)
def test_sorted_grid_summary_equals_the_binned_one(edges_raw: list[float], values: list[float]) -> None:
    """The baseline bins its sorted reference by run boundaries: same counts, same positions."""
    edges = np.unique(np.asarray(edges_raw))
    x = np.sort(np.asarray(values + edges_raw[:5]))
    binned, runs = summarize_grid(x, edges), summarize_sorted_grid(x, edges)
    assert np.array_equal(binned.counts, runs.counts)
    np.testing.assert_allclose(runs.positions, binned.positions, atol=2e-4)


# --- profiles -------------------------------------------------------------------------------
def test_profile_counts_moments_and_tails(baseline: Baseline) -> None:
    table = frame(5000, 2, income_shift=30)
    p = profile_batch(table, baseline, SPEC, batch_id="b1")
    income = p.columns["income"]
    ref = baseline.columns["income"]
    assert isinstance(income, NumericProfile) and isinstance(ref, NumericBaseline)
    x = table.column("income").to_numpy()
    assert income.count == 5000 and sum(income.grid_counts) == 5000
    assert income.mean == pytest.approx(x.mean()) and income.std == pytest.approx(x.std(ddof=1))
    assert (income.min, income.max) == (x.min(), x.max())
    ref_max = ref.max
    above = x[x > ref_max]
    assert income.count_above == len(above) > 0
    assert income.sum_above == pytest.approx(above.sum())
    assert income.out_of_range == int((x > ref.range_high).sum() + (x < ref.range_low).sum())
    assert p.rows == 5000 and p.batch_ids == ["b1"] and p.duplicate_ids == 0
    assert p.missing_columns == []  # spend (label) is present in this frame


def test_profile_of_the_reference_reproduces_its_bins(baseline: Baseline) -> None:
    p = profile_batch(frame(20_000, 0), baseline, SPEC)
    income, base_income = p.columns["income"], baseline.columns["income"]
    region, base_region = p.columns["region"], baseline.columns["region"]
    assert isinstance(income, NumericProfile) and isinstance(base_income, NumericBaseline)
    assert isinstance(region, CategoricalProfile) and isinstance(base_region, CategoricalBaseline)
    assert income.grid_counts == base_income.grid_counts
    assert region.counts == base_region.counts


def test_profile_nulls_unseen_categories_duplicates_and_absent_columns(baseline: Baseline) -> None:
    table = pa.table(
        {
            "id": ["a", "a", "b", None],
            "income": [1.0, None, float("nan"), float("inf")],
            "visits": [1.0, 2.0, 3.0, 4.0],
            "region": ["north", "west", "west", None],
        }
    )
    p = profile_batch(table, baseline, SPEC)
    income = p.columns["income"]
    assert isinstance(income, NumericProfile)
    assert (income.count, income.missing, income.non_finite) == (1, 2, 1)
    region = p.columns["region"]
    assert isinstance(region, CategoricalProfile)
    assert region.count == 3 and region.missing == 1 and region.other == 2
    assert region.top_other == {"west": 2}
    assert p.duplicate_ids == 1
    assert p.missing_columns == ["prediction", "spend"]


def test_time_range_from_the_timestamp_column(baseline: Baseline) -> None:
    table = frame(100, 3).append_column(
        "timestamp", pa.array(np.array(["2026-01-02T00:00", "2026-01-01T12:00"] * 50, dtype="datetime64[us]"))
    )
    p = profile_batch(table, baseline, SPEC)
    assert p.time_min == "2026-01-01T12:00:00" and p.time_max == "2026-01-02T00:00:00"


def test_merging_profiles_equals_profiling_the_union(baseline: Baseline) -> None:
    parts = [frame(3000, s, income_shift=s) for s in (11, 12, 13)]
    whole = profile_batch(pa.concat_tables(parts), baseline, SPEC, batch_id="all")
    merged = merge_profiles([profile_batch(t, baseline, SPEC, batch_id=f"p{i}") for i, t in enumerate(parts)])
    assert merged.rows == whole.rows and merged.batch_ids == ["p0", "p1", "p2"]
    for name in ("income", "visits", "prediction"):
        m, w = merged.columns[name], whole.columns[name]
        assert isinstance(m, NumericProfile) and isinstance(w, NumericProfile)
        assert m.grid_counts == w.grid_counts and m.count == w.count
        assert m.grid_positions == pytest.approx(w.grid_positions, abs=2e-4)
        assert m.mean == pytest.approx(w.mean) and m.m2 == pytest.approx(w.m2)
        assert (m.min, m.max, m.count_above, m.out_of_range) == (w.min, w.max, w.count_above, w.out_of_range)
        assert m.sum_above == pytest.approx(w.sum_above) and m.sum_below == pytest.approx(w.sum_below)
    merged_region, whole_region = merged.columns["region"], whole.columns["region"]
    assert isinstance(merged_region, CategoricalProfile) and isinstance(whole_region, CategoricalProfile)
    assert merged_region.counts == whole_region.counts
    assert Profile.from_json(merged.to_json()) == merged


def test_profiles_of_different_baselines_do_not_merge(baseline: Baseline) -> None:
    other = build_baseline(frame(2000, 9), SPEC)
    a = profile_batch(frame(100, 1), baseline, SPEC)
    b = profile_batch(frame(100, 1), other, SPEC)
    with pytest.raises(ValueError, match="different baselines"):
        merge_profiles([a, b])
    with pytest.raises(ValueError):
        merge_profiles([])


def test_threaded_profile_equals_serial(baseline: Baseline) -> None:
    table = frame(60_000, 5)
    serial = profile_batch(table, baseline, SPEC, workers=1)
    threaded = profile_batch(table, baseline, SPEC, workers=2)
    assert serial == threaded

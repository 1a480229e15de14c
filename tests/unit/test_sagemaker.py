"""SageMaker Model Monitor formats written from our baseline and batch results."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pytest

from modelsteward.domain.baseline import Baseline, NumericBaseline
from modelsteward.domain.baseline_builder import build_baseline
from modelsteward.domain.drift import detect_drift
from modelsteward.domain.profile import profile_batch
from modelsteward.domain.quality import evaluate_quality
from modelsteward.domain.sagemaker import (
    CHECK_TYPES,
    constraint_violations_json,
    constraints_json,
    statistics_json,
)
from modelsteward.spec import parse_spec

SPEC = parse_spec(
    {
        "name": "sm",
        "task": "binary",
        "target": "label",
        "features": {"numeric": ["age", "balance"], "categorical": ["plan"]},
        "drift": {"threshold": 0.12},
    }
)


def table(
    n: int, seed: int, *, age_shift: float = 0.0, plans: tuple[str, ...] = ("basic", "pro")
) -> pa.Table:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n).astype(float) + age_shift
    age[:10] = np.nan
    return pa.table(
        {
            "age": pa.array(age, from_pandas=True),
            "balance": rng.normal(0, 1000, n),
            "plan": rng.choice(list(plans), n),
            "prediction": rng.choice(["0", "1"], n),
        }
    )


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    return build_baseline(table(4_000, 0), SPEC)


def test_statistics_json(baseline: Baseline) -> None:
    stats = statistics_json(baseline)
    assert stats["dataset"]["item_count"] == 4_000
    by = {f["name"]: f for f in stats["features"]}
    age = by["age"]
    assert age["inferred_type"] == "Integral"
    num = age["numerical_statistics"]
    assert num["common"] == {"num_present": 3_990, "num_missing": 10}
    assert num["sum"] == pytest.approx(num["mean"] * 3_990)
    assert num["min"] == 18 and num["max"] == 79
    buckets = num["distribution"]["kll"]["buckets"]
    assert sum(b["count"] for b in buckets) == 3_990
    assert buckets[0]["lower_bound"] == 18 and buckets[-1]["upper_bound"] == 79
    assert all(b["lower_bound"] < b["upper_bound"] for b in buckets)
    age = baseline.columns["age"]
    assert isinstance(age, NumericBaseline)
    assert num["distribution"]["kll"]["sketch"]["data"][0] == age.edges
    assert by["balance"]["inferred_type"] == "Fractional"
    plan = by["plan"]["string_statistics"]
    assert plan["distinct_count"] == 2
    assert {b["value"] for b in plan["distribution"]["categorical"]["buckets"]} == {"basic", "pro"}
    json.dumps(stats, allow_nan=False)


def test_constraints_json(baseline: Baseline) -> None:
    doc = constraints_json(baseline, SPEC.drift)
    by = {f["name"]: f for f in doc["features"]}
    assert by["age"]["completeness"] == pytest.approx(3_990 / 4_000)
    assert by["age"]["num_constraints"] == {"is_non_negative": True}
    assert by["balance"]["num_constraints"] == {"is_non_negative": False}
    assert sorted(by["plan"]["string_constraints"]["domains"]) == ["basic", "pro"]
    assert by["plan"]["inferred_type"] == "String"
    dist = doc["monitoring_config"]["distribution_constraints"]
    assert dist["comparison_threshold"] == 0.12 and dist["perform_comparison"] == "Enabled"


def test_constraint_violations_json(baseline: Baseline) -> None:
    current = table(3_000, 1, age_shift=15, plans=("basic", "pro", "gold"))
    profile = profile_batch(current, baseline, SPEC)

    @dataclass(frozen=True)
    class Finding:
        check: str
        column: str | None
        severity: str
        message: str
        count: int

    findings = [Finding("type_mismatch", "balance", "error", "2 values of 'balance' are not numbers", 2)]
    drift = detect_drift(baseline, profile, SPEC.drift)
    quality = evaluate_quality(profile, baseline, SPEC.quality, findings)
    doc = constraint_violations_json(drift, quality, extra_columns=["notes"])
    found = {(v["feature_name"], v["constraint_check_type"]) for v in doc["violations"]}
    assert ("age", "baseline_drift_check") in found
    assert ("plan", "categorical_values_check") in found
    assert ("balance", "data_type_check") in found
    assert ("notes", "extra_column_check") in found
    assert {v["constraint_check_type"] for v in doc["violations"]} <= set(CHECK_TYPES)
    assert all(v["description"] for v in doc["violations"])


def test_no_violations_for_a_clean_batch(baseline: Baseline) -> None:
    profile = profile_batch(table(3_000, 2), baseline, SPEC)
    doc = constraint_violations_json(
        detect_drift(baseline, profile, SPEC.drift), evaluate_quality(profile, baseline, SPEC.quality)
    )
    assert doc == {"violations": []}

"""Data quality against the baseline's schema and the spec's QualityPolicy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pytest

from modelsteward.domain.assessment_record import QualityResult
from modelsteward.domain.baseline import Baseline, CategoricalBaseline
from modelsteward.domain.baseline_builder import build_baseline
from modelsteward.domain.profile import profile_batch
from modelsteward.domain.quality import evaluate_quality
from modelsteward.spec import QualityPolicy, parse_spec

SPEC = parse_spec(
    {
        "name": "q",
        "task": "binary",
        "target": "y",
        "features": {"numeric": ["amount", "sparse"], "categorical": ["channel"]},
    }
)


@dataclass(frozen=True)
class Finding:
    check: str
    column: str | None
    severity: str
    message: str
    count: int = 0


def reference(n: int = 5_000) -> pa.Table:
    rng = np.random.default_rng(0)
    sparse = rng.normal(size=n)
    sparse[: n // 2] = np.nan  # the reference itself is half empty here
    return pa.table(
        {
            "id": [str(i) for i in range(n)],
            "amount": rng.uniform(0, 100, n),
            "sparse": pa.array(sparse, from_pandas=True),
            "channel": rng.choice(["web", "app", "store"], n),
            "prediction": rng.choice(["0", "1"], n),
        }
    )


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    return build_baseline(reference(), SPEC)


def batch(
    n: int = 1_000, *, missing: float = 0.0, outside: float = 0.0, unseen: float = 0.0, dup: int = 0
) -> pa.Table:
    rng = np.random.default_rng(1)
    amount = rng.uniform(0, 100, n)
    amount[: int(outside * n)] = 250.0
    amount[int(outside * n) : int(outside * n) + int(missing * n)] = np.nan
    channel = rng.choice(["web", "app", "store"], n).astype(object)
    channel[: int(unseen * n)] = "kiosk"
    ids = [str(i) for i in range(n)]
    ids[:dup] = ["0"] * dup
    return pa.table(
        {
            "id": ids,
            "amount": pa.array(amount, from_pandas=True),
            "sparse": pa.array(np.where(rng.random(n) < 0.5, np.nan, 1.0), from_pandas=True),
            "channel": pa.array(list(channel)),
            "prediction": rng.choice(["0", "1"], n),
        }
    )


def checks(result: QualityResult) -> dict[tuple[str, str | None], float]:
    return {(v.check, v.column): v.observed for v in result.violations}


def test_a_clean_batch_passes(baseline: Baseline) -> None:
    result = evaluate_quality(profile_batch(batch(), baseline, SPEC), baseline, SPEC.quality)
    assert result.passed and not result.quarantine


def test_completeness_out_of_range_unseen_and_duplicates(baseline: Baseline) -> None:
    profile = profile_batch(batch(missing=0.3, outside=0.1, unseen=0.2, dup=100), baseline, SPEC)
    found = checks(evaluate_quality(profile, baseline, SPEC.quality))
    assert found[("completeness", "amount")] == pytest.approx(0.3)
    assert found[("out_of_range", "amount")] == pytest.approx(0.1 / 0.7)
    assert found[("unseen_categories", "channel")] == pytest.approx(0.2)
    assert found[("duplicate_ids", None)] == pytest.approx(0.099)
    assert ("completeness", "sparse") not in found  # as incomplete as the reference was: no violation


def test_messages_name_the_column_and_the_limit(baseline: Baseline) -> None:
    result = evaluate_quality(profile_batch(batch(unseen=0.2), baseline, SPEC), baseline, SPEC.quality)
    (violation,) = result.violations
    assert violation.threshold == SPEC.quality.max_unseen_category_share
    assert "channel" in violation.message and "'kiosk'" in violation.message and "5.00%" in violation.message


def test_a_column_getting_emptier_than_its_reference_violates(baseline: Baseline) -> None:
    table = batch()
    table = table.set_column(2, "sparse", pa.array(np.full(1_000, np.nan), from_pandas=True))
    found = checks(evaluate_quality(profile_batch(table, baseline, SPEC), baseline, SPEC.quality))
    assert found[("completeness", "sparse")] == 1.0


def test_row_count_and_missing_monitored_columns(baseline: Baseline) -> None:
    table = batch(3).drop_columns(["prediction"])
    policy = QualityPolicy(min_rows=10)
    found = checks(evaluate_quality(profile_batch(table, baseline, SPEC), baseline, policy))
    assert found[("row_count", None)] == 3
    assert ("missing_column", "prediction") in found


def test_contract_findings_are_folded_in_without_double_counting(baseline: Baseline) -> None:
    findings = [
        Finding("type_mismatch", "amount", "error", "3 values of 'amount' are not numbers", 3),
        Finding("duplicate_ids", "id", "warning", "2 rows repeat an id", 2),
        Finding("extra_columns", None, "warning", "1 column(s) not in the spec were dropped", 1),
        Finding("missing_timestamp", "timestamp", "warning", "the batch has no timestamp column", 0),
    ]
    result = evaluate_quality(profile_batch(batch(), baseline, SPEC), baseline, SPEC.quality, findings)
    found = [(v.check, v.severity, v.observed) for v in result.violations]
    assert found == [("contract:type_mismatch", "error", 3)]
    assert not result.quarantine  # repaired contract problems cost what the policy says


def test_quarantine_only_when_the_policy_says_so(baseline: Baseline) -> None:
    profile = profile_batch(batch(missing=0.5), baseline, SPEC)
    assert not evaluate_quality(profile, baseline, SPEC.quality).quarantine
    strict = QualityPolicy(quarantine_on_violation=True)
    assert evaluate_quality(profile, baseline, strict).quarantine
    clean = profile_batch(batch(), baseline, SPEC)
    assert not evaluate_quality(clean, baseline, strict).quarantine


def test_unseen_categories_are_not_judged_when_the_reference_domain_is_truncated() -> None:
    spec = parse_spec({"name": "w", "task": "binary", "target": "y", "features": {"categorical": ["city"]}})
    cities = [f"city{i}" for i in range(400)]
    base = build_baseline(pa.table({"city": cities * 5}), spec)
    city = base.columns["city"]
    assert isinstance(city, CategoricalBaseline)
    assert not city.domain_complete
    profile = profile_batch(pa.table({"city": ["nowhere"] * 100}), base, spec)
    assert evaluate_quality(profile, base, spec.quality).passed

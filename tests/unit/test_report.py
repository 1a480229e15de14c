"""The batch report: verdicts, JSON round trip, no PII values, and a published schema kept in sync."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from modelsteward.domain.assessment_record import MultivariateResult, QualityResult, QualityViolation
from modelsteward.domain.baseline_builder import build_baseline
from modelsteward.domain.drift import detect_drift
from modelsteward.domain.profile import profile_batch
from modelsteward.domain.quality import evaluate_quality
from modelsteward.domain.report import (
    BatchReport,
    Lineage,
    PiiSummary,
    Timings,
    build_report,
    schema_markdown,
    verdict_of,
)
from modelsteward.spec import parse_spec

ROOT = Path(__file__).resolve().parents[2]
SPEC = parse_spec(
    {
        "name": "rep",
        "task": "regression",
        "target": "y",
        "primary_metric": "rmse",
        "features": {"numeric": ["a", "b"], "categorical": ["c"]},
    }
)


@dataclass(frozen=True)
class PiiFinding:
    column: str
    kind: str
    count: int
    share: float
    example: str


@dataclass(frozen=True)
class PiiReport:
    findings: list[PiiFinding]
    rows_scanned: int


def data(n: int, seed: int, shift: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "a": rng.normal(shift, 1, n),
            "b": rng.normal(0, 1, n),
            "c": rng.choice(["x", "y"], n),
            "prediction": rng.normal(0, 1, n),
        }
    )


def make_report(
    shift: float = 0.0, violations: Sequence[QualityViolation] = (), multivariate_drift: bool = False
) -> BatchReport:
    baseline = build_baseline(data(5_000, 0), SPEC)
    profile = profile_batch(data(5_000, 1, shift), baseline, SPEC)
    quality = evaluate_quality(profile, baseline, SPEC.quality)
    quality = QualityResult(violations=[*quality.violations, *violations], quarantine=False)
    multi = MultivariateResult(
        auc=0.9 if multivariate_drift else 0.5,
        threshold=0.7,
        drifted=multivariate_drift,
        n_reference=2000,
        n_current=2000,
        features=["a", "b", "c"],
    )
    scan = PiiReport([PiiFinding("c", "email", 3, 0.001, "j***@example.com")], 5_000)
    return build_report(
        model="rep",
        model_version=3,
        batch_id="b-1",
        source={"uri": "s3://data/inference/rep/b.csv", "version_id": "v1", "sha256": "ab" * 32, "size": 10},
        created_at="2026-01-01T00:00:00+00:00",
        rows=profile.rows,
        drift=detect_drift(baseline, profile, SPEC.drift),
        multivariate=multi,
        quality=quality,
        pii=PiiSummary.from_scan(scan, "redact"),
        timings=Timings(processing_ms=12.5, peak_memory_mb=200.0, stages_ms={"profile": 3.0}),
        lineage=Lineage(
            inputs=[{"uri": "s3://data/inference/rep/b.csv", "version_id": "v1"}],
            baseline={"uri": "s3://art/models/rep/v0003/baseline/baseline.json", "version_id": "b1"},
        ),
    )


VIOLATION = QualityViolation(
    check="completeness", column="a", observed=0.5, threshold=0.2, message="a: missing"
)


@pytest.mark.parametrize(
    ("shift", "violations", "multi", "expected"),
    [
        (0.0, (), False, "ok"),
        (1.0, (), False, "drift"),
        (0.0, (VIOLATION,), False, "quality"),
        (1.0, (VIOLATION,), False, "drift+quality"),
        (0.0, (), True, "drift"),
    ],
)
def test_verdicts(shift: float, violations: tuple[QualityViolation, ...], multi: bool, expected: str) -> None:
    report = make_report(shift, violations, multi)
    assert report.verdict == expected
    assert report.drifted == ("drift" in expected)


def test_prediction_drift_alone_is_drift() -> None:
    baseline = build_baseline(data(5_000, 0), SPEC)
    current = data(5_000, 1)
    current = current.set_column(3, "prediction", pa.array(np.random.default_rng(2).normal(2, 1, 5_000)))
    profile = profile_batch(current, baseline, SPEC)
    drift = detect_drift(baseline, profile, SPEC.drift)
    assert not drift.dataset.drifted
    assert verdict_of(drift, None, QualityResult(violations=[], quarantine=False)) == "drift"


def test_json_round_trip_and_no_pii_values() -> None:
    report = make_report(1.0)
    text = report.to_json()
    assert BatchReport.from_json(text) == report
    assert "example.com" not in text and "j***" not in text
    doc = json.loads(text)
    assert doc["schema_version"] == "1.0" and doc["model_version"] == 3
    assert doc["pii"] == {
        "action": "redact",
        "rows_scanned": 5000,
        "columns": ["c"],
        "findings": [{"column": "c", "kind": "email", "count": 3, "share": 0.001}],
    }
    a = next(f for f in doc["features"] if f["name"] == "a")
    assert a["severity"] == "drift" and a["reference_hist"]["edges"] == a["current_hist"]["edges"]
    assert doc["source"]["sha256"] == "ab" * 32 and doc["lineage"]["baseline"]["version_id"] == "b1"
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in report JSON"))


def test_published_schema_is_current() -> None:
    published = (ROOT / "docs" / "report-schema.md").read_text(encoding="utf-8")
    assert published == schema_markdown(), (
        "docs/report-schema.md is stale: run `python -m modelsteward.domain.report > docs/report-schema.md`"
    )

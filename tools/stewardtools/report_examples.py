"""Realistic example inputs for every report page, and a command that renders them.

Used by the tests, the docs' pictures and anyone who wants to see the pages without running
the suite: ``python -m stewardtools.report_examples OUT_DIR [--png]`` writes one HTML file per
page type (and a PNG of each when Chromium is installed).

The numbers are made up but shaped like real monitoring output: equal-frequency baseline bins
of normal-ish features, a few shifted features, BH-adjusted p-values, a window of batches.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import math
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelsteward.domain.audit_chain import ObjectPointer
from modelsteward.domain.estimate_view import TimelineEstimate
from modelsteward.domain.gate_record import GateSummary
from modelsteward.domain.governance_report import CHECKS, ChainSummary, Finding, GovernanceReport, ModelAudit
from modelsteward.domain.model_card import (
    AdditionalInformation,
    Decision,
    EvaluationDetails,
    IntendedUses,
    LineageEntry,
    ModelCard,
    ModelOverview,
    MonitoringEvent,
    MonitoringSummary,
    TrainingDetails,
)
from modelsteward.domain.report import BatchReport
from modelsteward.domain.timeline import DriftTimeline, TimelineFeature, TimelinePoint
from modelsteward.domain.window import Finding as WindowFinding
from modelsteward.domain.window import VolumeCheck
from modelsteward.domain.window_report import SkippedBatch, WindowLineage, WindowReport, WindowSpan

HOSTILE_NAME = "<script>alert(1)</script>"
FORMULA_NAME = '=HYPERLINK("http://x")'


def _normal_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _normal_quantile(p: float) -> float:
    lo, hi = -10.0, 10.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if _normal_cdf(mid) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _numeric_feature(
    name: str,
    mean: float,
    sd: float,
    shift_sd: float,
    scale: float,
    rng: random.Random,
    *,
    floor: float | None = 0.0,
    n_ref: int = 50_000,
    n_cur: int = 8_000,
    bins: int = 10,
) -> dict[str, Any]:
    """Equal-frequency reference bins (outer edges = observed min/max); current from a shifted normal."""
    qs = [_normal_quantile(i / bins) for i in range(1, bins)]
    z_edges = [-3.4, *qs, 3.4]
    if floor is not None:  # non-negative quantities: start the first bin at the floor
        z_edges[0] = max(z_edges[0], (floor - mean) / sd)
    edges = [round(mean + sd * z, 4) for z in z_edges]
    ref_counts = [max(int(n_ref / bins * (1 + rng.uniform(-0.03, 0.03))), 0) for _ in range(bins)]
    cur_probs = []
    for i, (a, b) in enumerate(itertools.pairwise(z_edges)):
        low = -math.inf if i == 0 else a
        high = math.inf if i == bins - 1 else b
        cur_probs.append(_normal_cdf((high - shift_sd) / scale) - _normal_cdf((low - shift_sd) / scale))
    cur_counts = [max(int(p * n_cur * (1 + rng.uniform(-0.04, 0.04))), 0) for p in cur_probs]
    return {
        "name": name,
        "kind": "numeric",
        "data_type": "numeric",
        "test": "ks",
        "n_reference": n_ref,
        "n_current": n_cur,
        "reference_hist": {"edges": edges, "counts": ref_counts},
        "current_hist": {"edges": edges, "counts": cur_counts},
    }


def _categorical_feature(
    name: str, ref: dict[str, float], cur: dict[str, float], *, n_ref: int = 50_000, n_cur: int = 8_000
) -> dict[str, Any]:
    """Counts over the reference categories; categories new in the batch are appended."""
    categories = list(dict.fromkeys([*ref, *cur]))
    return {
        "name": name,
        "kind": "categorical",
        "data_type": "categorical",
        "test": "chi2",
        "n_reference": n_ref,
        "n_current": n_cur,
        "reference_hist": {
            "categories": categories,
            "counts": [round(ref.get(c, 0) * n_ref) for c in categories],
        },
        "current_hist": {
            "categories": categories,
            "counts": [round(cur.get(c, 0) * n_cur) for c in categories],
        },
    }


def _score(
    feature: dict[str, Any], method: str, score: float, p_adj: float, importance: float, warn: float = 0.05
) -> None:
    threshold = 0.1
    significant = p_adj < 0.05
    drifted = significant and score >= threshold
    severity = "drift" if drifted else ("warn" if significant and score >= warn else "none")
    feature.update(
        method=method,
        score=round(score, 4),
        threshold=threshold,
        warn_threshold=warn,
        statistic=round(score * 0.8, 4),
        p_value=p_adj / 3,
        p_value_adjusted=p_adj,
        drifted=drifted,
        severity=severity,
        importance=importance if feature["kind"] != "prediction" else 0.0,
        note=None,
    )


def example_batch_report(*, hostile: bool = False) -> BatchReport:
    """A drifted batch of a credit-risk model, as monitor_batch builds it (domain/report.py).

    ``hostile`` adds a ``<script>`` column name, a spreadsheet-formula column name and markup in
    messages, as an attacker controlling the uploaded file's header could.
    """
    rng = random.Random(7)  # nosec B311 - made-up example data, not security
    features = [
        _numeric_feature("income", 54_000, 18_000, 0.55, 1.15, rng),
        _numeric_feature("credit_utilization", 0.31, 0.18, 0.35, 1.0, rng),
        _numeric_feature("age", 41, 12, 0.02, 1.0, rng, floor=18),
        _numeric_feature("debt_to_income", 0.28, 0.09, 0.12, 1.05, rng),
        _numeric_feature("months_employed", 62, 40, -0.03, 1.0, rng),
        _numeric_feature("loan_amount", 14_500, 6_200, 0.05, 0.98, rng),
        _categorical_feature(
            "employment_type",
            {"salaried": 0.61, "self_employed": 0.17, "contract": 0.12, "retired": 0.07, "student": 0.03},
            {
                "salaried": 0.48,
                "self_employed": 0.22,
                "contract": 0.19,
                "retired": 0.06,
                "student": 0.03,
                "gig_platform": 0.02,
            },
        ),
        _categorical_feature(
            "region",
            {"north": 0.24, "south": 0.27, "east": 0.21, "west": 0.2, "central": 0.08},
            {"north": 0.25, "south": 0.26, "east": 0.2, "west": 0.21, "central": 0.08},
        ),
        _categorical_feature(
            "loan_purpose",
            {
                "car": 0.3,
                "home_improvement": 0.22,
                "debt_consolidation": 0.25,
                "education": 0.08,
                "medical": 0.05,
                "wedding": 0.03,
                "vacation": 0.03,
                "business": 0.04,
            },
            {
                "car": 0.28,
                "home_improvement": 0.2,
                "debt_consolidation": 0.3,
                "education": 0.07,
                "medical": 0.06,
                "wedding": 0.03,
                "vacation": 0.02,
                "business": 0.04,
            },
        ),
        _numeric_feature("prediction", 0.18, 0.11, 0.4, 1.1, rng),
    ]
    features[-1]["kind"] = "prediction"
    _score(features[0], "wasserstein", 0.231, 1e-12, 0.22)
    _score(features[1], "wasserstein", 0.148, 3e-7, 0.18)
    _score(features[2], "wasserstein", 0.011, 0.61, 0.08)
    _score(features[3], "wasserstein", 0.067, 0.003, 0.14)
    _score(features[4], "wasserstein", 0.019, 0.42, 0.06)
    _score(features[5], "psi", 0.031, 0.2, 0.12)
    _score(features[6], "jensen_shannon", 0.124, 1e-9, 0.09)
    _score(features[7], "jensen_shannon", 0.008, 0.88, 0.04)
    _score(features[8], "jensen_shannon", 0.041, 0.07, 0.05)
    _score(features[9], "wasserstein", 0.176, 1e-8, 0.0)
    sparse = _numeric_feature("co_applicant_income", 21_000, 9_000, 0.0, 1.0, rng, n_cur=41, bins=4)
    sparse.update(
        method="wasserstein",
        score=None,
        threshold=0.1,
        warn_threshold=0.05,
        statistic=None,
        p_value=None,
        p_value_adjusted=None,
        drifted=False,
        severity="insufficient_data",
        importance=0.02,
        note="41 rows in the batch; at least 100 needed",
    )
    features.append(sparse)
    if hostile:
        hostile_feature = _numeric_feature(HOSTILE_NAME, 10, 2, 0.6, 1.0, rng)
        _score(hostile_feature, "wasserstein", 0.3, 1e-6, 0.05)
        formula_feature = _categorical_feature(
            FORMULA_NAME, {"<b>a</b>": 0.5, "b": 0.5}, {"<b>a</b>": 0.4, "b": 0.6}
        )
        _score(formula_feature, "jensen_shannon", 0.06, 0.01, 0.05)
        formula_feature["note"] = "<img src=x onerror=alert(3)>"
        features += [hostile_feature, formula_feature]
    evaluated = [f for f in features if f["kind"] in ("numeric", "categorical") and f["score"] is not None]
    total = sum(f["importance"] for f in evaluated)
    share = round(sum(f["importance"] for f in evaluated if f["drifted"]) / total, 4)
    quality = [
        {
            "check": "completeness",
            "column": "months_employed",
            "observed": 0.063,
            "threshold": 0.02,
            "message": "6.3% of values are missing (limit 2%)",
            "severity": "error",
        },
        {
            "check": "unseen_categories",
            "column": "employment_type",
            "observed": 0.021,
            "threshold": 0.01,
            "message": "category 'gig_platform' not seen in the reference data",
            "severity": "warn",
        },
        {
            "check": "out_of_range",
            "column": "credit_utilization",
            "observed": 0.004,
            "threshold": 0.0,
            "message": "31 values above the contract maximum 1.0",
            "severity": "warn",
        },
    ]
    if hostile:
        quality.append(
            {
                "check": "range",
                "column": HOSTILE_NAME,
                "observed": 1.0,
                "threshold": 0.0,
                "message": "<img src=x onerror=alert(2)> @SUM(A1)",
                "severity": "error",
            }
        )
    baseline = "s3://steward-artifacts-123456789012/models/credit-risk/v0003/baseline.json"
    report: dict[str, Any] = {
        "schema_version": "1.0",
        "model": "credit-risk",
        "model_version": 3,
        "batch_id": "inference/credit-risk/2026-11-28/batch-0042.parquet",
        "source": {
            "uri": "s3://steward-data-123456789012/inference/credit-risk/2026-11-28/batch-0042.parquet",
            "version_id": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
            "sha256": "9f2c4e1b7d0a5c3e8b6f1a2d4c7e9b0a3f5d8c1e6b4a7d2f9c0e3b5a8d1f4c7e",
            "size": 412_877,
        },
        "created_at": "2026-11-28T14:05:12+00:00",
        "rows": 8_000,
        "time_min": "2026-11-28T00:00:03+00:00",
        "time_max": "2026-11-28T13:59:41+00:00",
        "verdict": "drift+quality",
        "dataset_drift": {
            "share": share,
            "threshold": 0.3,
            "drifted": share >= 0.3,
            "evaluated_features": len(evaluated),
            "drifted_features": [f["name"] for f in evaluated if f["drifted"]],
        },
        "features": features,
        "multivariate": {
            "method": "domain_classifier",
            "auc": 0.71,
            "threshold": 0.75,
            "drifted": False,
            "n_reference": 5_000,
            "n_current": 5_000,
            "features": [f["name"] for f in evaluated],
            "note": None,
        },
        "quality": quality,
        "pii": {
            "action": "redact",
            "rows_scanned": 8_000,
            "columns": ["notes"] + ([HOSTILE_NAME] if hostile else []),
            "findings": [{"column": "notes", "kind": "email", "count": 3, "share": 0.000375}]
            + ([{"column": HOSTILE_NAME, "kind": "iban", "count": 1, "share": 0.000125}] if hostile else []),
        },
        "contract": [
            {
                "check": "extra_column",
                "column": "notes",
                "severity": "info",
                "message": "column not in the model spec; ignored",
                "count": 0,
            },
            {
                "check": "type_coercion",
                "column": "months_employed",
                "severity": "warn",
                "message": "float values cast to integer",
                "count": 12,
            },
        ],
        "extra_columns": ["notes"],
        "timings": {
            "processing_ms": 402.6,
            "peak_memory_mb": 214.0,
            "stages_ms": {
                "read": 182.1,
                "contract": 11.9,
                "profile": 95.4,
                "drift": 61.2,
                "quality": 14.0,
                "pii": 28.8,
                "report": 9.2,
            },
        },
        "lineage": {
            "inputs": [
                {
                    "uri": "s3://steward-data-123456789012/inference/credit-risk/2026-11-28/batch-0042.parquet",
                    "version_id": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
                    "sha256": "9f2c4e1b7d0a5c3e8b6f1a2d4c7e9b0a3f5d8c1e6b4a7d2f9c0e3b5a8d1f4c7e",
                }
            ],
            "baseline": {
                "uri": baseline,
                "version_id": "Zx81hQ0.kLmN2",
                "sha256": "1d3f5a7c9e0b2d4f6a8c1e3b5d7f9a0c2e44b8d2f6e1a9c3e5b7d0f2a4c6e8b",
            },
            "spec": {
                "uri": "s3://steward-data-123456789012/specs/credit-risk/spec.yaml",
                "version_id": "p9Q2.rT",
                "sha256": "7d0f2a4c6e8b1d3f5a7c9e0b2d4f6a8c1e3b5d7f9a0c2e44b8d2f6e1a9c3e5b",
                "fingerprint": "spec-5b7d0f2a",
            },
        },
        "performance": example_performance(hostile=hostile),
    }
    return BatchReport.model_validate(report)


def _estimate_doc(
    value: float, half: float, rows: int, *, trusted: bool = True, note: str | None = None
) -> dict[str, Any]:
    metrics = {
        name: {"value": v, "lower": v - h, "upper": v + h, "std": h / 1.96}
        for name, v, h in (
            ("roc_auc", value, half),
            ("accuracy", value + 0.12, half / 2.5),
            ("f1", value - 0.33, half),
        )
    }
    return {
        "rows": rows,
        "classes": ["0", "1"],
        "metrics": metrics,
        "calibration": ["beta"],
        "trusted": trusted,
        "trust_note": note,
        "reference_rows": 5_000 if trusted else 1_500,
        "beyond_reference_share": 0.0 if trusted else 0.07,
    }


def example_performance(*, hostile: bool = False) -> dict[str, Any]:
    """Estimate beside realized per variant (domain.estimate_view), as a batch report carries it:
    the champion's realized value inside its band, the challenger's outside, one variant awaiting labels."""
    from modelsteward.domain.estimate_view import estimate_vs_realized

    note = (
        "the labeled reference has 168 rows of the rarer class '1' (of 1500); with fewer than 200 the "
        "calibration map's own error is as large as the drops the estimate should reveal"
    )
    variants: dict[str, Any] = {
        "champion": {
            "version": 3,
            "primary_metric": "roc_auc",
            "estimate": _estimate_doc(0.781, 0.021, 6_020),
        },
        "challenger": {
            "version": 4,
            "primary_metric": "roc_auc",
            "estimate": _estimate_doc(
                0.802, 0.038, 1_980, trusted=False, note=note + (HOSTILE_NAME if hostile else "")
            ),
        },
    }
    versions = [
        {
            "version": 3,
            "variant": "champion",
            "rows": 5_870,
            "metrics": {"roc_auc": 0.774, "accuracy": 0.893, "f1": 0.451},
        },
        {
            "version": 4,
            "variant": "challenger",
            "rows": 1_931,
            "metrics": {"roc_auc": 0.751, "accuracy": 0.905, "f1": 0.43},
        },
    ]
    if hostile:  # a served model names its own variants: text from the user's data
        variants[HOSTILE_NAME] = {
            "version": 5,
            "primary_metric": "roc_auc",
            "estimate": _estimate_doc(0.77, 0.05, 400),
        }
    realized = {
        "evaluated_at": "2026-12-02T09:00:00+00:00",
        "rows_scored": 8_000,
        "rows_labeled": 7_801,
        "versions": versions,
    }
    view = estimate_vs_realized({"batch_id": "batch-0042", "variants": variants}, realized)
    assert view is not None
    return view.model_dump(mode="json")


def example_window_report() -> WindowReport:
    """A day of twelve merged batches of the same model, as check_window builds it: the batch
    example's drift on the merged profile, one batch profiled against another baseline, the volume
    against the previous days."""
    batch = example_batch_report()
    ids = [f"inference/credit-risk/2026-11-28/batch-{n:04d}.parquet" for n in range(31, 43)]
    profiles = [
        {
            "uri": f"s3://steward-artifacts-123456789012/reports/credit-risk/batches/{b}/profile.json",
            "version_id": f"v{i}.pR0f",
            "sha256": f"{i:02d}" + "a7c9e0b2d4f6" * 5,
            "size": 18_211,
        }
        for i, b in enumerate(ids[:-1])
    ]
    return WindowReport(
        model=batch.model,
        model_version=batch.model_version,
        window=WindowSpan(kind="day", start="2026-11-27T14:00:00+00:00", end="2026-11-28T14:00:00+00:00"),
        created_at="2026-11-28T15:00:04+00:00",
        batches=len(ids) - 1,
        batch_ids=ids[:-1],
        rows=88_000,
        time_min="2026-11-27T14:00:09+00:00",
        time_max="2026-11-28T13:59:41+00:00",
        verdict="drift",
        dataset_drift=batch.dataset_drift,
        features=[f.model_copy(update={"n_current": f.n_current * 11}) for f in batch.features],
        findings=[
            WindowFinding(
                check="other_baseline",
                severity="info",
                message="1 batch(es) were profiled against another baseline and are not part of the merged "
                "drift test",
            ),
            WindowFinding(
                check="volume_drop",
                severity="warn",
                value=0.43,
                threshold=0.5,
                message="96,000 rows in this window, 43% of the median of the previous 7 windows",
            ),
        ],
        volume=VolumeCheck(
            rows=96_000,
            history=[221_400, 219_800, 224_100, 223_000, 218_700, 222_900, 225_300],
            median=222_900.0,
            ratio=0.43,
        ),
        skipped_batches=[SkippedBatch(batch_id=ids[-1], reason="profiled against another baseline")],
        lineage=WindowLineage(
            baseline=batch.lineage.baseline, profiles=profiles, profiles_total=len(profiles)
        ),
    )


def _example_feature(name: str, signal: float, rng: random.Random) -> TimelineFeature:
    """A feature of one 8,000-row batch: the raw distance of a shift ``signal`` is about
    sqrt(signal^2 + noise^2); the verdict's score subtracts the noise (domain/drift.py)."""
    noise, band, floor = 0.021, 0.034, 0.035
    raw = math.sqrt(signal**2 + noise**2) * rng.uniform(0.8, 1.15)
    score = math.sqrt(max(raw**2 - noise**2, 0.0))
    return TimelineFeature(
        name=name,
        score=round(score, 4),
        raw_score=round(raw, 4),
        noise_band=band,
        threshold=0.1,
        beyond_noise=raw > band and score >= floor,
        effect=round(score, 4),
        floor=floor,
        severity="drift" if score >= 0.1 else "none",
        drift_reason="above the threshold 0.1" if score >= 0.1 else None,
    )


def example_timeline_points(days: int = 30, *, burst: int = 0) -> list[TimelinePoint]:
    """Daily batches: quiet for three weeks, then income and the prediction drift; ``burst`` more
    batches a few seconds apart after the last day (a replay of a backlog, as it happens)."""
    rng = random.Random(11)  # nosec B311 - made-up example data, not security
    start = dt.datetime(2026, 10, 30, 6, 0, tzinfo=dt.UTC)
    points = []
    for day in range(days + burst):
        ramp = max(0.0, (min(day, days - 1) - 20) / 9)
        signals = {
            "income": 0.22 * ramp + rng.uniform(0, 0.015),
            "credit_utilization": 0.12 * ramp + rng.uniform(0, 0.02),
            "age": rng.uniform(0, 0.012),
            "employment_type": 0.11 * ramp**2 + rng.uniform(0, 0.01),
            "region": rng.uniform(0, 0.006),
            "loan_purpose": rng.uniform(0, 0.006),
            "open_accounts": rng.uniform(0, 0.008),
            "prediction": 0.16 * ramp + rng.uniform(0, 0.02),
        }
        features = [_example_feature(n, v, rng) for n, v in signals.items()]
        drifted = sum(1 for f in features if (f.score or 0.0) >= 0.1)
        drifted += sum(1 for _ in range(4) if rng.random() < 0.06 + 0.1 * ramp)  # features not charted
        share = drifted / 12
        threshold = 0.3 if day < 25 else 0.25
        verdict = "drift" if share >= threshold else ("quality" if day == 9 else "ok")
        # the champion's estimate falls with the drift; labels arrive a week late
        estimate = 0.79 - 0.05 * ramp + rng.uniform(-0.006, 0.006)
        half = 0.022 + 0.01 * ramp
        real = estimate + rng.uniform(-0.018, 0.018) - (0.03 * ramp if day > 22 else 0.0)
        labeled = day < days - 7
        batch_id = f"batch-{day + 13:04d}"
        performance = TimelineEstimate(
            metric="roc_auc",
            batch_id=batch_id,
            variant="champion",
            version=3,
            rows=8_000,
            estimate=round(estimate, 4),
            lower=round(estimate - half, 4),
            upper=round(estimate + half, 4),
            width=round(2 * half, 4),
            realized=round(real, 4) if labeled else None,
            gap=round(real - estimate, 4) if labeled else None,
            inside_band=(abs(real - estimate) <= half) if labeled else None,
            realized_rows=7_900 if labeled else None,
            trusted=True,
        )
        at = start + dt.timedelta(days=day)
        if day >= days:  # the burst: seconds apart, hours after the last daily batch
            at = start + dt.timedelta(days=days - 1, hours=5, seconds=6 * (day - days))
        points.append(
            TimelinePoint(
                at=at,
                batch_id=batch_id,
                drifted_share=round(share, 4),
                threshold=threshold,
                verdict=verdict,
                features=features,
                performance=performance,
            )
        )
    return points


def example_timeline(days: int = 30, *, burst: int = 8) -> DriftTimeline:
    """The drift-over-time record of :func:`example_timeline_points`, as services/timeline.py builds it."""
    from modelsteward.services.timeline import build_timeline

    return build_timeline("credit-risk", example_timeline_points(days, burst=burst))


def example_gate(**changes: Any) -> GateSummary:
    """A gate summary as ``GateDecision.summary()`` keeps it on a registry row; ``changes``
    replace fields (validated)."""
    gate = GateSummary(
        outcome="promote",
        metric="roc_auc",
        greater_is_better=True,
        champion_version=2,
        challenger_version=3,
        champion_score=0.7964,
        challenger_score=0.8123,
        difference=0.0159,
        improvement=0.0159,
        relative_improvement=0.01997,
        p_value=0.0035,
        test="paired bootstrap",
        bootstrap_rounds=2_000,
        significance=0.05,
        min_absolute_change=0.005,
        min_relative_change=0.01,
        segment_tolerance=0.02,
        auto_promote=False,
        n_holdout=82_468,
        reasons=["challenger beats champion by 0.0159 (p=0.0035)"],
        segments_checked=5,
    )
    return GateSummary.model_validate({**gate.model_dump(), **changes})


def example_model_card() -> ModelCard:
    """A card as domain/model_card.py builds it (SageMaker Model Card sections)."""
    data_uri = "s3://steward-data-123456789012/training/credit-risk/2026-11-19.parquet"
    return ModelCard(
        status="Approved",
        generated_at="2026-11-29T03:00:02+00:00",
        model_overview=ModelOverview(
            model_name="credit-risk",
            model_version=3,
            description="binary model predicting 'defaulted' within 12 months of the loan start",
            owner="risk-ml@example.com",
            task="binary",
            algorithm="sklearn.ensemble.HistGradientBoostingClassifier",
            alias="champion",
            registry_status="Approved",
            created_at="2026-11-20T09:12:00+00:00",
            artifact=ObjectPointer(
                uri="s3://steward-artifacts-123456789012/models/credit-risk/v0003/model.skops",
                version_id="Lm3.Qw8rTT",
                sha256="c1e3b5d7f9a0c2e44b8d2f6e1a9c3e5b7d0f2a4c6e8b1d3f5a7c9e0b2d4f6a8",
                size=1_482_113,
            ),
        ),
        intended_uses=IntendedUses(
            intended_use="Rank consumer-loan applications for manual review; never reject automatically.",
            limitations="Not validated for applicants under 21 or loans above 50,000.",
            risk_rating="high",
            factors_affecting_performance=["region", "employment_type"],
        ),
        training_details=TrainingDetails(
            target="defaulted",
            numeric_features=["income", "credit_utilization", "age", "debt_to_income", "months_employed"],
            categorical_features=["employment_type", "region", "loan_purpose"],
            estimator="sklearn.ensemble.HistGradientBoostingClassifier",
            params={"max_iter": 300, "learning_rate": 0.05, "max_leaf_nodes": 31},
            library_versions={"scikit-learn": "1.9.0", "numpy": "2.4.1", "skops": "0.16.0"},
            holdout_fraction=0.2,
            seed=42,
            training_data=[
                LineageEntry(
                    role="lineage.training_data",
                    uri=data_uri,
                    version_id="Qm9vLkhR8dJ2a.Xy1",
                    sha256="4b8d2f6e1a9c3e5b7d0f2a4c6e8b1d3f5a7c9e0b2d4f6a8c1e3b5d7f9a0c2e4b",
                ),
            ],
        ),
        evaluation_details=EvaluationDetails(
            primary_metric="roc_auc",
            greater_is_better=True,
            metrics={
                "roc_auc": 0.8123,
                "log_loss": 0.3911,
                "f1": 0.5412,
                "precision": 0.6031,
                "recall": 0.4907,
                "brier": 0.1187,
                "rows": 82_468,
            },
            segment_metrics={
                "region": {
                    "north": {"rows": 19_870, "roc_auc": 0.8071, "f1": 0.5312, "recall": 0.48},
                    "south": {"rows": 22_301, "roc_auc": 0.8194, "f1": 0.5527, "recall": 0.5},
                    "east": {"rows": 17_455, "roc_auc": 0.8042, "f1": 0.5298, "recall": 0.477},
                    "west": {"rows": 16_221, "roc_auc": 0.8166, "f1": 0.5489, "recall": 0.494},
                    "central": {"rows": 6_621, "roc_auc": 0.7811, "f1": 0.5012, "recall": 0.452},
                },
            },
            evaluation=ObjectPointer(
                uri="s3://steward-artifacts-123456789012/models/credit-risk/v0003/evaluation.json",
                version_id="e1.Vv7",
            ),
            gate=example_gate(),
            label_free_estimate={
                "calibration": ["beta"],
                "reference_rows": 1_500,
                "rarer_class_rows": 168,
                "trusted": False,
                "note": "the labeled reference has 168 rows of the rarer class '1' (of 1500); with fewer"
                " than 200 the calibration map's own error is as large as the drops"
                " the estimate should reveal",
            },
        ),
        additional_information=AdditionalInformation(
            decisions=[
                Decision(
                    seq=311,
                    at="2026-11-20T09:14:10+00:00",
                    action="gate.decision",
                    actor="train_model",
                    reason="challenger beats champion by 0.0159 (p=0.0035)",
                ),
                Decision(
                    seq=315,
                    at="2026-11-20T10:02:00+00:00",
                    action="model.approved",
                    actor="a.khan",
                    reason="Gain holds in every region; central segment watched.",
                ),
                Decision(
                    seq=316,
                    at="2026-11-20T10:02:01+00:00",
                    action="model.promoted",
                    actor="a.khan",
                    reason="champion v2 -> v3",
                ),
            ],
            approved_by="a.khan",
            approved_at="2026-11-20T10:02:00+00:00",
            monitoring=MonitoringSummary(
                counts={
                    "batch.accepted": 212,
                    "drift.verdict": 212,
                    "window.checked": 216,
                    "labels.evaluated": 9,
                    "alarm.handled": 2,
                    "retrain.requested": 1,
                },
                incidents=[
                    MonitoringEvent(
                        seq=1702,
                        at="2026-11-24T06:03:11+00:00",
                        action="drift.verdict",
                        reason="dataset drift 33% >= 30%",
                        severity="drift",
                    ),
                    MonitoringEvent(
                        seq=1703,
                        at="2026-11-24T06:05:40+00:00",
                        action="alarm.handled",
                        reason="DatasetDriftShare alarm -> retrain requested",
                    ),
                    MonitoringEvent(
                        seq=1704,
                        at="2026-11-24T06:05:41+00:00",
                        action="retrain.requested",
                        reason="alarm credit-risk-dataset-drift",
                    ),
                ],
                incidents_total=3,
            ),
            alert_email_configured=True,
            spec_uri="s3://steward-data-123456789012/specs/credit-risk/spec.yaml",
            spec_version_id="p9Q2.rT",
        ),
    )


def example_governance_report() -> GovernanceReport:
    """An audit run as services/run_audit.py writes it: two checks failed with three findings."""

    def model(
        name: str, champion: int, since: str, last_batch: str, alarms: list[str], pii: list[int] | None = None
    ) -> ModelAudit:
        prefix = f"model-steward-prod-{name}-"
        return ModelAudit(
            model=name,
            spec_found=True,
            champion=champion,
            champion_since=since,
            last_accepted_batch_at=last_batch,
            open_pii_findings=pii or [],
            alarms=[prefix + a for a in alarms],
            findings=1,
        )

    return GovernanceReport(
        run_id="audit-20261129T030000Z",
        generated_at="2026-11-29T03:00:04+00:00",
        stage="prod",
        ok=False,
        checks=[c for c in CHECKS if c not in ("model_spec", "fairness")],
        chain=ChainSummary(ok=True, records=1842, export_checked=True, message="chain verified"),
        models=[
            model(
                "credit-risk",
                3,
                "2026-11-20T10:02:01+00:00",
                "2026-11-28T14:05:12+00:00",
                ["dataset-drift", "quality", "freshness"],
            ),
            model(
                "fraud-score",
                7,
                "2026-10-02T08:00:00+00:00",
                "2026-11-29T02:51:40+00:00",
                ["dataset-drift"],
                pii=[1533],
            ),
            model("churn", 2, "2026-11-11T16:40:00+00:00", "2026-11-28T23:10:02+00:00", ["dataset-drift"]),
        ],
        findings=[
            Finding(
                check="approval",
                model="fraud-score",
                version=7,
                message="champion without an approval record in the audit log",
            ),
            Finding(
                check="approval",
                model="churn",
                version=2,
                message="promoted 3 minutes before its approval was recorded",
            ),
            Finding(
                check="lineage",
                model="credit-risk",
                version=3,
                message="training data s3://steward-data-123456789012/training/credit-risk/2026-11-19.parquet"
                " has no version id",
            ),
        ],
    )


def _pages() -> dict[str, Callable[[], str]]:
    from modelsteward.reporting import (
        render_batch_report,
        render_drift_timeline,
        render_governance_report,
        render_model_card,
        render_window_report,
    )

    return {
        "batch_report": lambda: render_batch_report(example_batch_report()),
        "window_report": lambda: render_window_report(example_window_report()),
        "drift_timeline": lambda: render_drift_timeline(example_timeline()),
        "model_card": lambda: render_model_card(example_model_card()),
        "governance_report": lambda: render_governance_report(example_governance_report()),
    }


def write_examples(out_dir: Path, *, png: bool = False, width: int = 1280) -> list[Path]:
    """Write every example page (and its PNG if asked and Chromium exists); returns the files."""
    from stewardtools.screenshot import screenshot

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, render in _pages().items():
        html = render()
        path = out_dir / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        written.append(path)
        if png:
            png_path = out_dir / f"{name}.png"
            if screenshot(path, png_path, width=width):
                written.append(png_path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write example Model Steward report pages.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--png", action="store_true", help="also screenshot each page (needs chromium)")
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args(argv)
    for path in write_examples(args.out_dir, png=args.png, width=args.width):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

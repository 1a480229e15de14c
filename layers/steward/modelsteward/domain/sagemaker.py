"""SageMaker Model Monitor file formats, so its users can move over and keep their tooling.

``statistics.json`` and ``constraints.json`` are written from a baseline, ``constraint_violations.json``
from a batch's drift and quality results, in the schema of the Model Monitor developer guide.
Checks the format has no name for (out-of-range share, duplicate ids, row count) stay in our own
report.json only. Distribution "kll" buckets are our coarse equal-frequency bins and the "sketch"
data our fine quantile grid (the values are exact reference quantiles, not a randomized sketch).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..spec import DriftPolicy
from .assessment_record import DriftResult, QualityResult
from .baseline import Baseline, CategoricalBaseline, NumericBaseline

CHECK_TYPES = (
    "data_type_check",
    "completeness_check",
    "baseline_drift_check",
    "missing_column_check",
    "extra_column_check",
    "categorical_values_check",
)


def _inferred_type(col: NumericBaseline | CategoricalBaseline) -> str:
    if isinstance(col, CategoricalBaseline):
        return "String"
    return "Integral" if col.integral else "Fractional"


def _numeric_statistics(col: NumericBaseline) -> dict[str, Any]:
    edges = [col.min, *col.coarse_edges, col.max]
    pos = [col.edges.index(e) for e in col.coarse_edges]
    cum = []
    running = 0
    for c in col.grid_counts[:-1]:
        running += c
        cum.append(running)
    bounds = [0, *(cum[p] for p in pos), col.count]
    buckets = [
        {"lower_bound": edges[i], "upper_bound": edges[i + 1], "count": bounds[i + 1] - bounds[i]}
        for i in range(len(edges) - 1)
    ]
    return {
        "common": {"num_present": col.count, "num_missing": col.missing + col.non_finite},
        "mean": col.mean,
        "sum": col.mean * col.count,
        "std_dev": col.std,
        "min": col.min,
        "max": col.max,
        "distribution": {
            "kll": {
                "buckets": buckets if col.count else [],
                "sketch": {"parameters": {"c": 0.64, "k": float(len(col.edges))}, "data": [list(col.edges)]},
            }
        },
    }


def _string_statistics(col: CategoricalBaseline) -> dict[str, Any]:
    return {
        "common": {"num_present": col.count, "num_missing": col.missing},
        "distinct_count": float(col.distinct),
        "distribution": {
            "categorical": {
                "buckets": [{"value": v, "count": c} for v, c in zip(col.categories, col.counts, strict=True)]
            }
        },
    }


def statistics_json(baseline: Baseline) -> dict[str, Any]:
    features = []
    for name, col in baseline.columns.items():
        entry: dict[str, Any] = {"name": name, "inferred_type": _inferred_type(col)}
        if isinstance(col, NumericBaseline):
            entry["numerical_statistics"] = _numeric_statistics(col)
        else:
            entry["string_statistics"] = _string_statistics(col)
        features.append(entry)
    return {"version": 0.0, "dataset": {"item_count": baseline.rows}, "features": features}


def constraints_json(baseline: Baseline, policy: DriftPolicy | None = None) -> dict[str, Any]:
    policy = policy or DriftPolicy()
    features = []
    for name, col in baseline.columns.items():
        total = col.count + col.missing + (col.non_finite if isinstance(col, NumericBaseline) else 0)
        entry: dict[str, Any] = {
            "name": name,
            "inferred_type": _inferred_type(col),
            "completeness": col.count / total if total else 0.0,
        }
        if isinstance(col, NumericBaseline):
            entry["num_constraints"] = {"is_non_negative": bool(col.count and col.min >= 0)}
        elif col.domain_complete:
            entry["string_constraints"] = {"domains": list(col.categories)}
        features.append(entry)
    return {
        "version": 0.0,
        "features": features,
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": 1.0,
            "domain_content_threshold": 1.0,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": policy.threshold,
                "comparison_method": "Robust",
                "categorical_comparison_threshold": policy.threshold,
                "categorical_drift_method": "LInfinity",
            },
        },
    }


def _contract_check_type(check: str) -> str | None:
    c = check.lower()
    if "missing" in c and "column" in c:
        return "missing_column_check"
    if "extra" in c:
        return "extra_column_check"
    if "null" in c or "complete" in c:
        return "completeness_check"
    if "categor" in c or "domain" in c:
        return "categorical_values_check"
    if "type" in c or "pars" in c:
        return "data_type_check"
    return None


def constraint_violations_json(
    drift: DriftResult | None,
    quality: QualityResult,
    extra_columns: Sequence[str] = (),
) -> dict[str, Any]:
    violations: list[dict[str, str]] = []

    def add(feature: str, check: str, description: str) -> None:
        violations.append(
            {"feature_name": feature, "constraint_check_type": check, "description": description}
        )

    for f in drift.features if drift else []:
        if f.drifted:
            add(
                f.name,
                "baseline_drift_check",
                f"Baseline drift distance: {f.score:.4g} exceeds threshold: {f.threshold:g} "
                f"({f.method}; adjusted p-value {f.p_value_adjusted:.3g})",
            )
    for v in quality.violations:
        column = v.column or ""
        if v.check == "completeness":
            add(
                column,
                "completeness_check",
                f"Data completeness {1 - v.observed:.4g} is below the "
                f"required {1 - v.threshold:.4g}. {v.message}",
            )
        elif v.check == "unseen_categories":
            add(column, "categorical_values_check", v.message)
        elif v.check == "missing_column":
            add(column, "missing_column_check", v.message)
        elif v.check.startswith("contract:"):
            kind = _contract_check_type(v.check.removeprefix("contract:"))
            if kind:
                add(column, kind, v.message)
    listed = {(v["feature_name"], v["constraint_check_type"]) for v in violations}
    for col in extra_columns:
        if (col, "extra_column_check") not in listed:
            add(col, "extra_column_check", f"{col}: column is not in the baseline's schema")
    return {"violations": violations}

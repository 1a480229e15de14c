"""Data quality of a batch, judged against the baseline's schema and the spec's QualityPolicy.

Checks (each violation names the check, column, observed value, threshold and a sentence):
row count, completeness (missing share; a column the reference already had that incomplete only
violates when it gets worse beyond sampling noise), out-of-range share (outside the reference
[min, max] widened by 1% of the range, plus infinities), unseen categories (only when the reference
domain is fully known), duplicate ids, monitored columns absent, and the data contract's error
findings (values it had to repair); its warnings stay informational in the report.

A contract that cannot be met (missing columns, mostly unparsable values) raises BatchRejected in
domain.contract and always quarantines. What conforming could repair (a few unparsable values
nulled, a probability outside [0, 1], empty ids) arrives here as findings and, like every other
violation, quarantines only when the spec says ``quality.quarantine_on_violation`` (default:
report and metric).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from ..spec import QualityPolicy
from .assessment_record import QualityResult, QualityViolation
from .baseline import Baseline, CategoricalBaseline, NumericBaseline
from .contract import example_text
from .profile import CategoricalProfile, NumericProfile, Profile

ERROR_SEVERITIES = frozenset({"error", "fatal", "critical"})
#: Contract findings this module judges itself (with the policy's threshold) or that are no violation.
OWN_CHECKS = frozenset({"duplicate_ids", "extra_columns", "invalid_predictions"})


class ContractFindingLike(Protocol):
    """What quality needs from domain.contract.ContractFinding (read-only attributes)."""

    @property
    def check(self) -> str: ...
    @property
    def column(self) -> str | None: ...
    @property
    def severity(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def count(self) -> int: ...


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _column_checks(
    name: str,
    base: NumericBaseline | CategoricalBaseline,
    cur: NumericProfile | CategoricalProfile,
    policy: QualityPolicy,
) -> list[QualityViolation]:
    out: list[QualityViolation] = []
    non_finite = cur.non_finite if isinstance(cur, NumericProfile) else 0
    total = cur.count + cur.missing + non_finite
    if total == 0:
        return out
    missing_share = cur.missing / total
    ref_share = base.missing_share
    # a column the reference already had incomplete violates only when it got worse beyond sampling noise
    allowed = max(policy.max_missing_share, ref_share + 3 * math.sqrt(ref_share * (1 - ref_share) / total))
    if missing_share > allowed:
        out.append(
            QualityViolation(
                check="completeness",
                column=name,
                observed=missing_share,
                threshold=allowed,
                message=f"{name}: {_pct(missing_share)} of values are missing (allowed {_pct(allowed)}; "
                f"reference {_pct(ref_share)})",
            )
        )
    if isinstance(base, NumericBaseline) and isinstance(cur, NumericProfile) and base.count:
        present = cur.count + cur.non_finite
        share = (cur.out_of_range + cur.non_finite) / present if present else 0.0
        if share > policy.max_out_of_range_share:
            out.append(
                QualityViolation(
                    check="out_of_range",
                    column=name,
                    observed=share,
                    threshold=policy.max_out_of_range_share,
                    message=f"{name}: {_pct(share)} of values fall outside the reference range "
                    f"[{base.min:.6g}, {base.max:.6g}] (allowed {_pct(policy.max_out_of_range_share)})",
                )
            )
    if isinstance(base, CategoricalBaseline) and isinstance(cur, CategoricalProfile) and base.domain_complete:
        share = cur.other / cur.count if cur.count else 0.0
        if share > policy.max_unseen_category_share:
            examples = ", ".join(
                v if v.startswith("<") and v.endswith(">") else example_text(v)
                for v in list(cur.top_other)[:5]
            )
            out.append(
                QualityViolation(
                    check="unseen_categories",
                    column=name,
                    observed=share,
                    threshold=policy.max_unseen_category_share,
                    message=f"{name}: {_pct(share)} of values are categories the reference never had "
                    f"(allowed {_pct(policy.max_unseen_category_share)}); most frequent: {examples}",
                )
            )
    return out


def _invalid_predictions(
    rows: int, policy: QualityPolicy, findings: Sequence[ContractFindingLike]
) -> list[QualityViolation]:
    """Predictions outside the spec's classes: a violation above quality.max_invalid_prediction_share."""
    out = []
    for f in findings:
        if f.check != "invalid_predictions" or not rows:
            continue
        share = (f.count or 0) / rows
        if share > policy.max_invalid_prediction_share:
            out.append(
                QualityViolation(
                    check="invalid_predictions",
                    column=f.column,
                    observed=share,
                    threshold=policy.max_invalid_prediction_share,
                    message=f"{f.column}: {f.count} prediction(s) ({_pct(share)}) are not among the spec's "
                    f"classes (allowed {_pct(policy.max_invalid_prediction_share)}); the model or its "
                    "export writes values the monitoring cannot judge",
                    severity="error",
                )
            )
    return out


def evaluate_quality(
    profile: Profile,
    baseline: Baseline,
    policy: QualityPolicy,
    findings: Sequence[ContractFindingLike] = (),
) -> QualityResult:
    violations: list[QualityViolation] = []
    if profile.rows < policy.min_rows:
        violations.append(
            QualityViolation(
                check="row_count",
                observed=profile.rows,
                threshold=policy.min_rows,
                message=f"the batch has {profile.rows} rows; at least {policy.min_rows} are expected",
            )
        )
    for name, cur in profile.columns.items():
        violations += _column_checks(name, baseline.columns[name], cur, policy)
    for name in profile.missing_columns:
        if baseline.columns[name].role != "label":
            violations.append(
                QualityViolation(
                    check="missing_column",
                    column=name,
                    observed=1,
                    threshold=0,
                    message=f"{name}: monitored column is absent from the batch",
                )
            )
    if profile.rows:
        share = profile.duplicate_ids / profile.rows
        if share > policy.max_duplicate_share:
            violations.append(
                QualityViolation(
                    check="duplicate_ids",
                    observed=share,
                    threshold=policy.max_duplicate_share,
                    message=f"{profile.duplicate_ids} rows ({_pct(share)}) repeat an id already in the batch "
                    f"(allowed {_pct(policy.max_duplicate_share)})",
                )
            )
    violations += _invalid_predictions(profile.rows, policy, findings)
    for f in findings:
        # contract errors are values it had to repair (nulled, clipped): data quality problems;
        # its warnings (e.g. no timestamp column) stay informational, in the report's contract list
        if f.check in OWN_CHECKS or str(f.severity).lower() not in ERROR_SEVERITIES:
            continue
        violations.append(
            QualityViolation(
                check=f"contract:{f.check}",
                column=f.column,
                observed=float(f.count or 0),
                threshold=0,
                message=f.message,
                severity="error",
            )
        )
    quarantine = bool(violations) and policy.quarantine_on_violation
    return QualityResult(violations=violations, quarantine=quarantine)

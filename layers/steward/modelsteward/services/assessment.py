"""The assessment of one batch, pure (no storage, no events): PII screen, contract, profile, drift,
multivariate drift, quality, and the HTML page.

monitor_batch runs it on an upload, scale-out on merged chunk profiles, and `steward check` offline;
kept apart from monitor_batch so the offline check does not import the Lambda event models,
Powertools and the storage services it never uses (~50 ms of every cold start).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ..domain.assessment_record import DriftResult, MultivariateResult, QualityResult
from ..domain.baseline import Baseline
from ..domain.drift import detect_drift
from ..domain.multivariate import multivariate_drift
from ..domain.profile import Profile, profile_batch
from ..domain.quality import ContractFindingLike, evaluate_quality
from ..domain.report import PiiSummary
from ..errors import BatchRejected
from ..spec import ModelSpec

if TYPE_CHECKING:
    from .context import Context


class PiiRejected(BatchRejected):
    """The spec's PII policy is ``quarantine`` and the batch holds personal data."""

    code = "pii_found"

    def __init__(self, message: str, summary: PiiSummary) -> None:
        super().__init__(message)
        self.summary = summary


class QualityRejected(BatchRejected):
    code = "quality_violation"

    def __init__(self, message: str, quality: QualityResult) -> None:
        super().__init__(message)
        self.quality = quality


def pii_salt(ctx: Context, model: str) -> bytes:
    """Key for hashed PII, per model: HMAC of the secret ``PII_HASH_SALT`` (set it from a secret
    store in the template), so hashed values group consistently but cannot be confirmed by guessing.
    Without the secret the key derives from the stage name: consistent, but only pseudonymous."""
    secret = os.environ.get("PII_HASH_SALT", "").encode() or f"modelsteward-pii:{ctx.settings.stage}".encode()
    return hmac.new(secret, model.encode(), hashlib.sha256).digest()


def screen_pii(ctx: Context | None, table: pa.Table, spec: ModelSpec) -> tuple[pa.Table, PiiSummary]:
    """Scan for PII and apply the spec's policy: quarantine (raise), redact/hash (return the masked
    table) or allow (return as is). Runs before anything derived from the data is stored.

    Scans ``table`` as it is: for an upload use :func:`conform_and_screen`, which scans the columns
    as read, before the contract converts (and nulls) what is not of the spec's type."""
    from ..domain import pii

    scan = pii.scan_table(table, allow_columns=spec.pii.allow_columns)
    summary = _pii_verdict(scan, spec)
    return _apply_policy(ctx, table, spec, scan, summary), summary


def _pii_verdict(scan: Any, spec: ModelSpec) -> PiiSummary:
    """The summary of a scan; PiiRejected when the policy is quarantine and there are findings."""
    summary = PiiSummary.from_scan(scan, spec.pii.action)
    if summary.findings and spec.pii.action == "quarantine":
        kinds = sorted({f.kind for f in summary.findings})
        raise PiiRejected(
            f"personal data found in column(s) {', '.join(summary.columns)} ({', '.join(kinds)}); "
            "the model's pii.action is 'quarantine'",
            summary,
        )
    return summary


def _apply_policy(
    ctx: Context | None, table: pa.Table, spec: ModelSpec, scan: Any, summary: PiiSummary
) -> pa.Table:
    from ..domain import pii

    if not summary.findings:
        return table
    if spec.pii.action in ("redact", "hash"):
        salt = pii_salt(ctx, spec.name) if ctx is not None else b"modelsteward-offline"
        table = pii.apply_pii_policy(table, scan, spec.pii.action, salt=salt)
    return table


def conform_and_screen(
    ctx: Context | None, raw: pa.Table, spec: ModelSpec, *, role: str
) -> tuple[Any, pa.Table, PiiSummary]:
    """(conformed batch, PII-screened table, PII summary) of a table as read.

    The PII screen sees every column the contract keeps as read, whatever type the spec declares
    (emails in a numeric column are text until the contract nulls them), and runs first: a batch
    with personal data is refused for that, never with a message about its values."""
    from ..domain import pii
    from ..domain.contract import LABEL_ALIAS, conform, contract_columns

    scan = pii.scan_table(
        raw, allow_columns=spec.pii.allow_columns, columns=contract_columns(spec, raw.column_names)
    )
    if LABEL_ALIAS in raw.column_names and spec.target not in raw.column_names:  # conform renames it
        scan.findings = [
            replace(f, column=spec.target) if f.column == LABEL_ALIAS else f for f in scan.findings
        ]
    summary = _pii_verdict(scan, spec)
    conformed = conform(raw, spec, role=role)  # type: ignore[arg-type]
    return conformed, _apply_policy(ctx, conformed.table, spec, scan, summary), summary


# --- the assessment ----------------------------------------------------------------------------
@dataclass
class Assessment:
    profile: Profile
    drift: DriftResult
    multivariate: MultivariateResult | None
    quality: QualityResult
    stages_ms: dict[str, float] = field(default_factory=dict)


def _seed(batch_id: str) -> int:
    return int(hashlib.sha256(batch_id.encode()).hexdigest()[:8], 16)


def assess_batch(
    table: pa.Table,
    baseline: Baseline,
    spec: ModelSpec,
    *,
    batch_id: str,
    findings: Sequence[ContractFindingLike] | None = None,
) -> Assessment:
    """Profile, drift, multivariate drift and quality of a conformed batch against a baseline.

    ``findings`` are the data contract's (domain.contract.conform); when given, its duplicate-id
    count is reused instead of hashing the ids again.
    """
    duplicates = None if findings is None else sum(f.count for f in findings if f.check == "duplicate_ids")
    t0 = time.perf_counter()
    profile = profile_batch(table, baseline, spec, batch_id=batch_id, duplicate_ids=duplicates)
    stages = {"profile": round((time.perf_counter() - t0) * 1000, 2)}
    return assess_profile(profile, table, baseline, spec, batch_id=batch_id, findings=findings, stages=stages)


def assess_profile(
    profile: Profile,
    sample: pa.Table,
    baseline: Baseline,
    spec: ModelSpec,
    *,
    batch_id: str,
    findings: Sequence[ContractFindingLike] | None = None,
    stages: dict[str, float] | None = None,
) -> Assessment:
    """Drift, multivariate drift and quality of a batch profile. ``sample`` holds the rows the domain
    classifier samples from: the whole table (one run), or the merged chunk sample (scale-out)."""
    stages = dict(stages or {})

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        out = fn()
        stages[name] = round((time.perf_counter() - t0) * 1000, 2)
        return out

    drift = timed("drift", lambda: detect_drift(baseline, profile, spec.drift))
    multi = timed(
        "multivariate", lambda: multivariate_drift(baseline, sample, spec.drift, seed=_seed(batch_id))
    )
    quality = timed("quality", lambda: evaluate_quality(profile, baseline, spec.quality, findings or ()))
    return Assessment(profile, drift, multi, quality, stages)


def check_quality(assessment: Assessment) -> None:
    """QualityRejected when the spec quarantines batches with quality violations."""
    if assessment.quality.quarantine:
        raise QualityRejected(
            f"{len(assessment.quality.violations)} data quality violation(s) and the model's "
            "quality.quarantine_on_violation is true",
            assessment.quality,
        )

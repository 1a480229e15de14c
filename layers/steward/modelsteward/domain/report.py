"""The batch report: one JSON document a person, a dashboard and an auditor can all read.

It carries everything the HTML report draws (reference and current histograms per column) so no
renderer ever re-reads data, and everything lineage needs (source object version and hash,
baseline and spec versions). PII appears only as column/kind/count summaries, never values.
Its JSON schema is published in docs/report-schema.md (``BatchReport.model_json_schema()``).

One typed owner: monitor_batch (and ``steward check``) build it and write its JSON; every reader
(the page, the batch index, handle_alarm's email, the timeline, evaluate_labels' redraw) parses
report.json back with this model, never as a dict. Pydantic only (its parts are in
domain.assessment_record), so light functions read it without numpy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .assessment_record import (
    AttributionDrift,
    BatchBias,
    DatasetDrift,
    DriftResult,
    FeatureResult,
    Histogram,
    MultivariateResult,
    QualityResult,
    QualityViolation,
)
from .estimate_view import EstimateVsRealized

if TYPE_CHECKING:
    from .quality import ContractFindingLike

REPORT_SCHEMA_VERSION: Literal["1.0"] = "1.0"
Verdict = Literal["ok", "drift", "quality", "drift+quality"]

__all__ = [
    "BatchReport",
    "ContractFindingSummary",
    "DatasetDrift",
    "FeatureResult",
    "Histogram",
    "Lineage",
    "PiiSummary",
    "SourceRef",
    "Timings",
    "build_report",
    "verdict_of",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceRef(_Model):
    uri: str
    version_id: str | None = None
    sha256: str | None = None
    size: int | None = None


class PiiColumnFinding(_Model):
    column: str
    kind: str
    count: int
    share: float


class PiiSummary(_Model):
    action: str = Field(description="the spec's pii.action applied to this batch")
    rows_scanned: int = 0
    columns: list[str] = Field(default_factory=list)
    findings: list[PiiColumnFinding] = Field(default_factory=list)

    @classmethod
    def from_scan(cls, scan: Any | None, action: str) -> PiiSummary:
        """Summarize a domain.pii.PiiReport; examples and values are deliberately dropped."""
        if scan is None:
            return cls(action=action)
        findings = [
            PiiColumnFinding(column=f.column, kind=str(f.kind), count=int(f.count), share=float(f.share))
            for f in getattr(scan, "findings", [])
        ]
        return cls(
            action=action,
            rows_scanned=int(getattr(scan, "rows_scanned", 0)),
            columns=sorted({f.column for f in findings}),
            findings=findings,
        )


class ContractFindingSummary(_Model):
    check: str
    column: str | None = None
    severity: str
    message: str
    count: int = 0


class Timings(_Model):
    processing_ms: float
    peak_memory_mb: float
    stages_ms: dict[str, float] = Field(default_factory=dict)


class Lineage(_Model):
    inputs: list[dict[str, Any]] = Field(
        default_factory=list, description="object refs (uri, version_id, sha256)"
    )
    baseline: dict[str, Any] | None = Field(None, description="uri, version_id, sha256 of baseline.json")
    spec: dict[str, Any] | None = Field(
        None, description="uri, version_id, sha256 of the spec, and its fingerprint"
    )


class BatchReport(_Model):
    schema_version: Literal["1.0"] = REPORT_SCHEMA_VERSION
    model: str
    model_version: int | None = None
    batch_id: str
    source: SourceRef
    created_at: str
    rows: int
    time_min: str | None = None
    time_max: str | None = None
    verdict: Verdict
    dataset_drift: DatasetDrift
    features: list[FeatureResult]
    multivariate: MultivariateResult | None = None
    quality: list[QualityViolation] = Field(default_factory=list)
    pii: PiiSummary
    contract: list[ContractFindingSummary] = Field(default_factory=list)
    extra_columns: list[str] = Field(default_factory=list)
    timings: Timings
    lineage: Lineage
    bias: BatchBias | None = Field(
        default=None,
        description="selection rate per group, parity vs the committed "
        "bounds and the per-batch breach flag; null when the spec commits no prediction-only bound "
        "or the batch carries no sensitive attribute",
    )
    attribution_drift: AttributionDrift | None = Field(
        default=None,
        description="label-free global attributions of the "
        "champion's outputs on the batch against its version's baseline (nDCG, Clarify's check); "
        "available false with the reason when the suite did not score the batch (a model served "
        "elsewhere has no artefact to explain); null when the spec turns it off",
    )
    performance: EstimateVsRealized | None = Field(
        default=None,
        description="domain.estimate_view: the label-free estimate of each variant (value, 95% band "
        "and its width, whether its reference is large enough to trust) beside the realized value "
        "once labels arrived (evaluate_labels redraws report.html then; this JSON keeps what was "
        "known when the batch was monitored); null when the batch has no estimate",
    )

    def to_json(self, *, indent: int | None = None) -> str:
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, data: str | bytes) -> BatchReport:
        return cls.model_validate_json(data)

    @property
    def drifted(self) -> bool:
        return self.verdict in ("drift", "drift+quality")


def verdict_of(
    drift: DriftResult, multivariate: MultivariateResult | None, quality: QualityResult
) -> Verdict:
    """Drift = dataset drift, prediction drift or multivariate drift; quality = any violation."""
    drifted = drift.dataset.drifted or drift.prediction_drifted or bool(multivariate and multivariate.drifted)
    bad = bool(quality.violations)
    if drifted and bad:
        return "drift+quality"
    if drifted:
        return "drift"
    return "quality" if bad else "ok"


def build_report(
    *,
    model: str,
    model_version: int | None,
    batch_id: str,
    source: Mapping[str, Any],
    created_at: str,
    rows: int,
    drift: DriftResult,
    multivariate: MultivariateResult | None,
    quality: QualityResult,
    pii: PiiSummary,
    findings: Sequence[ContractFindingLike] = (),
    extra_columns: Sequence[str] = (),
    timings: Timings,
    lineage: Lineage,
    time_range: tuple[str | None, str | None] = (None, None),
    bias: BatchBias | None = None,
    attribution_drift: AttributionDrift | None = None,
    performance: EstimateVsRealized | None = None,
) -> BatchReport:
    return BatchReport(
        model=model,
        model_version=model_version,
        batch_id=batch_id,
        source=SourceRef(**{k: source.get(k) for k in ("uri", "version_id", "sha256", "size")}),
        created_at=created_at,
        rows=rows,
        time_min=time_range[0],
        time_max=time_range[1],
        verdict=verdict_of(drift, multivariate, quality),
        dataset_drift=drift.dataset,
        features=drift.features,
        multivariate=multivariate,
        quality=quality.violations,
        pii=pii,
        contract=[
            ContractFindingSummary(
                check=f.check,
                column=f.column,
                severity=str(f.severity),
                message=f.message,
                count=int(f.count or 0),
            )
            for f in findings
        ],
        extra_columns=list(extra_columns),
        bias=bias,
        attribution_drift=attribution_drift,
        performance=performance,
        timings=timings,
        lineage=lineage,
    )


def report_json_schema() -> dict[str, Any]:
    """JSON Schema of report.json (draft 2020-12, as pydantic writes it)."""
    return BatchReport.model_json_schema()


def schema_markdown() -> str:
    """docs/report-schema.md, generated: ``python -m modelsteward.domain.report > docs/report-schema.md``."""
    import json

    return f"""# report.json (schema version {REPORT_SCHEMA_VERSION})

One JSON document per accepted batch, at
`s3://<artifacts bucket>/reports/<model>/batches/<batch_id>/report.json`, next to `report.html`,
`profile.json` and `constraint_violations.json` (SageMaker Model Monitor format). `steward check`
writes the same document offline. This page is generated from the pydantic model
`modelsteward.domain.report.BatchReport`; a unit test fails when the two disagree.

Key fields:

- `verdict`: `ok`, `drift` (dataset drift, prediction drift or multivariate drift), `quality`
  (any quality violation) or `drift+quality`.
- `dataset_drift`: importance-weighted share of drifted input features, its threshold, the verdict.
- `features[]`: one entry per monitored column (features, prediction, probability, label when
  present): `method`, `score` (effect size beyond sampling noise, compared with `threshold` and
  `warn_threshold`), `raw_score` (the plain statistic other tools report) and `noise_floor`,
  `noise_band` (the raw score's 99th percentile without drift at this batch's size, learned from
  the reference; null for baselines built before bands), `effect` and `floor` (nothing under the
  floor is drift), `beyond_noise` (raw score above the band and effect at the floor: the evidence
  persistence over batches counts), `drift_reason` ("above the threshold 0.1", "beyond 2x its
  noise band ...", or "persistent: 6 of the last 6 batches beyond the noise band"),
  `test` (`ks` or `chi2`) with `p_value` and its Benjamini-Hochberg `p_value_adjusted`,
  `severity` (`none`, `warn`, `drift`, `insufficient_data`), `n_reference`, `n_current`, and
  `reference_hist` / `current_hist` on shared bins (numeric `edges`, outer edges are the observed
  min/max; or `categories`, with `__other__` last) so reports draw both without re-reading data.
- `multivariate`: domain-classifier AUC, its threshold and verdict (or a `note` why it was skipped).
- `quality[]`: violations with `check`, `column`, `observed`, `threshold`, `message`, `severity`.
- `pii`: the policy action and per column/kind counts. Values and examples are never included.
- `contract[]`: what the data contract repaired or noticed; `extra_columns` it dropped.
- `timings`: processing time (ms), peak memory (MB) and per-stage times.
- `performance`: the label-free estimate per variant (value, 95% band, band width, trust) and the
  realized value when labels were already there; `report.html` is redrawn with the realized values
  when labels arrive later (`quality/<model>/<batch_id>/realized.json`).
- `lineage`: the exact input object (uri, version id, SHA-256), the baseline and the spec versions.

Numbers are JSON numbers; absent values are `null`; no NaN or infinity is ever written.

## JSON Schema

```json
{json.dumps(report_json_schema(), indent=2, sort_keys=True)}
```
"""


if __name__ == "__main__":  # pragma: no cover
    print(schema_markdown(), end="")

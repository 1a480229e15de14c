"""The window report: the drift of a window's merged profile, its volume and its findings.

The window's drift is the drift of the **merged profile** of its batches (counts add, moments
merge: domain.profile), run through the same checks as a batch (domain.drift). Many small batches
that are each ``insufficient_data`` alone have, merged, the rows a test needs: slow drift that no
single batch shows is caught here. The report has the batch report's drift fields (``window``
instead of ``batch_id``); reporting.batch renders it with the batch page's sections
(``render_window_report``). Pydantic only, like domain.report: check_window writes it and reads
the previous window's back with this model.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .assessment_record import DatasetDrift, DriftResult, FeatureResult
from .window import Finding, VolumeCheck, WindowKind

WindowVerdict = Literal["ok", "drift", "no_data", "not_assessed"]
WINDOW_SCHEMA_VERSION: Literal["1.0"] = "1.0"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SkippedBatch(_Model):
    batch_id: str
    reason: str


class WindowSpan(_Model):
    """The window checked (domain.window.Window.as_dict)."""

    kind: WindowKind
    start: str
    end: str


class WindowLineage(_Model):
    baseline: dict[str, Any] | None = Field(None, description="uri, version_id, sha256 of baseline.json")
    profiles: list[dict[str, Any]] = Field(
        default_factory=list,
        description="the merged batch profiles (uri, version_id, sha256), the first ones",
    )
    profiles_total: int = Field(0, description="profiles merged (profiles lists at most a bounded number)")


class WindowReport(_Model):
    """One window of one model: the batch report's drift fields, plus volume and findings."""

    schema_version: Literal["1.0"] = WINDOW_SCHEMA_VERSION
    kind: Literal["window"] = "window"
    model: str
    model_version: int | None = None
    window: WindowSpan
    created_at: str
    partial: bool = Field(False, description="the window had not ended when it was checked")
    batches: int
    batch_ids: list[str]
    rows: int
    time_min: str | None = None
    time_max: str | None = None
    verdict: WindowVerdict
    dataset_drift: DatasetDrift | None = None
    features: list[FeatureResult] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    volume: VolumeCheck | None = None
    skipped_batches: list[SkippedBatch] = Field(default_factory=list)
    lineage: WindowLineage = Field(default_factory=WindowLineage)

    def to_json(self, *, indent: int | None = None) -> str:
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, data: str | bytes) -> WindowReport:
        return cls.model_validate_json(data)

    @property
    def drifted(self) -> bool:
        return self.verdict == "drift"


def window_verdict(drift: DriftResult | None, rows: int, *, other_baseline: int = 0) -> WindowVerdict:
    """drift: dataset or prediction drift of the merged profile; no_data: nothing could be tested;
    not_assessed: batches arrived, but all were profiled against another champion's baseline."""
    if drift is None or rows == 0:
        return "not_assessed" if other_baseline else "no_data"
    if drift.dataset.drifted or drift.prediction_drifted:
        return "drift"
    if drift.dataset.evaluated_features == 0 and not any(
        f.severity != "insufficient_data" for f in drift.features
    ):
        return "no_data"
    return "ok"

"""The drift-over-time record of one model: one point per monitored batch, oldest first.

services/timeline.py builds it from the batch reports and keeps it in ``reports/<model>/timeline.json``;
reporting/timeline.py draws it. One owner for both sides (the code that writes the record is the
code that reads it): a field renamed here fails mypy in the page instead of silently leaving it.
Pure pydantic, no numpy, so check_window's light path can build it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from .estimate_view import TimelineEstimate
from .persistence import REASON_PREFIX, persistent_features

TIMELINE_SCHEMA_VERSION: Literal["1"] = "1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TimelineFeature(_Model):
    """One feature of one batch: the drift.FeatureResult fields the page draws."""

    name: str
    score: float | None = Field(
        None, description="the verdict's score: raw minus the noise of the batch size"
    )
    raw_score: float | None = Field(None, description="the plain statistic (what other tools report)")
    noise_band: float | None = Field(None, description="the raw score's 99th percentile without drift")
    threshold: float | None = None
    beyond_noise: bool | None = None
    effect: float | None = None
    floor: float | None = None
    severity: Literal["none", "warn", "drift", "insufficient_data"] | None = Field(
        None, description="the batch verdict's, as its report says it (null for points kept from before)"
    )
    drift_reason: str | None = None


class TimelinePoint(_Model):
    """One monitored batch, at its event time (else the time it was monitored)."""

    at: AwareDatetime
    batch_id: str
    drifted_share: float | None = None
    threshold: float | None = None
    verdict: str | None = None
    features: list[TimelineFeature] = Field(default_factory=list)
    performance: TimelineEstimate | None = None

    @property
    def over(self) -> bool:
        """Drifted by its verdict, or its drifted share at or over the threshold."""
        share, limit = self.drifted_share, self.threshold
        return "drift" in (self.verdict or "").lower() or (
            share is not None and limit is not None and share >= limit
        )


class DriftTimeline(_Model):
    schema_version: Literal["1"] = TIMELINE_SCHEMA_VERSION
    model: str
    points: list[TimelinePoint] = Field(default_factory=list, description="oldest first")
    persistent: dict[str, str] = Field(
        default_factory=dict,
        description="feature -> reason, for features persistently beyond their noise band at the "
        "latest point",
    )

    @model_validator(mode="after")
    def _oldest_first(self) -> DriftTimeline:
        # stable: batches of one instant keep the order they were given in (arrival)
        self.points.sort(key=lambda p: p.at)
        return self


_LEGACY_POINTS = TypeAdapter(list[TimelinePoint])


def read_timeline(body: bytes) -> list[TimelinePoint] | None:
    """The points of a stored ``timeline.json``; None when unreadable (redraw from the reports).

    Accepts the bare list of points that versions before the typed record wrote, so an upgrade
    keeps the realized values those points collected instead of re-reading every report."""
    try:
        return DriftTimeline.model_validate_json(body).points
    except ValidationError:
        pass
    try:
        return _LEGACY_POINTS.validate_json(body)
    except ValidationError:
        return None


def persistent_now(points: Sequence[TimelinePoint]) -> dict[str, str]:
    """Features persistent at the latest point, with the reason the page shows: the latest batch
    verdict's own (monitor_batch decides persistence with the model's drift.persistence rule), even
    when that is "none". A latest point from before verdicts carried a reason (``drift_reason`` never
    set on any feature: the report had no such field, and timeline.json is written with unset fields
    left out) is judged here from the beyond-noise flags with the default rule, 3 of the last 4
    (domain/persistence.py)."""
    if not points:
        return {}
    latest = points[-1].features
    if any("drift_reason" in f.model_fields_set for f in latest):
        return {
            f.name: f.drift_reason
            for f in latest
            if f.drift_reason is not None and f.drift_reason.startswith(REASON_PREFIX)
        }
    history = [{f.name: f.beyond_noise is True for f in p.features} for p in points]
    effects = [{f.name: f.effect for f in p.features} for p in points]
    floors = {f.name: f.floor for f in latest if f.floor is not None}
    found = persistent_features(history, effects=effects, floors=floors)
    return {name: p.reason for name, p in found.items()}


def point_features(features: Sequence[Mapping[str, Any]]) -> list[TimelineFeature]:
    """A report's per-feature results as the timeline keeps them (every field TimelineFeature
    declares, taken by name, so a field added there is filled without a change here)."""
    names = TimelineFeature.model_fields
    return [TimelineFeature.model_validate({k: f.get(k) for k in names if k in f}) for f in features]


__all__ = [
    "DriftTimeline",
    "TimelineFeature",
    "TimelinePoint",
    "persistent_now",
    "point_features",
    "read_timeline",
]

"""Drift over time per model: one HTML page across its batch reports, refreshed by check_window.

The points come from the batch index (the listing check_window already made) and the reports'
JSON; ``timeline.json`` keeps the points drawn last time, so each run reads only the reports of
batches that are new since, and writes nothing when nothing changed (a repeated schedule tick
leaves no new object version). The cost is bounded by ``max_points`` whatever the history's length.

Labels come after the report: a point with a label-free estimate that is not yet fully labeled
re-reads its batch's small ``realized.json`` while it is younger than the label window (labels
older than ``retrain.training_window_days`` are never joined), so the realized value appears on
the page beside the estimate without re-reading any report.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..domain.report import BatchReport
from ..domain.window import BatchTimes
from ..errors import NotFound
from ..ports import ObjectRef
from .batch_index import BatchIndex
from .context import Context

MAX_POINTS = 200


def timeline_key(model: str) -> str:
    return f"reports/{model}/timeline.html"


def timeline_points_key(model: str) -> str:
    return f"reports/{model}/timeline.json"


def _awaits_labels(point: Mapping[str, Any], since: dt.datetime | None) -> bool:
    perf = point.get("performance")
    if not isinstance(perf, Mapping) or since is None:
        return False
    labeled, rows = perf.get("realized_rows"), perf.get("rows")
    if isinstance(labeled, int) and isinstance(rows, int) and labeled >= rows:
        return False  # every row judged
    try:
        at = dt.datetime.fromisoformat(str(point.get("at")))
    except ValueError:
        return False
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)) >= since


def _with_realized(ctx: Context, model: str, point: dict[str, Any]) -> dict[str, Any]:
    from .. import layout
    from ..domain.estimate_view import with_realized
    from .performance_view import read_json

    perf = point["performance"]
    batch_id = str(perf.get("batch_id") or point.get("batch_id"))  # its quality files' id
    realized = read_json(ctx, layout.batch_realized_key(model, batch_id))
    if realized is None:
        return point
    return {**point, "performance": with_realized(perf, realized)}


def _point(entry: BatchTimes, report: BatchReport) -> dict[str, Any]:
    from ..domain.estimate_view import timeline_entry

    return {
        "performance": timeline_entry(report.performance),
        "at": (entry.event_time or entry.created_at).isoformat(),
        "batch_id": entry.batch_id,
        "drifted_share": report.dataset_drift.share,
        "threshold": report.dataset_drift.threshold,
        "verdict": report.verdict,
        "features": [
            {
                "name": f.name,
                "score": f.score,
                "threshold": f.threshold,
                "beyond_noise": f.beyond_noise,
                "effect": f.effect,
                "floor": f.floor,
                "drift_reason": f.drift_reason,
            }
            for f in report.features
        ],
    }


def timeline_points(
    ctx: Context,
    model: str,
    entries: Sequence[BatchTimes] | None = None,
    previous: Sequence[dict[str, Any]] = (),
    *,
    max_points: int = MAX_POINTS,
    labels_since: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """The newest ``max_points`` batches' points; those in ``previous`` are reused, not re-read,
    except for the realized value of estimated points scored after ``labels_since``."""
    index = BatchIndex(ctx, ctx.settings.artifacts_bucket, model)
    listed = index.entries() if entries is None else entries
    known = {str(p.get("batch_id")): p for p in previous}
    points = []
    for entry in sorted(listed, key=lambda e: e.event_time or e.created_at)[-max_points:]:
        point = known.get(entry.batch_id)
        if point is None:
            report = index.read_report(entry.batch_id)
            if report is None:
                continue
            point = _point(entry, report)
        if _awaits_labels(point, labels_since):
            point = _with_realized(ctx, model, point)
        points.append(point)
    return points


def persistent_now(points: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Features persistent at the latest point, with the reason the page shows: the latest batch
    verdict's own (monitor_batch decides persistence with the model's drift.persistence rule). Points
    kept from before verdicts carried it (no ``drift_reason`` key) are judged here from their
    beyond-noise flags with the default rule, 3 of the last 4 (domain/persistence.py)."""
    from ..domain.persistence import REASON_PREFIX, persistent_features

    def features(point: dict[str, Any]) -> list[dict[str, Any]]:
        entries = point.get("features")
        return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []

    if not points:
        return {}
    latest = features(points[-1])
    if any("drift_reason" in e for e in latest):
        return {
            str(e.get("name")): str(e["drift_reason"])
            for e in latest
            if str(e.get("drift_reason") or "").startswith(REASON_PREFIX)
        }
    history = [{str(e.get("name")): e.get("beyond_noise") is True for e in features(p)} for p in points]
    effects = [{str(e.get("name")): as_number(e.get("effect")) for e in features(p)} for p in points]
    floors = {str(e.get("name")): as_number(e.get("floor")) for e in features(points[-1])}
    known = {name: floor for name, floor in floors.items() if floor is not None}
    found = persistent_features(history, effects=effects, floors=known)
    return {name: p.reason for name, p in found.items()}


def as_number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _previous_points(ctx: Context, model: str) -> list[dict[str, Any]]:
    try:
        body = ctx.store.get(ctx.settings.artifacts_bucket, timeline_points_key(model)).body
    except NotFound:
        return []
    try:
        points = json.loads(body)
    except ValueError:  # unreadable: redraw from the reports
        return []
    return points if isinstance(points, list) else []


def write_timeline(
    ctx: Context,
    model: str,
    entries: Sequence[BatchTimes] | None = None,
    *,
    labels_since: dt.datetime | None = None,
) -> ObjectRef | None:
    """Render reports/<model>/timeline.html; None when the model has no batch or nothing changed.
    ``labels_since``: the oldest batch time labels can still arrive for (check_window: now minus
    the spec's training window)."""
    from ..reporting import render_drift_timeline

    previous = _previous_points(ctx, model)
    points = timeline_points(ctx, model, entries, previous, labels_since=labels_since)
    if not points or points == previous:
        return None
    bucket = ctx.settings.artifacts_bucket
    ref = ctx.store.put(
        bucket,
        timeline_key(model),
        render_drift_timeline(model, points, persistent=persistent_now(points)).encode("utf-8"),
        content_type="text/html; charset=utf-8",
    )
    # after the page: a crash in between redraws it next time instead of skipping it
    ctx.store.put(
        bucket, timeline_points_key(model), json.dumps(points).encode(), content_type="application/json"
    )
    return ref


__all__ = ["persistent_now", "timeline_key", "timeline_points", "timeline_points_key", "write_timeline"]

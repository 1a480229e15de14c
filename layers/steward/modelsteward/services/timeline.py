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
from collections.abc import Sequence

from ..domain.report import BatchReport
from ..domain.timeline import (
    TIMELINE_SCHEMA_VERSION,
    DriftTimeline,
    TimelinePoint,
    persistent_now,
    point_features,
    read_timeline,
)
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


def _awaits_labels(point: TimelinePoint, since: dt.datetime | None) -> bool:
    perf = point.performance
    if perf is None or since is None:
        return False
    if perf.realized_rows is not None and perf.realized_rows >= perf.rows:
        return False  # every row judged
    return point.at >= since


def _with_realized(ctx: Context, model: str, point: TimelinePoint) -> TimelinePoint:
    from .. import layout
    from ..domain.estimate_view import with_realized
    from .performance_view import read_json

    perf = point.performance
    if perf is None:
        return point
    batch_id = perf.batch_id or point.batch_id  # its quality files' id
    realized = read_json(ctx, layout.batch_realized_key(model, batch_id))
    if realized is None:
        return point
    return point.model_copy(update={"performance": with_realized(perf, realized)})


def _point(entry: BatchTimes, report: BatchReport) -> TimelinePoint:
    from ..domain.estimate_view import timeline_entry

    return TimelinePoint(
        at=entry.event_time or entry.created_at,
        batch_id=entry.batch_id,
        drifted_share=report.dataset_drift.share,
        threshold=report.dataset_drift.threshold,
        verdict=report.verdict,
        features=point_features([f.model_dump() for f in report.features]),
        performance=timeline_entry(report.performance),
    )


def timeline_points(
    ctx: Context,
    model: str,
    entries: Sequence[BatchTimes] | None = None,
    previous: Sequence[TimelinePoint] = (),
    *,
    max_points: int = MAX_POINTS,
    labels_since: dt.datetime | None = None,
) -> list[TimelinePoint]:
    """The newest ``max_points`` batches' points; those in ``previous`` are reused, not re-read,
    except for the realized value of estimated points scored after ``labels_since``."""
    index = BatchIndex(ctx, ctx.settings.artifacts_bucket, model)
    listed = index.entries() if entries is None else entries
    known = {p.batch_id: p for p in previous}
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


def build_timeline(model: str, points: Sequence[TimelinePoint]) -> DriftTimeline:
    """The page's record: the points and which features are persistent at the latest one."""
    ordered = sorted(points, key=lambda p: p.at)
    return DriftTimeline(
        schema_version=TIMELINE_SCHEMA_VERSION,  # set, so timeline.json (unset fields left out) says it
        model=model,
        points=ordered,
        persistent=persistent_now(ordered),
    )


def _previous_points(ctx: Context, model: str) -> list[TimelinePoint]:
    try:
        body = ctx.store.get(ctx.settings.artifacts_bucket, timeline_points_key(model)).body
    except NotFound:
        return []
    return read_timeline(body) or []  # unreadable: redraw from the reports


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
    timeline = build_timeline(model, points)
    bucket = ctx.settings.artifacts_bucket
    ref = ctx.store.put(
        bucket,
        timeline_key(model),
        render_drift_timeline(timeline).encode("utf-8"),
        content_type="text/html; charset=utf-8",
    )
    # after the page: a crash in between redraws it next time instead of skipping it. Unset fields
    # stay unset: a feature without ``drift_reason`` is a point from before verdicts carried it
    # (domain.timeline.persistent_now)
    body = timeline.model_dump_json(exclude_unset=True).encode()
    ctx.store.put(bucket, timeline_points_key(model), body, content_type="application/json")
    return ref


__all__ = ["build_timeline", "timeline_key", "timeline_points", "timeline_points_key", "write_timeline"]

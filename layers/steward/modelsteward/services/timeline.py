"""Drift over time per model: one HTML page across its batch reports, refreshed by check_window.

The points come from the batch index (one listing) and the newest reports' JSON, so the cost is
bounded by ``max_points`` whatever the history's length.
"""

from __future__ import annotations

from typing import Any

from ..ports import ObjectRef
from .batch_index import BatchIndex
from .context import Context

MAX_POINTS = 200


def timeline_key(model: str) -> str:
    return f"reports/{model}/timeline.html"


def timeline_points(ctx: Context, model: str, *, max_points: int = MAX_POINTS) -> list[dict[str, Any]]:
    index = BatchIndex(ctx, ctx.settings.artifacts_bucket, model)
    entries = sorted(index.entries(), key=lambda e: e.event_time or e.created_at)[-max_points:]
    points = []
    for entry in entries:
        report = index.read_report(entry.batch_id)
        if not report:
            continue
        dataset = report.get("dataset_drift") or {}
        points.append(
            {
                "at": (entry.event_time or entry.created_at).isoformat(),
                "batch_id": entry.batch_id,
                "drifted_share": dataset.get("share"),
                "threshold": dataset.get("threshold"),
                "verdict": report.get("verdict"),
                "features": [
                    {"name": f.get("name"), "score": f.get("score"), "threshold": f.get("threshold")}
                    for f in report.get("features") or []
                ],
            }
        )
    return points


def write_timeline(ctx: Context, model: str) -> ObjectRef | None:
    """Render reports/<model>/timeline.html (None when the model has no batch yet)."""
    from ..reporting import render_drift_timeline

    points = timeline_points(ctx, model)
    if not points:
        return None
    html = render_drift_timeline(model, points)
    return ctx.store.put(
        ctx.settings.artifacts_bucket,
        timeline_key(model),
        html.encode("utf-8"),
        content_type="text/html; charset=utf-8",
    )


__all__ = ["timeline_key", "timeline_points", "write_timeline"]

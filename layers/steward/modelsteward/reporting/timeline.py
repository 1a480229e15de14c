"""Drift over time for one model: the drifted share of each batch against its threshold, and
per-feature score sparklines as small multiples, so a trend is visible before it alarms.

Reads the typed record services/timeline.py builds (``domain.timeline.DriftTimeline``) and nothing
else. Every chart on the page has one slot per batch, oldest left, the way the verdicts count them
(persistence: k of the last n batches; episodes: M of the last N): a burst of ten batches in a minute
stays as readable as a daily cadence, and the charts line up with each other.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..domain.timeline import DriftTimeline, TimelineFeature, TimelinePoint
from . import charts
from .batch import SEVERITIES, VERDICTS
from .kit import (
    MISSING,
    badge,
    banner,
    cell,
    empty_note,
    esc,
    fmt_number,
    fmt_percent,
    fmt_time,
    noise_evidence,
    page,
    require_type,
    section,
    stat_cards,
    table,
)

MAX_TABLE_ROWS = 100


def render_drift_timeline(timeline: DriftTimeline) -> str:
    """A complete HTML page of drift over time; anything but a ``DriftTimeline`` is a TypeError."""
    timeline = require_type(timeline, DriftTimeline)
    points = timeline.points
    body = [
        _banner(points),
        _stats(points),
        _chart_section(timeline.model, points),
        _estimates_section(points),
        _features_section(points, timeline.persistent),
        _points_section(points),
    ]
    span = f"{fmt_time(points[0].at)} \u2192 {fmt_time(points[-1].at)}" if points else MISSING
    return page(
        title=f"{timeline.model} \u2014 drift over time \u2014 Model Steward",
        eyebrow="Drift over time",
        heading=timeline.model,
        meta=[("Period", span), ("Points", fmt_number(len(points)))],
        body="".join(body),
    )


def _verdict(point: TimelinePoint) -> tuple[str, str]:
    """(tone, words) of a point's verdict."""
    verdict = (point.verdict or "").lower()
    return VERDICTS.get(verdict, ("muted", f"Verdict: {verdict or 'unknown'}"))


def _banner(points: list[TimelinePoint]) -> str:
    if not points:
        return banner(
            "info", "No batches monitored yet", "Points appear here after the first monitored batch."
        )
    last = points[-1]
    tone, words = _verdict(last)
    drifted = sum(1 for p in points if p.over)
    detail = (
        f"Latest {last.batch_id} at {fmt_time(last.at)}: drifted share "
        f"{fmt_percent(last.drifted_share)} (threshold {fmt_percent(last.threshold)}). "
        f"{drifted} of {len(points)} points drifted."
    )
    return banner(tone, f"Latest: {words}", detail, label="Latest verdict")


def _stats(points: list[TimelinePoint]) -> str:
    shares = [p.drifted_share for p in points if p.drifted_share is not None]
    drifted = sum(1 for p in points if p.over)
    last = points[-1] if points else None
    peak = max(points, key=lambda p: -1.0 if p.drifted_share is None else p.drifted_share) if points else None
    return stat_cards(
        [
            ("Points", fmt_number(len(points)), "batches", "info"),
            (
                "Drifted points",
                fmt_number(drifted),
                f"{fmt_percent(drifted / len(points)) if points else MISSING} of all",
                "bad" if drifted else "ok",
            ),
            (
                "Latest share",
                fmt_percent(last.drifted_share if last else None),
                f"threshold {fmt_percent(last.threshold if last else None)}",
                "bad" if last is not None and last.over else "ok",
            ),
            (
                "Peak share",
                fmt_percent(max(shares) if shares else None),
                fmt_time(peak.at) if shares and peak is not None else "",
                "info",
            ),
        ]
    )


def _chart_section(model: str, points: list[TimelinePoint]) -> str:
    chart_points = [
        {
            "at": p.at,
            "value": p.drifted_share,
            "threshold": p.threshold,
            "label": p.batch_id,
            "tone": _verdict(p)[0],
        }
        for p in points
    ]
    legend = (
        '<div class="legend"><span><span class="swatch swatch-cur"></span>drifted share (feature-importance '
        'weighted)</span><span><span class="swatch swatch-line"></span>dataset drift threshold</span>'
        "<span>red points: at or over the threshold \u00b7 amber: data quality problem</span>"
        "<span>one slot per batch, oldest left \u00b7 dotted line: a pause much longer than usual "
        "\u00b7 shaded: a burst of batches much closer than usual</span></div>"
    )
    chart = charts.line_chart(chart_points, title=f"{model}: drifted share over time", unit="batches")
    return section("Drifted share over time", legend + chart, anchor="timeline")


def _estimates_section(points: list[TimelinePoint]) -> str:
    from .estimates import metric_name, timeline_body, timeline_rows

    estimates = timeline_rows(points)
    if not estimates:
        return ""
    return section(
        f"Estimated {metric_name(estimates[0].get('metric'))} over time, and realized",
        timeline_body(estimates),
        anchor="estimates",
        note="The champion's label-free estimate per batch with its 95% band; the realized value "
        "appears when the batch's labels arrive. Most recent first in the table.",
    )


def _feature_series(points: list[TimelinePoint]) -> dict[str, list[TimelineFeature | None]]:
    """name -> its entry at each point (None where the point does not have the feature)."""
    series: dict[str, list[TimelineFeature | None]] = {}
    for index, point in enumerate(points):
        for feature in point.features:
            series.setdefault(feature.name, [None] * len(points))[index] = feature
    return series


def _latest_cell(latest: TimelineFeature | None) -> str:
    """The latest score, with its raw score and noise band in the batch report's words: the score is
    net of the noise expected at the batch size, so a healthy feature scores 0."""
    if latest is None:
        return esc(MISSING)
    text = noise_evidence(latest.raw_score, latest.noise_band, latest.floor, latest.beyond_noise)
    return esc(fmt_number(latest.score)) + (f'<span class="sub evidence">{esc(text)}</span>' if text else "")


def _latest(entries: list[TimelineFeature | None]) -> TimelineFeature | None:
    return next((e for e in reversed(entries) if e is not None and e.score is not None), None)


def _limit(entries: list[TimelineFeature | None]) -> float | None:
    """The feature's latest known threshold."""
    return next((e.threshold for e in reversed(entries) if e is not None and e.threshold is not None), None)


def _rank(item: tuple[str, list[TimelineFeature | None]]) -> tuple[float, float, str]:
    """Nearest its threshold first; among scores of 0, the highest raw score first."""
    latest, limit = _latest(item[1]), _limit(item[1])
    score = latest.score if latest is not None and latest.score is not None else 0.0
    raw = latest.raw_score if latest is not None and latest.raw_score is not None else 0.0
    return (-(score / limit if limit else score), -raw, item[0])


def _feature_row(
    name: str, entries: list[TimelineFeature | None], persistent: Mapping[str, str]
) -> list[str]:
    values = [e.score if e is not None else None for e in entries]
    present = [v for v in values if v is not None]
    latest, limit = _latest(entries), _limit(entries)
    over = sum(1 for v in present if limit is not None and v >= limit)
    state = _now(latest, limit)
    if name in persistent:
        state = badge("Persistent", "bad") + f'<span class="sub">{cell(persistent[name])}</span>'
    flags = [e.beyond_noise for e in entries if e is not None and e.beyond_noise is not None]
    return [
        f'<span class="feature-name">{cell(name)}</span>',
        charts.sparkline(values, threshold=limit, width=150, height=34, label=f"{name} score over time"),
        _latest_cell(latest),
        esc(fmt_number(max(present) if present else None)),
        esc(fmt_number(limit)),
        esc(f"{over} of {len(present)}") if limit is not None else MISSING,
        esc(f"{sum(flags)} of {len(flags)}") if flags else MISSING,
        state,
    ]


def _now(latest: TimelineFeature | None, limit: float | None) -> str:
    """The feature's state at its latest point: the batch verdict's severity in the batch report's
    words, with its reason (a score under the threshold can be drift: far beyond its noise band);
    for points kept from before the timeline carried it, the score against the threshold."""
    if latest is None:
        return ""
    if latest.severity is not None:
        words, tone, _ = SEVERITIES[latest.severity]
        reason = latest.drift_reason if latest.severity == "drift" else None
        return badge(words, tone) + (f'<span class="sub">{cell(reason)}</span>' if reason else "")
    if limit is None or latest.score is None:
        return ""
    return badge("Drift", "bad") if latest.score >= limit else badge("Below threshold", "ok")


def _features_section(points: list[TimelinePoint], persistent: Mapping[str, str]) -> str:
    series = _feature_series(points)
    if not series:
        return ""
    rows = [_feature_row(name, entries, persistent) for name, entries in sorted(series.items(), key=_rank)]
    headers = [
        "Feature",
        "Score trend",
        "Latest",
        "Peak",
        "Threshold",
        "Over threshold",
        "Beyond noise",
        "Now",
    ]
    return section(
        "Feature scores over time",
        table(headers, rows, numeric=[2, 3, 4, 5, 6]),
        anchor="features",
        note="Effect size per feature and point, oldest left; dashed red = the feature's drift threshold. "
        "Scores are net of the noise expected at the batch size (a healthy feature scores 0); the raw "
        "score under the latest one is the plain statistic other tools report. "
        "Beyond noise: points whose raw score was above the feature's noise band (and effect at its floor); "
        "Persistent: beyond it batch after batch (the model's drift.persistence rule, by default 3 of "
        "the last 4 batches), which is drift in the latest batch's verdict.",
    )


def _points_section(points: list[TimelinePoint]) -> str:
    if not points:
        return section("Points", empty_note("No points yet."), anchor="points")
    table_rows, classes = [], []
    for point in list(reversed(points))[:MAX_TABLE_ROWS]:
        tone, words = VERDICTS.get((point.verdict or "").lower(), ("muted", point.verdict or "unknown"))
        table_rows.append(
            [
                esc(fmt_time(point.at)),
                cell(point.batch_id),
                esc(fmt_percent(point.drifted_share)),
                esc(fmt_percent(point.threshold)),
                badge(words, tone),
            ]
        )
        classes.append("row-drift" if point.over else "")
    note = "Most recent first." + (
        f" Showing the latest {MAX_TABLE_ROWS}." if len(points) > MAX_TABLE_ROWS else ""
    )
    return section(
        "Batches",
        table(
            ["When", "Batch", "Drifted share", "Threshold", "Verdict"],
            table_rows,
            numeric=[2, 3],
            row_classes=classes,
            css_class="compact",
        ),
        anchor="points",
        note=note,
    )

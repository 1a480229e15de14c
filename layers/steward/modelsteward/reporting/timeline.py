"""Drift over time for one model: the drifted share of each batch or window against its threshold,
and per-feature score sparklines as small multiples, so a trend is visible before it alarms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import charts
from .batch import VERDICTS
from .kit import (
    MISSING,
    as_data,
    as_float,
    badge,
    banner,
    cell,
    empty_note,
    esc,
    fmt_number,
    fmt_percent,
    fmt_time,
    fmt_value,
    page,
    parse_time,
    pick,
    section,
    stat_cards,
    table,
)

MAX_TABLE_ROWS = 100


def render_drift_timeline(
    model: str, points: Sequence[Mapping[str, Any]], *, persistent: Mapping[str, str] | None = None
) -> str:
    """A complete HTML page of drift over time for ``model``.

    Each point: ``at`` (ISO time), ``batch_id`` or ``window`` ({start, end} or text),
    ``drifted_share``, ``threshold``, ``verdict`` and optionally per-feature scores under
    ``features`` (``{name: score}`` or ``{name: {score, threshold}}`` or a list of
    ``{name, score, threshold, beyond_noise}``), and ``performance``: the model's label-free
    estimate of its primary metric with its band and, once labels came, the realized value
    (``domain.estimate_view.timeline_entry``). ``persistent``: feature -> reason, for features
    persistently beyond their noise band at the latest point (services/timeline.py computes it).
    """
    rows = _sorted_by_time([dict(p) for p in (as_data(p) for p in points) if isinstance(p, Mapping)])
    for row in rows:
        row["_label"] = _point_label(row)
        row["_tone"] = VERDICTS.get(str(row.get("verdict") or "").lower(), ("muted", ""))[0]
    body = [
        _banner(rows),
        _stats(rows),
        _chart_section(model, rows),
        _estimates_section(rows),
        _features_section(rows, persistent or {}),
        _points_section(rows),
    ]
    span = ""
    if rows:
        span = f"{fmt_time(rows[0].get('at'))} \u2192 {fmt_time(rows[-1].get('at'))}"
    return page(
        title=f"{model} \u2014 drift over time \u2014 Model Steward",
        eyebrow="Drift over time",
        heading=str(model),
        meta=[("Period", span or MISSING), ("Points", fmt_number(len(rows)))],
        body="".join(body),
    )


def _sorted_by_time(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    times = [parse_time(r.get("at")) for r in rows]
    if rows and all(t is not None for t in times):
        keyed = [(charts.epoch(t), i) for i, t in enumerate(times) if t is not None]
        return [rows[i] for _, i in sorted(keyed)]
    return list(rows)


def _point_label(row: Mapping[str, Any]) -> str:
    batch = pick(row, "batch_id", "batch")
    if batch is not None:
        return fmt_value(batch)
    window = row.get("window")
    if isinstance(window, Mapping):
        return f"{fmt_time(pick(window, 'start'))} \u2192 {fmt_time(pick(window, 'end'))}"
    return fmt_value(window) if window is not None else ""


def _over(row: Mapping[str, Any]) -> bool:
    verdict = str(row.get("verdict") or "").lower()
    share, limit = as_float(row.get("drifted_share")), as_float(row.get("threshold"))
    return "drift" in verdict or (share is not None and limit is not None and share >= limit)


def _banner(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return banner(
            "info", "No batches monitored yet", "Points appear here after the first monitored batch."
        )
    last = rows[-1]
    verdict = str(last.get("verdict") or "").lower()
    tone, words = VERDICTS.get(verdict, ("muted", f"Verdict: {verdict or 'unknown'}"))
    drifted = sum(1 for r in rows if _over(r))
    detail = (
        f"Latest {last['_label'] or 'point'} at {fmt_time(last.get('at'))}: drifted share "
        f"{fmt_percent(last.get('drifted_share'))} (threshold {fmt_percent(last.get('threshold'))}). "
        f"{drifted} of {len(rows)} points drifted."
    )
    return banner(tone, f"Latest: {words}", detail, label="Latest verdict")


def _stats(rows: list[dict[str, Any]]) -> str:
    shares = [s for s in (as_float(r.get("drifted_share")) for r in rows) if s is not None]
    drifted = sum(1 for r in rows if _over(r))
    last = rows[-1] if rows else {}
    peak_row = max(rows, key=lambda r: as_float(r.get("drifted_share")) or -1.0) if rows else {}
    return stat_cards(
        [
            ("Points", fmt_number(len(rows)), "batches or windows", "info"),
            (
                "Drifted points",
                fmt_number(drifted),
                f"{fmt_percent(drifted / len(rows)) if rows else MISSING} of all",
                "bad" if drifted else "ok",
            ),
            (
                "Latest share",
                fmt_percent(last.get("drifted_share")),
                f"threshold {fmt_percent(last.get('threshold'))}",
                "bad" if rows and _over(last) else "ok",
            ),
            (
                "Peak share",
                fmt_percent(max(shares) if shares else None),
                fmt_time(peak_row.get("at")) if shares else "",
                "info",
            ),
        ]
    )


def _chart_section(model: str, rows: list[dict[str, Any]]) -> str:
    chart_points = [
        {
            "at": r.get("at"),
            "value": r.get("drifted_share"),
            "threshold": r.get("threshold"),
            "label": r["_label"],
            "tone": r["_tone"],
        }
        for r in rows
    ]
    legend = (
        '<div class="legend"><span><span class="swatch swatch-cur"></span>drifted share (feature-importance '
        'weighted)</span><span><span class="swatch swatch-line"></span>dataset drift threshold</span>'
        "<span>red points: at or over the threshold \u00b7 amber: data quality problem</span></div>"
    )
    chart = charts.line_chart(chart_points, title=f"{model}: drifted share over time")
    return section("Drifted share over time", legend + chart, anchor="timeline")


def _estimates_section(rows: list[dict[str, Any]]) -> str:
    from .estimates import metric_name, timeline_body, timeline_rows

    estimates = timeline_rows(rows)
    if not estimates:
        return ""
    return section(
        f"Estimated {metric_name(estimates[0].get('metric'))} over time, and realized",
        timeline_body(estimates),
        anchor="estimates",
        note="The champion's label-free estimate per batch with its 95% band; the realized value "
        "appears when the batch's labels arrive. Most recent first in the table.",
    )


def _feature_series(rows: list[dict[str, Any]]) -> dict[str, tuple[list[float | None], float | None]]:
    """name -> (score per point, latest known threshold)."""
    series: dict[str, list[float | None]] = {}
    thresholds: dict[str, float | None] = {}
    for index, row in enumerate(rows):
        scores = pick(row, "features", "feature_scores", "scores")
        entries: list[tuple[str, Any]] = []
        if isinstance(scores, Mapping):
            entries = [(str(k), v) for k, v in scores.items()]
        elif isinstance(scores, list):
            entries = [(str(e.get("name")), e) for e in scores if isinstance(e, Mapping)]
        for name, value in entries:
            score = as_float(value.get("score")) if isinstance(value, Mapping) else as_float(value)
            if isinstance(value, Mapping) and as_float(value.get("threshold")) is not None:
                thresholds[name] = as_float(value.get("threshold"))
            series.setdefault(name, [None] * index)
            series[name].append(score)
        for values in series.values():
            values.extend([None] * (index + 1 - len(values)))
    return {name: (values, thresholds.get(name)) for name, values in series.items()}


def _beyond_counts(rows: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """name -> (points beyond the noise band, points that say)."""
    counts: dict[str, list[int]] = {}
    for row in rows:
        entries = pick(row, "features", "feature_scores", "scores")
        for e in entries if isinstance(entries, list) else []:
            if isinstance(e, Mapping) and isinstance(e.get("beyond_noise"), bool):
                c = counts.setdefault(str(e.get("name")), [0, 0])
                c[0] += int(e["beyond_noise"])
                c[1] += 1
    return {name: (c[0], c[1]) for name, c in counts.items()}


def _features_section(rows: list[dict[str, Any]], persistent: Mapping[str, str]) -> str:
    series = _feature_series(rows)
    if not series:
        return ""
    beyond = _beyond_counts(rows)

    def order(item: tuple[str, tuple[list[float | None], float | None]]) -> tuple[float, str]:
        values, limit = item[1]
        latest = next((v for v in reversed(values) if v is not None), 0.0)
        return (-(latest / limit if limit else latest), item[0])

    table_rows = []
    for name, (values, limit) in sorted(series.items(), key=order):
        present = [v for v in values if v is not None]
        latest = present[-1] if present else None
        over = sum(1 for v in present if limit is not None and v >= limit)
        state = ""
        if limit is not None and latest is not None:
            state = badge("Drift", "bad") if latest >= limit else badge("Below threshold", "ok")
        if name in persistent:
            state = badge("Persistent", "bad") + f'<span class="sub">{cell(persistent[name])}</span>'
        k, n = beyond.get(name, (0, 0))
        table_rows.append(
            [
                f'<span class="feature-name">{cell(name)}</span>',
                charts.sparkline(
                    values, threshold=limit, width=220, height=34, label=f"{name} score over time"
                ),
                esc(fmt_number(latest)),
                esc(fmt_number(max(present) if present else None)),
                esc(fmt_number(limit)),
                esc(f"{over} of {len(present)}") if limit is not None else MISSING,
                esc(f"{k} of {n}") if n else MISSING,
                state,
            ]
        )
    return section(
        "Feature scores over time",
        table(
            [
                "Feature",
                "Score trend",
                "Latest",
                "Peak",
                "Threshold",
                "Over threshold",
                "Beyond noise",
                "Now",
            ],
            table_rows,
            numeric=[2, 3, 4, 5, 6],
        ),
        anchor="features",
        note="Effect size per feature and point, oldest left; dashed red = the feature's drift threshold. "
        "Beyond noise: points whose raw score was above the feature's noise band (and effect at its floor); "
        "Persistent: beyond it batch after batch (the model's drift.persistence rule, by default 3 of "
        "the last 4 batches), which is drift in the latest batch's verdict.",
    )


def _points_section(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return section("Points", empty_note("No points yet."), anchor="points")
    recent = list(reversed(rows))[:MAX_TABLE_ROWS]
    table_rows, classes = [], []
    for row in recent:
        verdict = str(row.get("verdict") or "").lower()
        tone, words = VERDICTS.get(verdict, ("muted", verdict or "unknown"))
        table_rows.append(
            [
                esc(fmt_time(row.get("at"))),
                cell(row["_label"]),
                esc(fmt_percent(row.get("drifted_share"))),
                esc(fmt_percent(row.get("threshold"))),
                badge(words, tone),
            ]
        )
        classes.append("row-drift" if _over(row) else "")
    note = "Most recent first." + (
        f" Showing the latest {MAX_TABLE_ROWS}." if len(rows) > MAX_TABLE_ROWS else ""
    )
    return section(
        "Batches and windows",
        table(
            ["When", "Batch / window", "Drifted share", "Threshold", "Verdict"],
            table_rows,
            numeric=[2, 3],
            row_classes=classes,
            css_class="compact",
        ),
        anchor="points",
        note=note,
    )

"""The label-free estimate, its 95% band and (once labels came) the realized value, side by side: the
batch report's "Model performance" section and the drift-over-time page's estimate chart.

The batch report's section takes ``domain.estimate_view.EstimateVsRealized`` (the report's typed
``performance``); the timeline's rows are its points' ``performance`` entries. Nothing here reads
documents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..domain.estimate_view import EstimateVsRealized, VariantComparison
from ..domain.timeline import TimelinePoint
from . import charts
from .kit import (
    MISSING,
    as_float,
    badge,
    cell,
    empty_note,
    esc,
    fmt_number,
    fmt_percent,
    humanize,
    table,
)

METRIC_NAMES = {
    "roc_auc": "ROC AUC",
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "log_loss": "Log loss",
}
#: a share of rows scored beyond the reference's range worth a sentence
BEYOND_NOTE_SHARE = 0.05


def metric_name(metric: Any) -> str:
    return METRIC_NAMES.get(str(metric), humanize(str(metric)))


def _num(value: Any) -> str:
    """Metrics with three decimals (0.760, not 0.76): a band and its width read alike."""
    number = as_float(value)
    return MISSING if number is None else f"{number:.3f}"


def _signed(value: Any) -> str:
    number = as_float(value)
    return MISSING if number is None else f"{number:+.3f}"


def where_realized(row: Mapping[str, Any]) -> tuple[str, str]:
    """(words, tone) of where the realized value fell."""
    if as_float(row.get("realized")) is None:
        return "Awaiting labels", "muted"
    if row.get("inside_band") is False:
        return "Outside the band", "bad"
    if row.get("inside_band") is True:
        return "Inside the band", "ok"
    return "No band", "muted"


def sentence(row: Mapping[str, Any], realized_rows: Any) -> str:
    """One plain sentence: estimate, band and width; then the realized value and where it fell."""
    name = metric_name(row.get("metric"))
    text = f"Estimated {name} {_num(row.get('estimate'))}"
    if as_float(row.get("lower")) is not None and as_float(row.get("upper")) is not None:
        band = f"{_num(row.get('lower'))} to {_num(row.get('upper'))}"
        text += f", 95% band {band} (width {_num(row.get('width'))})"
    real = as_float(row.get("realized"))
    if real is None:
        return text + ". Realized: awaiting labels."
    gap = as_float(row.get("gap")) or 0.0
    side = "above" if gap > 0 else ("below" if gap < 0 else "equal to")
    place = where_realized(row)[0].lower()
    rows = f" from {fmt_number(realized_rows)} labeled rows" if isinstance(realized_rows, int) else ""
    amount = f"{abs(gap):.3f} {side}" if gap else side
    return f"{text}. Realized {_num(real)}{rows}: {place}, {amount} the estimate."


# long: one variant's estimate-vs-realized block: badges, sentence, chart and table in page order
def _variant_block(variant: VariantComparison, primary: str) -> str:
    metrics = variant.metrics
    name = variant.variant or "model"
    title = {"model": "All rows"}.get(name, name.capitalize())
    bits = [title]
    if variant.version is not None:
        bits.append(f"v{variant.version}")
    bits.append(f"{fmt_number(variant.rows)} rows scored")
    badges = [badge("Trusted estimate", "ok") if variant.trusted else badge("Estimate not trusted", "warn")]
    realized_rows = variant.realized_rows
    if realized_rows is not None:
        badges.append(badge(f"Realized from {fmt_number(realized_rows)} labeled rows", "info"))
    else:
        badges.append(badge("Awaiting labels", "muted"))
    dot = " \u00b7 "
    parts = [f"<h3>{esc(dot.join(bits))}</h3><p>{' '.join(badges)}</p>"]
    rows_of = [m.model_dump() for m in metrics]  # the sentence reads a timeline row's fields too
    head = variant.metric(primary) or (metrics[0] if metrics else None)
    if head is not None:
        parts.append(f'<p class="estimate-sentence">{esc(sentence(head.model_dump(), realized_rows))}</p>')
    if not variant.trusted:
        note = variant.trust_note or "the labeled reference is too small"
        parts.append(f'<p class="trust-note"><b>Not trusted:</b> {esc(note)}.</p>')
    beyond = variant.beyond_reference_share
    if beyond is not None and beyond >= BEYOND_NOTE_SHARE:
        parts.append(
            f"<p>{esc(fmt_percent(beyond))} of the rows scored outside the reference's score range: "
            "the calibration extrapolates there.</p>"
        )
    rows = []
    for m in rows_of:
        words, tone = where_realized(m)
        rows.append(
            [
                esc(metric_name(m.get("metric"))),
                esc(_num(m.get("estimate"))),
                esc(f"{_num(m.get('lower'))} \u2013 {_num(m.get('upper'))}"),
                esc(_num(m.get("width"))),
                charts.interval_bar(
                    m.get("estimate"),
                    m.get("lower"),
                    m.get("upper"),
                    m.get("realized"),
                    label=f"{metric_name(m.get('metric'))}: {sentence(m, realized_rows)}",
                ),
                esc(_num(m.get("realized"))),
                esc(_signed(m.get("gap"))),
                badge(words, tone),
            ]
        )
    headers = [
        "Metric",
        "Estimate",
        "95% band",
        "Band width",
        "Band and realized",
        "Realized",
        "Realized \u2212 estimate",
        "Where",
    ]
    parts.append(table(headers, rows, numeric=[1, 2, 3, 5, 6], css_class="compact estimates"))
    return "".join(parts)


def performance_body(performance: EstimateVsRealized) -> str:
    """The batch report's section body: one block per variant, the primary metric first."""
    if not performance.variants:
        return empty_note("No label-free estimate for this batch.")
    return "".join(_variant_block(v, performance.primary_metric) for v in performance.variants)


NOTE = (
    "The estimate comes from the model's own probabilities, calibrated on the labeled reference of "
    "its version: it follows shifts of the inputs, not a change of what they mean (only labels show "
    "that). The 95% band covers the batch's sampling noise and the calibration's own error. In the "
    "chart the band is the shaded bar, the estimate the blue tick, the realized value the dot "
    "(green inside the band, red outside)."
)


def timeline_rows(points: Sequence[TimelinePoint]) -> list[dict[str, Any]]:
    """Chart and table rows of the points that carry an estimate (each point's ``performance``)."""
    return [
        {**p.performance.model_dump(), "label": p.batch_id, "at": p.at}
        for p in points
        if p.performance is not None and p.performance.estimate is not None
    ]


def timeline_body(rows: Sequence[Mapping[str, Any]]) -> str:
    """The drift-over-time page's estimate section: the band chart and a table, newest first."""
    metric = metric_name(rows[0].get("metric"))
    legend = (
        '<div class="legend"><span><span class="swatch swatch-cur"></span>estimate (shaded: its 95% '
        "band)</span><span>dots: realized once labels came \u00b7 green inside the band, red outside"
        "</span></div>"
    )
    chart = charts.band_chart(rows, title=f"estimated {metric} over time, with realized values")
    table_rows, classes = [], []
    for row in list(reversed(rows))[:100]:
        words, tone = where_realized(row)
        untrusted = row.get("trusted") is False
        table_rows.append(
            [
                cell(row.get("label")),
                esc(_num(row.get("estimate"))),
                esc(f"{_num(row.get('lower'))} \u2013 {_num(row.get('upper'))}"),
                esc(_num(row.get("width"))),
                esc(_num(row.get("realized"))),
                esc(_signed(row.get("gap"))),
                badge(words, tone) + (" " + badge("not trusted", "warn") if untrusted else ""),
            ]
        )
        classes.append("row-fail" if row.get("inside_band") is False else "")
    headers = ["Batch", "Estimate", "95% band", "Band width", "Realized", "Realized \u2212 estimate", "Where"]
    return (
        legend
        + chart
        + table(headers, table_rows, numeric=[1, 2, 3, 4, 5], row_classes=classes, css_class="compact")
    )

"""The batch and window drift and quality reports: what happened to this upload (or window), at a glance.

Each page reads the typed record its writer builds and nothing else: ``render_batch_report`` a
``domain.report.BatchReport``, ``render_window_report`` a ``domain.window_report.WindowReport``
(a dict is a TypeError, ``kit.require_type``). Readers of report.json parse it with the same model
first, so a field the writer renames fails mypy instead of dropping off the page. The two pages
share their sections: verdict, key numbers, features (with the distributions), lineage.
"""

from __future__ import annotations

import csv
import io
import urllib.parse
from collections.abc import Sequence
from typing import Any

from ..domain.assessment_record import (
    AttributionDrift,
    BatchBias,
    DatasetDrift,
    FeatureResult,
    Histogram,
    MultivariateResult,
    QualityViolation,
    Severity,
)
from ..domain.estimate_view import EstimateVsRealized
from ..domain.report import BatchReport, ContractFindingSummary, Lineage, PiiSummary, Timings, Verdict
from ..domain.window import Finding
from ..domain.window_report import WindowLineage, WindowReport, WindowVerdict
from . import charts
from .kit import (
    MISSING,
    as_float,
    badge,
    banner,
    cell,
    definition_list,
    empty_note,
    esc,
    fmt_number,
    fmt_p,
    fmt_percent,
    fmt_time,
    fmt_value,
    neutralise_formula,
    noise_evidence,
    page,
    ref_row,
    refs_table,
    require_type,
    section,
    stat_cards,
    table,
)

#: (tone, headline) per verdict: every ``Verdict`` and ``WindowVerdict`` (the timeline's points
#: may carry the older words too)
VERDICTS: dict[str, tuple[str, str]] = {
    "ok": ("ok", "No drift, data quality OK"),
    "drift": ("bad", "Drift detected"),
    "quality": ("warn", "Data quality problems"),
    "drift+quality": ("bad", "Drift and data quality problems"),
    "quality+drift": ("bad", "Drift and data quality problems"),
    "rejected": ("bad", "Batch rejected"),
    "quarantined": ("bad", "Batch quarantined"),
    "no_data": ("muted", "No data to assess"),
    "not_assessed": ("warn", "Not assessed: every batch was profiled against another baseline"),
}

SEVERITIES: dict[Severity, tuple[str, str, int]] = {
    # severity -> (badge text, tone, sort rank: lower first)
    "drift": ("Drift", "bad", 0),
    "warn": ("Warning", "warn", 1),
    "insufficient_data": ("Too few rows", "muted", 2),
    "none": ("No drift", "ok", 3),
}

FINDING_TONES = {"error": "bad", "critical": "bad", "fail": "bad", "warn": "warn", "warning": "warn"}
#: merged batches and profiles listed one by one on a window's page (the rest are counted)
LISTED = 20


def render_batch_report(report: BatchReport) -> str:
    """A complete HTML page for one batch; anything but a ``BatchReport`` is a TypeError."""
    report = require_type(report, BatchReport)
    features = sorted(report.features, key=_feature_order)
    violations = report.quality
    quality_bit = f"{len(violations)} quality violation{'s' if len(violations) != 1 else ''}"
    body = [
        _verdict_banner(report.verdict, features, report.dataset_drift, report.multivariate, [quality_bit]),
        _batch_numbers(report, features),
        _performance_section(report.performance),
        _features_section(features),
        _quality_section(violations),
        _bias_section(report.bias),
        _attribution_section(report.attribution_drift),
        '<div class="grid2">',
        _pii_section(report.pii),
        _contract_section(report.contract, report.extra_columns),
        "</div>",
        _lineage_section(_batch_refs(report.source.model_dump(), report.lineage)),
        _timings_section(report.timings),
    ]
    return page(
        title=f"{report.model} \u2014 batch {fmt_value(report.batch_id)} \u2014 Model Steward",
        eyebrow="Batch drift & quality report",
        heading=_heading(report.model, report.model_version),
        meta=[("Batch", fmt_value(report.batch_id)), ("Created", fmt_time(report.created_at))],
        body="".join(body),
    )


def render_window_report(report: WindowReport) -> str:
    """A complete HTML page for one window of merged batch profiles; anything but a
    ``WindowReport`` is a TypeError."""
    report = require_type(report, WindowReport)
    features = sorted(report.features, key=_feature_order)
    bits = [f"{fmt_number(report.batches)} batch{'es' if report.batches != 1 else ''} merged"]
    if report.findings:
        bits.append(f"{len(report.findings)} finding{'s' if len(report.findings) != 1 else ''}")
    start, end = report.window.start, report.window.end
    body = [
        _verdict_banner(report.verdict, features, report.dataset_drift, None, bits),
        _window_numbers(report, features),
        _findings_section(report.findings),
        _features_section(features),
        _window_batches_section(report),
        _lineage_section(_window_refs(report.lineage)),
    ]
    return page(
        title=f"{report.model} \u2014 window {fmt_time(start)} \u2014 Model Steward",
        eyebrow="Window drift & quality report",
        heading=_heading(report.model, report.model_version),
        meta=[
            ("Window", f"{fmt_time(start)} \u2192 {fmt_time(end)}"),
            ("Created", fmt_time(report.created_at)),
        ],
        body="".join(body),
    )


# ---------------------------------------------------------------------------------------------


def _heading(model: str, version: int | None) -> str:
    return model + (f" \u00b7 v{version}" if version is not None else "")


def _feature_order(feature: FeatureResult) -> tuple[int, int, float, str]:
    score = feature.score or 0.0
    ratio = score / feature.threshold if feature.threshold else score
    drifted_first = 0 if feature.drifted else 1
    return (drifted_first, SEVERITIES[feature.severity][2], -ratio, feature.name)


def _inputs(features: Sequence[FeatureResult]) -> list[FeatureResult]:
    return [f for f in features if f.kind in ("numeric", "categorical")]


def _drift_counts(features: Sequence[FeatureResult], dataset: DatasetDrift | None) -> tuple[int, int]:
    """(drifted, evaluated) input features, from the dataset verdict when there is one."""
    if dataset is not None:
        return len(dataset.drifted_features), dataset.evaluated_features
    inputs = _inputs(features)
    return sum(1 for f in inputs if f.drifted), len(inputs)


def _verdict_banner(
    verdict: Verdict | WindowVerdict,
    features: Sequence[FeatureResult],
    dataset: DatasetDrift | None,
    multivariate: MultivariateResult | None,
    more: Sequence[str],
) -> str:
    tone, headline = VERDICTS[verdict]
    bits = []
    if features:
        drifted_n, evaluated_n = _drift_counts(features, dataset)
        text = f"{drifted_n} of {evaluated_n} input features drifted"
        if dataset is not None:
            text += (
                f" (weighted share {fmt_percent(dataset.share)}, threshold {fmt_percent(dataset.threshold)})"
            )
        bits.append(text)
        if any(f.drifted for f in features if f.kind == "prediction"):
            bits.append("prediction drifted")
    if multivariate is not None and multivariate.auc is not None:
        bits.append(f"multivariate AUC {multivariate.auc:.2f} (threshold {multivariate.threshold:.2f})")
    bits.extend(more)
    return banner(tone, headline, " \u00b7 ".join(bits))


def _rows_card(rows: int, note: str) -> tuple[str, str, str, str]:
    return ("Rows", fmt_number(rows), note, "info")


def _time_note(time_min: str | None, time_max: str | None) -> str:
    return f"{fmt_time(time_min)} \u2192 {fmt_time(time_max)}" if time_min and time_max else ""


def _share_card(features: Sequence[FeatureResult], dataset: DatasetDrift | None) -> tuple[str, str, str, str]:
    drifted_n, evaluated_n = _drift_counts(features, dataset)
    counts = f"{drifted_n} of {evaluated_n} features"
    if dataset is None:
        return ("Drifted share", MISSING, counts, "info")
    note = f"threshold {fmt_percent(dataset.threshold)} \u00b7 {counts}"
    return ("Drifted share", fmt_percent(dataset.share), note, "bad" if dataset.drifted else "ok")


def _batch_numbers(report: BatchReport, features: Sequence[FeatureResult]) -> str:
    """The batch's tiles in page order: rows, drifted share, multivariate AUC, quality, PII."""
    rows_note = _time_note(report.time_min, report.time_max) or f"{len(features)} columns monitored"
    cards = [_rows_card(report.rows, rows_note), _share_card(features, report.dataset_drift)]
    cards.append(_multivariate_card(report.multivariate))
    violations = report.quality
    cards.append(
        (
            "Quality violations",
            fmt_number(len(violations)),
            "checks failed" if violations else "all checks passed",
            "warn" if violations else "ok",
        )
    )
    pii = report.pii
    columns = {f.column for f in pii.findings}
    kinds = sorted({f.kind for f in pii.findings})
    note = ", ".join(kinds[:3]) + (f" \u00b7 action {pii.action}" if pii.action else "")
    cards.append(
        (
            "PII columns",
            fmt_number(len(columns)),
            note if columns else "none found",
            "warn" if columns else "ok",
        )
    )
    return stat_cards(cards)


def _multivariate_card(multivariate: MultivariateResult | None) -> tuple[str, str, str, str]:
    if multivariate is None:
        return ("Multivariate AUC", MISSING, "domain classifier", "info")
    auc = multivariate.auc
    note = f"threshold {fmt_number(multivariate.threshold)}"
    if multivariate.drifted:
        note += " \u00b7 drift"
    if auc is None and multivariate.note:
        note = multivariate.note
    tone = "bad" if multivariate.drifted else ("ok" if auc is not None else "info")
    return ("Multivariate AUC", f"{auc:.3f}" if auc is not None else MISSING, note, tone)


def _window_numbers(report: WindowReport, features: Sequence[FeatureResult]) -> str:
    """The window's tiles: rows tested (of the rows the feed sent), drifted share, batches, findings."""
    rows_note = _time_note(report.time_min, report.time_max) or f"{len(features)} columns monitored"
    received = report.volume.rows if report.volume is not None else None
    if received is not None and received != report.rows:  # rows tested vs rows the feed sent
        rows_note = f"tested, of {fmt_number(received)} received"
    skipped = len(report.skipped_batches)
    batches_note = f"{skipped} not merged" if skipped else "profiles merged"
    warned = any(f.severity == "warn" for f in report.findings)
    cards = [
        _rows_card(report.rows, rows_note),
        _share_card(features, report.dataset_drift),
        ("Batches", fmt_number(report.batches), batches_note, "warn" if skipped else "info"),
        (
            "Findings",
            fmt_number(len(report.findings)),
            ", ".join(sorted({f.check for f in report.findings})) or "volume and coverage as expected",
            "warn" if warned else ("info" if report.findings else "ok"),
        ),
    ]
    return stat_cards(cards)


def _features_section(features: Sequence[FeatureResult]) -> str:
    if not features:
        note = empty_note("This report has no per-feature drift results.")
        return section("Features", note, anchor="features")
    rows, classes = [], []
    for feature in features:
        text, tone, _ = SEVERITIES[feature.severity]
        rows.append(
            [
                _feature_name_cell(feature),
                cell(feature.method)
                + (f'<span class="sub">{esc(feature.test)} test</span>' if feature.test else ""),
                _score_cell(feature),
                f'<span title="{esc(_p_title(feature))}">{esc(fmt_p(feature.p_value_adjusted))}</span>',
                f"{esc(fmt_number(feature.n_reference))}"
                f'<span class="sub">{esc(fmt_number(feature.n_current))}</span>',
                badge(text, tone)
                + (f'<span class="sub">{cell(feature.drift_reason)}</span>' if feature.drift_reason else ""),
                _distribution_chart(feature),
            ]
        )
        classes.append("feature-row " + {"drift": "row-drift", "warn": "row-warn"}.get(feature.severity, ""))
    legend = (
        '<div class="toolbar"><div class="legend">'
        '<span><span class="swatch swatch-ref"></span>reference</span>'
        '<span><span class="swatch swatch-cur"></span>current</span>'
        "<span>score bar: black tick = drift threshold, amber tick = warning</span></div>"
        f'<a class="download" download="features.csv" href="{esc(_features_csv_uri(features))}">'
        "Download table (CSV)</a></div>"
    )
    note = (
        "Drifted first. A feature drifts when its effect size reaches the threshold and its "
        "Benjamini-Hochberg adjusted p-value is below the significance level, with enough rows on both "
        "sides; or, under the threshold, when its raw score is well beyond its noise band (what the "
        "score reaches without drift at this batch size, learned from the reference) and its effect "
        "reaches the floor. "
        "Beyond the noise band batch after batch, it drifts for persistence."
    )
    headers = [
        "Feature",
        "Method",
        "Score / threshold",
        "p adj",
        "n ref / cur",
        "Severity",
        "Reference vs current",
    ]
    return section(
        "Features",
        legend + table(headers, rows, numeric=[3, 4], row_classes=classes, css_class="features"),
        anchor="features",
        note=note,
    )


def _score_cell(feature: FeatureResult) -> str:
    score, limit = feature.score, feature.threshold
    text = (
        f'<span class="scoretext"><b>{esc(fmt_number(score))}</b> / {esc(fmt_number(limit))}</span>'
        if as_float(score) is not None
        else '<span class="scoretext">no score</span>'
    )
    bar = charts.score_bar(score, limit, warn_threshold=feature.warn_threshold, severity=feature.severity)
    return f'<div class="scorebox">{bar}{text}{_evidence(feature)}</div>'


def _evidence(feature: FeatureResult) -> str:
    """Raw score next to the noise band (and the floor) the verdict weighed it against."""
    text = noise_evidence(feature.raw_score, feature.noise_band, feature.floor, feature.beyond_noise)
    return f'<span class="sub">{esc(text)}</span>' if text else ""


def _feature_name_cell(feature: FeatureResult) -> str:
    parts = [f'<span class="feature-name">{cell(feature.name)}</span>']
    parts.append(f' <span class="kind">{esc(feature.kind)}</span>')
    if feature.importance:
        parts.append(f'<span class="sub">importance {esc(fmt_number(feature.importance, 2))}</span>')
    if feature.note:
        parts.append(f'<span class="sub note">{cell(feature.note)}</span>')
    return "".join(parts)


def _p_title(feature: FeatureResult) -> str:
    return f"p = {fmt_number(feature.p_value)}, adjusted p = {fmt_number(feature.p_value_adjusted)}"


def _hist(histogram: Histogram | None) -> dict[str, Any]:
    """charts draws plain counts (the timeline's too): the histogram's fields, or nothing."""
    return histogram.model_dump() if histogram is not None else {}


def _distribution_chart(feature: FeatureResult) -> str:
    ref, cur = feature.reference_hist, feature.current_hist
    if ref is None and cur is None:
        return '<span class="muted">no histogram</span>'
    label = fmt_value(feature.name)
    if any(h is not None and h.categories is not None for h in (ref, cur)):
        return charts.category_pair(_hist(ref), _hist(cur), label=label)
    return charts.histogram_pair(_hist(ref), _hist(cur), label=label)


CSV_COLUMNS = (
    "name",
    "kind",
    "method",
    "score",
    "threshold",
    "warn_threshold",
    "p_value",
    "p_value_adjusted",
    "drifted",
    "severity",
    "n_reference",
    "n_current",
    "importance",
    "raw_score",
    "noise_floor",
    "noise_band",
    "effect",
    "floor",
    "beyond_noise",
    "drift_reason",
)


def features_csv(features: Sequence[FeatureResult]) -> str:
    """The feature table as CSV; every text cell is formula-neutralised (see kit.neutralise_formula)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for feature in features:
        fields = feature.model_dump(include=set(CSV_COLUMNS))
        row = []
        for column in CSV_COLUMNS:
            value = fields[column]
            if value is None:
                row.append("")
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                row.append(repr(value))
            else:
                row.append(neutralise_formula(str(value)))
        writer.writerow(row)
    return buffer.getvalue()


def _features_csv_uri(features: Sequence[FeatureResult]) -> str:
    return "data:text/csv;charset=utf-8," + urllib.parse.quote(features_csv(features), safe="")


def _severity_row(severity: str, tone: str, *cells: str) -> list[str]:
    """A findings-table row: the severity as a badge (``tone`` when the word has none), then ``cells``."""
    return [badge(severity or "finding", FINDING_TONES.get(severity.lower(), tone)), *cells]


def _table_section(
    title: str, anchor: str, empty: str, headers: list[str], rows: list[list[str]], **options: Any
) -> str:
    """A section holding one table, or the ``empty`` note when there is no row."""
    if not rows:
        return section(title, empty_note(empty), anchor=anchor)
    note = options.pop("note", "")
    return section(title, table(headers, rows, **options), anchor=anchor, note=note)


def _quality_section(violations: Sequence[QualityViolation]) -> str:
    rows = [
        _severity_row(
            v.severity,
            "warn",
            cell(v.check),
            f'<span class="feature-name">{cell(v.column)}</span>',
            cell(v.observed),
            cell(v.threshold),
            cell(v.message),
        )
        for v in violations
    ]
    count = len(violations)
    headers = ["Severity", "Check", "Column", "Observed", "Threshold", "Message"]
    return _table_section(
        "Data quality",
        "quality",
        "No data-quality violations.",
        headers,
        rows,
        numeric=[3, 4],
        note=f"{count} violation{'s' if count != 1 else ''}.",
    )


def _findings_section(findings: Sequence[Finding]) -> str:
    """A window's findings: volume against the previous windows, batches not merged, coverage."""
    rows = [
        _severity_row(f.severity, "info", cell(f.check), cell(f.message), cell(f.value), cell(f.threshold))
        for f in findings
    ]
    headers = ["Severity", "Check", "Message", "Value", "Threshold"]
    return _table_section(
        "Window findings",
        "findings",
        "No findings for this window.",
        headers,
        rows,
        numeric=[3, 4],
        css_class="compact",
    )


def _window_batches_section(report: WindowReport) -> str:
    """Which batches the window merged, whether it had ended, which were left out and why."""
    items = [
        ("Batches merged", esc(fmt_number(report.batches))),
        ("Window ended when checked", esc("no (partial)" if report.partial else "yes")),
    ]
    if report.volume is not None:
        history = ", ".join(fmt_number(r) for r in report.volume.history) or MISSING
        items.append(("Rows received", esc(fmt_number(report.volume.rows))))
        items.append(("Rows of the previous windows", esc(history)))
    body = definition_list(items)
    if report.batch_ids:
        ids = [[cell(b)] for b in report.batch_ids[:LISTED]]
        if len(report.batch_ids) > LISTED:
            ids.append(
                [esc(f"and {fmt_number(len(report.batch_ids) - LISTED)} more (report.json lists all)")]
            )
        body += "<h3>Batch ids</h3>" + table(["Batch"], ids, css_class="compact")
    if report.skipped_batches:
        skipped = [[cell(s.batch_id), cell(s.reason)] for s in report.skipped_batches]
        body += "<h3>Not merged</h3>" + table(["Batch", "Reason"], skipped, css_class="compact")
    return section("Batches", body, anchor="batches")


def _pii_section(pii: PiiSummary) -> str:
    items = [("Action", cell(pii.action)), ("Rows scanned", cell(pii.rows_scanned))]
    if pii.findings:
        rows = [
            [
                f'<span class="feature-name">{cell(f.column)}</span>',
                cell(f.kind),
                esc(fmt_number(f.count)),
                esc(fmt_percent(f.share, 2)),
            ]
            for f in pii.findings
        ]
        body = table(["Column", "Kind", "Rows", "Share"], rows, numeric=[2, 3], css_class="compact")
    else:
        body = empty_note("No PII found.")
    note = "Counts and kinds only: values are never shown."
    return section("PII scan", definition_list(items) + body, anchor="pii", note=note)


def _contract_section(contract: Sequence[ContractFindingSummary], extra_columns: Sequence[str]) -> str:
    extra = ""
    if extra_columns:
        names = ", ".join(neutralise_formula(c) for c in extra_columns)
        extra = f'<p class="section-note">Extra columns (not in the spec): {esc(names)}</p>'
    if not contract:
        return section(
            "Data contract", extra + empty_note("The batch met its data contract."), anchor="contract"
        )
    rows = [
        _severity_row(
            c.severity,
            "info",
            cell(c.check),
            f'<span class="feature-name">{cell(c.column)}</span>',
            cell(c.message),
            esc(fmt_number(c.count)) if c.count else MISSING,
        )
        for c in contract
    ]
    body = table(["Severity", "Check", "Column", "Message", "Rows"], rows, numeric=[4], css_class="compact")
    return section("Data contract", extra + body, anchor="contract")


def _batch_refs(source: dict[str, Any], lineage: Lineage) -> list[list[str]]:
    """The source first, then the other inputs (duplicates dropped), the baseline and the spec."""
    inputs: dict[str, dict[str, Any]] = {}
    for ref in [source, *lineage.inputs]:
        uri = ref.get("uri")
        if uri and str(uri) not in inputs:
            inputs[str(uri)] = ref
    rows = []
    for i, ref in enumerate(inputs.values()):
        rows.append(ref_row("Input" if len(inputs) == 1 else f"Input {i + 1}", ref))
    rows += [ref_row("Baseline", lineage.baseline), ref_row("Spec", lineage.spec)]
    return [r for r in rows if r is not None]


def _window_refs(lineage: WindowLineage) -> list[list[str]]:
    rows = [ref_row("Baseline", lineage.baseline)]
    shown = lineage.profiles[:LISTED]
    rows += [ref_row(f"Profile {i + 1}", ref) for i, ref in enumerate(shown)]
    rest = max(lineage.profiles_total, len(lineage.profiles)) - len(shown)
    if rest > 0:
        rows.append([esc(f"{rest} more profiles"), MISSING, MISSING, MISSING])
    return [r for r in rows if r is not None]


def _lineage_section(rows: list[list[str]]) -> str:
    if not rows:
        return ""
    return section(
        "Lineage",
        refs_table(rows),
        anchor="lineage",
        note="Exact object versions this report was computed from.",
    )


def _timings_section(timings: Timings) -> str:
    items = [
        ("Processing time", esc(f"{fmt_number(timings.processing_ms)} ms")),
        ("Peak memory", esc(f"{fmt_number(timings.peak_memory_mb)} MB")),
    ]
    body = definition_list(items)
    if timings.stages_ms:
        parts = list(timings.stages_ms.items())
        legend = "".join(
            f'<span><span class="swatch" style="background:{charts.stack_colour(i)}">'
            f"</span>{esc(name)} {esc(fmt_number(value))} ms</span>"
            for i, (name, value) in enumerate(parts)
        )
        body += (
            f'<h3>Stages</h3><div class="stack">{charts.stacked_bar(parts, unit=" ms")}</div>'
            f'<div class="legend">{legend}</div>'
        )
    return section("Processing", body, anchor="timings")


def _performance_section(performance: EstimateVsRealized | None) -> str:
    """Label-free estimate, band, width and realized value per variant (reporting.estimates)."""
    if performance is None:
        return ""
    from .estimates import NOTE, performance_body

    return section(
        "Model performance: estimate and realized",
        performance_body(performance),
        anchor="performance",
        note=NOTE,
    )


def _bias_section(bias: BatchBias | None) -> str:
    """Selection rate per group against the committed fairness bounds (group figures only)."""
    if bias is None:
        return ""
    head = badge("Fairness bound broken", "bad") if bias.breach else badge(f"Fairness {bias.verdict}", "ok")
    rows = [[cell(k), cell(bias.bounds.get(k)), cell(bias.values.get(k))] for k in sorted(bias.bounds)]
    body = [f"<p>{head}</p>", table(["Metric", "Bound", "This batch"], rows, numeric=[1, 2])]
    group_rows = [
        [cell(attr), cell(g), cell(bias.group_rows.get(attr, {}).get(g)), cell(rate)]
        for attr, rates in sorted(bias.selection_rates.items())
        for g, rate in sorted(rates.items())
    ]
    if group_rows:
        body.append(table(["Attribute", "Group", "Rows", "Selection rate"], group_rows, numeric=[2, 3]))
    if bias.too_small:
        listed = "; ".join(f"{a}: {', '.join(g)}" for a, g in bias.too_small.items())
        body.append(empty_note("Too small to judge: " + listed))
    return section("Bias (predictions per group)", "".join(body), anchor="bias")


def _attribution_section(drift: AttributionDrift | None) -> str:
    """Global attributions of the champion's outputs on the batch against its version's baseline."""
    if drift is None:
        return ""
    title = "Feature attribution drift"
    if not drift.available:
        return section(title, empty_note(drift.reason or "not available"), anchor="attribution")
    ndcg, threshold = fmt_value(drift.ndcg), fmt_value(drift.threshold)
    if drift.drifted:
        head = badge(f"Attribution drift: nDCG {ndcg} < {threshold}", "bad")
    else:
        head = badge(f"Attributions stable: nDCG {ndcg} (threshold {threshold})", "ok")
    rows = [
        [cell(r.feature), cell(r.baseline_rank), cell(r.current_rank), cell(r.baseline), cell(r.current)]
        for r in drift.ranks
    ]
    note = (
        f"Label-free: the change of v{fmt_value(drift.version)}'s outputs when a feature is "
        f"shuffled, on {fmt_value(drift.rows)} champion rows, against the same measure on its "
        "holdout at training; nDCG of the batch's ranking (Clarify's feature attribution drift check)."
    )
    headers = ["Feature", "Baseline rank", "Batch rank", "Baseline share", "Batch share"]
    body = f"<p>{head}</p>" + table(headers, rows, numeric=[1, 2, 3, 4])
    return section(title, body, anchor="attribution", note=note)

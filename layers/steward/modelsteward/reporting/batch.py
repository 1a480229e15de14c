"""The batch (or window) drift and quality report: what happened to this upload, at a glance.

Reads the report tolerantly: a ``domain.report.BatchReport``, any pydantic model or dataclass of
the same shape, or its JSON as a dict. Missing parts show as missing, never as a crash, and a
window report (``window: {start, end}`` instead of ``batch_id``) renders the same way.
"""

from __future__ import annotations

import csv
import io
import urllib.parse
from collections.abc import Mapping
from typing import Any

from . import charts
from .kit import (
    MISSING,
    as_data,
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
    humanize,
    labelled_items,
    neutralise_formula,
    noise_evidence,
    page,
    pick,
    records_table,
    ref_row,
    refs_table,
    render_value,
    section,
    stat_cards,
    table,
)

VERDICTS: dict[str, tuple[str, str]] = {
    "ok": ("ok", "No drift, data quality OK"),
    "drift": ("bad", "Drift detected"),
    "quality": ("warn", "Data quality problems"),
    "drift+quality": ("bad", "Drift and data quality problems"),
    "quality+drift": ("bad", "Drift and data quality problems"),
    "rejected": ("bad", "Batch rejected"),
    "quarantined": ("bad", "Batch quarantined"),
    "no_data": ("muted", "No data to assess"),
    "not_assessed": ("warn", "Not assessed: the champion changed during the window"),
}

SEVERITIES: dict[str, tuple[str, str, int]] = {
    # severity -> (badge text, tone, sort rank: lower first)
    "drift": ("Drift", "bad", 0),
    "warn": ("Warning", "warn", 1),
    "insufficient_data": ("Too few rows", "muted", 2),
    "none": ("No drift", "ok", 3),
}

FINDING_TONES = {"error": "bad", "critical": "bad", "fail": "bad", "warn": "warn", "warning": "warn"}

# Keys rendered in a dedicated place; anything else lands under "Other details".
_KNOWN_KEYS = frozenset(
    {
        "model", "model_name", "model_version", "version", "batch_id", "batch", "window", "window_start",
        "window_end", "source", "input", "created_at", "rows", "n_rows", "row_count", "verdict",
        "dataset_drift", "dataset", "drift", "features", "multivariate", "quality_violations", "quality",
        "violations", "pii", "pii_summary", "contract_findings", "contract", "extra_columns", "timings",
        "timings_ms", "lineage", "baseline", "kind", "schema_version", "time_min", "time_max", "bias",
        "attribution_drift", "performance",
    }
)  # fmt: skip


def render_batch_report(report: Any) -> str:
    """A complete HTML page for one batch (or window) report."""
    data = as_data(report)
    if not isinstance(data, Mapping):
        data = {}
    model = str(pick(data, "model", "model_name", default="unknown model"))
    version = pick(data, "model_version", "version")
    window = _window(data)
    batch_id = pick(data, "batch_id", "batch")
    heading = f"{model}" + (f" \u00b7 v{version}" if version not in (None, "") else "")
    if window:
        eyebrow = "Window drift & quality report"
        meta = [("Window", f"{fmt_time(window[0])} \u2192 {fmt_time(window[1])}")]
    else:
        eyebrow = "Batch drift & quality report"
        meta = [("Batch", fmt_value(batch_id))]
    meta.append(("Created", fmt_time(pick(data, "created_at"))))

    features = [f for f in (pick(data, "features", default=[]) or []) if isinstance(f, Mapping)]
    features.sort(key=_feature_order)
    dataset = _mapping(pick(data, "dataset_drift", "dataset", "drift"))
    multivariate = _mapping(pick(data, "multivariate"))
    violations = _violations(data)
    body = [
        _verdict_banner(data, features, dataset, multivariate, violations),
        _key_numbers(data, features, dataset, multivariate, violations),
        _performance_section(pick(data, "performance")),
        _features_section(features),
        _quality_section(violations),
        _bias_section(_mapping(pick(data, "bias"))),
        _attribution_section(_mapping(pick(data, "attribution_drift"))),
        '<div class="grid2">',
        _pii_section(pick(data, "pii", "pii_summary")),
        _contract_section(pick(data, "contract", "contract_findings"), pick(data, "extra_columns")),
        "</div>",
        _lineage_section(data),
        _timings_section(pick(data, "timings", "timings_ms")),
        _other_section(data),
    ]
    scope = f"window {fmt_time(window[0])}" if window else f"batch {fmt_value(batch_id)}"
    return page(
        title=f"{model} \u2014 {scope} \u2014 Model Steward",
        eyebrow=eyebrow,
        heading=heading,
        meta=meta,
        body="".join(body),
    )


# ---------------------------------------------------------------------------------------------


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _window(data: Mapping[str, Any]) -> tuple[Any, Any] | None:
    window = pick(data, "window")
    if isinstance(window, Mapping):
        return (pick(window, "start", "window_start"), pick(window, "end", "window_end"))
    start, end = pick(data, "window_start"), pick(data, "window_end")
    if start is not None or end is not None:
        return (start, end)
    return None


def _severity(feature: Mapping[str, Any]) -> str:
    severity = str(feature.get("severity") or "").lower()
    if severity in SEVERITIES:
        return severity
    return "drift" if feature.get("drifted") else "none"


def _feature_order(feature: Mapping[str, Any]) -> tuple[int, int, float, str]:
    score = as_float(feature.get("score")) or 0.0
    limit = as_float(feature.get("threshold"))
    ratio = score / limit if limit else score
    drifted_first = 0 if feature.get("drifted") else 1
    return (drifted_first, SEVERITIES[_severity(feature)][2], -ratio, str(feature.get("name")))


def _violations(data: Mapping[str, Any]) -> list[Any]:
    found = pick(data, "quality_violations", "violations")
    if found is None:
        quality = pick(data, "quality")
        found = quality.get("violations") if isinstance(quality, Mapping) else quality
    return list(found) if isinstance(found, list) else []


def _drift_counts(features: list[Mapping[str, Any]], dataset: Mapping[str, Any]) -> tuple[int, int]:
    """(drifted, evaluated) input features, from the dataset verdict when it says so."""
    names = dataset.get("drifted_features")
    evaluated = dataset.get("evaluated_features")
    inputs = [f for f in features if f.get("kind") in ("numeric", "categorical", None)]
    drifted_n = len(names) if isinstance(names, list) else sum(1 for f in inputs if f.get("drifted"))
    evaluated_n = evaluated if isinstance(evaluated, int) else len(inputs)
    return drifted_n, evaluated_n


def _verdict_banner(
    data: Mapping[str, Any],
    features: list[Mapping[str, Any]],
    dataset: Mapping[str, Any],
    multivariate: Mapping[str, Any],
    violations: list[Any],
) -> str:
    verdict = str(pick(data, "verdict", default="") or "").lower()
    if not verdict:
        drifted = bool(dataset.get("drifted")) or bool(multivariate.get("drifted"))
        verdict = "+".join(v for v, on in (("drift", drifted), ("quality", bool(violations))) if on) or "ok"
    tone, headline = VERDICTS.get(verdict, ("muted", f"Verdict: {verdict}"))
    bits = []
    if features:
        drifted_n, evaluated_n = _drift_counts(features, dataset)
        text = f"{drifted_n} of {evaluated_n} input features drifted"
        if dataset.get("share") is not None:
            text += f" (weighted share {fmt_percent(dataset.get('share'))}"
            limit = dataset.get("threshold")
            text += f", threshold {fmt_percent(limit)})" if limit is not None else ")"
        bits.append(text)
        predictions = [f for f in features if f.get("kind") == "prediction"]
        if any(f.get("drifted") for f in predictions):
            bits.append("prediction drifted")
    auc = as_float(multivariate.get("auc"))
    if auc is not None:
        limit = as_float(multivariate.get("threshold"))
        bits.append(
            f"multivariate AUC {auc:.2f}" + (f" (threshold {limit:.2f})" if limit is not None else "")
        )
    bits.append(f"{len(violations)} quality violation{'s' if len(violations) != 1 else ''}")
    return banner(tone, headline, " \u00b7 ".join(bits))


# long: the report's tiles, one by one in page order
def _key_numbers(
    data: Mapping[str, Any],
    features: list[Mapping[str, Any]],
    dataset: Mapping[str, Any],
    multivariate: Mapping[str, Any],
    violations: list[Any],
) -> str:
    rows = pick(data, "rows", "n_rows", "row_count")
    time_min, time_max = pick(data, "time_min"), pick(data, "time_max")
    rows_note = f"{fmt_time(time_min)} \u2192 {fmt_time(time_max)}" if time_min and time_max else ""
    volume = data.get("volume")
    received = volume.get("rows") if isinstance(volume, Mapping) else None
    if isinstance(received, int) and received != rows:  # a window: rows tested vs rows the feed sent
        rows_note = f"tested, of {fmt_number(received)} received"
    share, limit = dataset.get("share"), dataset.get("threshold")
    drifted_n, evaluated_n = _drift_counts(features, dataset)
    ds_drifted = dataset.get("drifted")
    ds_tone = "bad" if ds_drifted else ("ok" if share is not None else "info")
    auc = as_float(multivariate.get("auc"))
    mv_limit = multivariate.get("threshold")
    mv_note = f"threshold {fmt_number(mv_limit)}" if mv_limit is not None else "domain classifier"
    if multivariate.get("drifted"):
        mv_note += " \u00b7 drift"
    if auc is None and multivariate.get("note"):
        mv_note = str(multivariate.get("note"))
    cards = [
        ("Rows", fmt_number(rows), rows_note or f"{len(features)} columns monitored", "info"),
        (
            "Drifted share",
            fmt_percent(share),
            (f"threshold {fmt_percent(limit)} \u00b7 " if limit is not None else "")
            + f"{drifted_n} of {evaluated_n} features",
            ds_tone,
        ),
        (
            "Multivariate AUC",
            f"{auc:.3f}" if auc is not None else MISSING,
            mv_note,
            "bad" if multivariate.get("drifted") else ("ok" if auc is not None else "info"),
        ),
        (
            "Quality violations",
            fmt_number(len(violations)),
            "checks failed" if violations else "all checks passed",
            "warn" if violations else "ok",
        ),
    ]
    pii = pick(data, "pii", "pii_summary")
    if isinstance(pii, Mapping) and isinstance(pii.get("findings"), list):
        columns = {str(f.get("column")) for f in pii["findings"] if isinstance(f, Mapping)}
        kinds = sorted({str(f.get("kind")) for f in pii["findings"] if isinstance(f, Mapping)})
        note = ", ".join(kinds[:3]) + (f" \u00b7 action {pii.get('action')}" if pii.get("action") else "")
        cards.append(
            (
                "PII columns",
                fmt_number(len(columns)),
                note if columns else "none found",
                "warn" if columns else "ok",
            )
        )
    return stat_cards(cards)


# long: one table, column by column in page order
def _features_section(features: list[Mapping[str, Any]]) -> str:
    if not features:
        note = empty_note("This report has no per-feature drift results.")
        return section("Features", note, anchor="features")
    rows, classes = [], []
    for feature in features:
        severity = _severity(feature)
        text, tone, _ = SEVERITIES[severity]
        name = fmt_value(feature.get("name"))
        score, limit = feature.get("score"), feature.get("threshold")
        score_text = (
            f'<span class="scoretext"><b>{esc(fmt_number(score))}</b> / {esc(fmt_number(limit))}</span>'
            if as_float(score) is not None
            else '<span class="scoretext">no score</span>'
        )
        bar = charts.score_bar(score, limit, warn_threshold=feature.get("warn_threshold"), severity=severity)
        score_text += _evidence(feature)
        p_adjusted = feature.get("p_value_adjusted")
        rows.append(
            [
                _feature_name_cell(feature, name),
                cell(feature.get("method"))
                + (
                    f'<span class="sub">{esc(feature.get("test"))} test</span>' if feature.get("test") else ""
                ),
                f'<div class="scorebox">{bar}{score_text}</div>',
                f'<span title="{esc(_p_title(feature))}">{esc(fmt_p(p_adjusted))}</span>',
                f"{esc(fmt_number(feature.get('n_reference')))}"
                f'<span class="sub">{esc(fmt_number(feature.get("n_current")))}</span>',
                badge(text, tone)
                + (
                    f'<span class="sub">{cell(feature.get("drift_reason"))}</span>'
                    if feature.get("drift_reason")
                    else ""
                ),
                _distribution_chart(feature, name),
            ]
        )
        classes.append("feature-row " + {"drift": "row-drift", "warn": "row-warn"}.get(severity, ""))
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


def _evidence(feature: Mapping[str, Any]) -> str:
    """Raw score next to the noise band (and the floor) the verdict weighed it against."""
    text = noise_evidence(
        feature.get("raw_score"), feature.get("noise_band"), feature.get("floor"), feature.get("beyond_noise")
    )
    return f'<span class="sub">{esc(text)}</span>' if text else ""


def _feature_name_cell(feature: Mapping[str, Any], name: str) -> str:
    kind = str(feature.get("kind") or "")
    parts = [f'<span class="feature-name">{cell(name)}</span>']
    if kind:
        parts.append(f' <span class="kind">{esc(kind)}</span>')
    importance = as_float(feature.get("importance"))
    if importance:
        parts.append(f'<span class="sub">importance {esc(fmt_number(importance, 2))}</span>')
    if feature.get("note"):
        parts.append(f'<span class="sub note">{cell(feature.get("note"))}</span>')
    return "".join(parts)


def _p_title(feature: Mapping[str, Any]) -> str:
    raw, adjusted = feature.get("p_value"), feature.get("p_value_adjusted")
    return f"p = {fmt_number(raw)}, adjusted p = {fmt_number(adjusted)}"


def _distribution_chart(feature: Mapping[str, Any], name: str) -> str:
    ref = feature.get("reference_hist") or {}
    cur = feature.get("current_hist") or {}
    if not isinstance(ref, Mapping) or not isinstance(cur, Mapping) or not (ref or cur):
        return '<span class="muted">no histogram</span>'
    if ref.get("categories") is not None or cur.get("categories") is not None:
        return charts.category_pair(ref, cur, label=name)
    return charts.histogram_pair(ref, cur, label=name)


CSV_COLUMNS = (
    "name", "kind", "method", "score", "threshold", "warn_threshold", "p_value", "p_value_adjusted",
    "drifted", "severity", "n_reference", "n_current", "importance",
    "raw_score", "noise_floor", "noise_band", "effect", "floor", "beyond_noise", "drift_reason",
)  # fmt: skip


def features_csv(features: list[Mapping[str, Any]]) -> str:
    """The feature table as CSV; every text cell is formula-neutralised (see kit.neutralise_formula)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for feature in features:
        row = []
        for column in CSV_COLUMNS:
            value = feature.get(column)
            if value is None:
                row.append("")
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                row.append(repr(value))
            else:
                row.append(neutralise_formula(str(value)))
        writer.writerow(row)
    return buffer.getvalue()


def _features_csv_uri(features: list[Mapping[str, Any]]) -> str:
    return "data:text/csv;charset=utf-8," + urllib.parse.quote(features_csv(features), safe="")


def _quality_section(violations: list[Any]) -> str:
    if not violations:
        return section("Data quality", empty_note("No data-quality violations."), anchor="quality")
    rows = []
    for item in violations:
        if isinstance(item, Mapping):
            severity = str(item.get("severity") or "")
            column = pick(item, "column", "feature", "feature_name")
            rows.append(
                [
                    badge(severity or "violation", FINDING_TONES.get(severity.lower(), "warn")),
                    cell(pick(item, "check", "constraint_check_type", "type")),
                    f'<span class="feature-name">{cell(column)}</span>',
                    cell(item.get("observed")),
                    cell(item.get("threshold")),
                    cell(pick(item, "message", "description")),
                ]
            )
        else:
            rows.append([badge("violation", "warn"), MISSING, MISSING, MISSING, MISSING, cell(item)])
    count = len(violations)
    return section(
        "Data quality",
        table(["Severity", "Check", "Column", "Observed", "Threshold", "Message"], rows, numeric=[3, 4]),
        anchor="quality",
        note=f"{count} violation{'s' if count != 1 else ''}.",
    )


def _pii_section(pii: Any) -> str:
    note = "Counts and kinds only: values are never shown."
    if pii in (None, {}, []):
        return section("PII scan", empty_note("No PII scan result."), anchor="pii")
    if not isinstance(pii, Mapping) or not isinstance(pii.get("findings", []), list):
        return section("PII scan", render_value(pii), anchor="pii", note=note)
    items = labelled_items(pii, skip=("findings", "columns"))
    findings = [f for f in pii.get("findings", []) if isinstance(f, Mapping)]
    if findings:
        rows = [
            [
                f'<span class="feature-name">{cell(f.get("column"))}</span>',
                cell(f.get("kind")),
                esc(fmt_number(f.get("count"))),
                esc(fmt_percent(f.get("share"), 2)) if as_float(f.get("share")) is not None else MISSING,
            ]
            for f in findings
        ]
        body = table(["Column", "Kind", "Rows", "Share"], rows, numeric=[2, 3], css_class="compact")
    else:
        body = empty_note("No PII found.")
    return section("PII scan", definition_list(items) + body, anchor="pii", note=note)


def _contract_section(contract: Any, extra_columns: Any) -> str:
    if isinstance(contract, Mapping):
        contract = pick(contract, "findings", "violations", default=contract)
    extra = ""
    if isinstance(extra_columns, list) and extra_columns:
        names = ", ".join(neutralise_formula(fmt_value(c)) for c in extra_columns)
        extra = f'<p class="section-note">Extra columns (not in the spec): {esc(names)}</p>'
    if contract in (None, {}, []):
        return section(
            "Data contract", extra + empty_note("The batch met its data contract."), anchor="contract"
        )
    if isinstance(contract, list) and all(isinstance(c, Mapping) for c in contract):
        if all("message" in c for c in contract):
            rows = []
            for c in contract:
                severity = str(c.get("severity") or "")
                rows.append(
                    [
                        badge(severity or "finding", FINDING_TONES.get(severity.lower(), "info")),
                        cell(c.get("check")),
                        f'<span class="feature-name">{cell(c.get("column"))}</span>',
                        cell(c.get("message")),
                        esc(fmt_number(c.get("count"))) if c.get("count") else MISSING,
                    ]
                )
            headers = ["Severity", "Check", "Column", "Message", "Rows"]
            body = table(headers, rows, numeric=[4], css_class="compact")
        else:
            body = records_table(contract)
    else:
        body = render_value(contract)
    return section("Data contract", extra + body, anchor="contract")


def _lineage_section(data: Mapping[str, Any]) -> str:
    source = pick(data, "source", "input")
    lineage = _mapping(pick(data, "lineage"))
    inputs: dict[str, Any] = {}  # uri -> ref, the source first, duplicates dropped
    for ref in [source, *(lineage.get("inputs") or [])]:
        uri = ref.get("uri") if isinstance(ref, Mapping) else ref
        if uri and str(uri) not in inputs:
            inputs[str(uri)] = ref
    rows = []
    for i, ref in enumerate(inputs.values()):
        row = ref_row("Input" if len(inputs) == 1 else f"Input {i + 1}", ref)
        if row:
            rows.append(row)
    for key, value in lineage.items():
        if key == "inputs":
            continue
        row = ref_row(humanize(key), value)
        if row:
            rows.append(row)
    baseline = pick(data, "baseline")
    if baseline is not None and "baseline" not in lineage:
        row = ref_row("Baseline", baseline)
        if row:
            rows.append(row)
    others = {k: v for k, v in lineage.items() if k != "inputs" and ref_row(k, v) is None}
    body = refs_table(rows) if rows else ""
    if others:
        body += render_value(others)
    if not body:
        return ""
    return section(
        "Lineage", body, anchor="lineage", note="Exact object versions this report was computed from."
    )


def _timings_section(timings: Any) -> str:
    if not isinstance(timings, Mapping) or not timings:
        return ""
    stages = timings.get("stages_ms")
    items = []
    if timings.get("processing_ms") is not None:
        items.append(("Processing time", esc(f"{fmt_number(timings.get('processing_ms'))} ms")))
    if timings.get("peak_memory_mb") is not None:
        items.append(("Peak memory", esc(f"{fmt_number(timings.get('peak_memory_mb'))} MB")))
    for key, value in timings.items():
        if key not in ("processing_ms", "peak_memory_mb", "stages_ms"):
            items.append((humanize(key), render_value(value)))
    body = definition_list(items)
    if isinstance(stages, Mapping) and stages:
        parts = [(str(k), as_float(v) or 0.0) for k, v in stages.items()]
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


def _performance_section(performance: Any) -> str:
    """Label-free estimate, band, width and realized value per variant (reporting.estimates)."""
    if performance is None:
        return ""
    from .estimates import NOTE, performance_body

    return section(
        "Model performance: estimate and realized", performance_body(performance), anchor="performance",
        note=NOTE,
    )  # fmt: skip


def _bias_section(bias: Mapping[str, Any]) -> str:
    """Selection rate per group against the committed fairness bounds (group figures only)."""
    if not bias:
        return ""
    breach = bool(bias.get("breach"))
    head = badge("Fairness bound broken", "bad") if breach else badge(f"Fairness {bias.get('verdict')}", "ok")
    bounds = _mapping(bias.get("bounds"))
    values = _mapping(bias.get("values"))
    rows = [[cell(k), cell(bounds.get(k)), cell(values.get(k))] for k in sorted(bounds)]
    body = [f"<p>{head}</p>", table(["Metric", "Bound", "This batch"], rows, numeric=[1, 2])]
    sizes = _mapping(bias.get("group_rows"))
    group_rows = [
        [cell(attr), cell(g), cell(_mapping(sizes.get(attr)).get(g)), cell(rate)]
        for attr, rates in sorted(_mapping(bias.get("selection_rates")).items())
        for g, rate in sorted(_mapping(rates).items())
    ]
    if group_rows:
        body.append(table(["Attribute", "Group", "Rows", "Selection rate"], group_rows, numeric=[2, 3]))
    small = _mapping(bias.get("too_small"))
    if small:
        listed = "; ".join(f"{a}: {', '.join(g)}" for a, g in small.items())
        body.append(empty_note("Too small to judge: " + listed))
    return section("Bias (predictions per group)", "".join(body), anchor="bias")


def _attribution_section(drift: Mapping[str, Any]) -> str:
    """Global attributions of the champion's outputs on the batch against its version's baseline."""
    if not drift:
        return ""
    title = "Feature attribution drift"
    if not drift.get("available"):
        return section(title, empty_note(str(drift.get("reason") or "not available")), anchor="attribution")
    ndcg, threshold = drift.get("ndcg"), drift.get("threshold")
    if drift.get("drifted"):
        head = badge(f"Attribution drift: nDCG {fmt_value(ndcg)} < {fmt_value(threshold)}", "bad")
    else:
        head = badge(f"Attributions stable: nDCG {fmt_value(ndcg)} (threshold {fmt_value(threshold)})", "ok")
    rows = [
        [cell(r.get("feature")), cell(r.get("baseline_rank")), cell(r.get("current_rank")),
         cell(r.get("baseline")), cell(r.get("current"))]
        for r in drift.get("ranks") or []
        if isinstance(r, Mapping)
    ]  # fmt: skip
    note = (
        f"Label-free: the change of v{fmt_value(drift.get('version'))}'s outputs when a feature is "
        f"shuffled, on {fmt_value(drift.get('rows'))} champion rows, against the same measure on its "
        "holdout at training; nDCG of the batch's ranking (Clarify's feature attribution drift check)."
    )
    headers = ["Feature", "Baseline rank", "Batch rank", "Baseline share", "Batch share"]
    body = f"<p>{head}</p>" + table(headers, rows, numeric=[1, 2, 3, 4])
    return section(title, body, anchor="attribution", note=note)


def _other_section(data: Mapping[str, Any]) -> str:
    rest = {k: v for k, v in data.items() if k not in _KNOWN_KEYS and v not in (None, {}, [])}
    if not rest:
        return ""
    return section("Other details", render_value(rest), anchor="other")

"""The model card of one model version as a page: what it is for, how it was trained and judged,
who approved it, how it has behaved since.

Reads the card built by ``domain.model_card`` (SageMaker Model Card sections: model_overview,
intended_uses, training_details, evaluation_details, additional_information) and also the flatter
shape (gate_evidence, approvals, monitoring_history, risk_rating, lineage at the top level).
Known parts get a tailored layout; any other key is shown in a fallback table, so nothing the
card carries is hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    definition_list,
    empty_note,
    esc,
    fmt_number,
    fmt_percent,
    fmt_time,
    fmt_value,
    humanize,
    labelled_items,
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

STATUS_TONES = {
    "approved": "ok",
    "champion": "ok",
    "pendingmanualapproval": "warn",
    "pendingreview": "warn",
    "pending": "warn",
    "draft": "warn",
    "challenger": "info",
    "rejected": "bad",
    "archived": "muted",
}
RISK_TONES = {"low": "ok", "medium": "warn", "moderate": "warn", "high": "bad", "critical": "bad"}
DECISION_TONES = {
    "model.approved": "ok",
    "approved": "ok",
    "model.promoted": "info",
    "promoted": "info",
    "gate.decision": "info",
    "model.rejected": "bad",
    "rejected": "bad",
    "model.rollback": "warn",
}
_LOWER_IS_BETTER = ("loss", "error", "brier", "mae", "rmse", "mse", "mape")
_SEGMENT_KEYS = ("per_segment", "segments", "segment_metrics", "by_segment")
_OVERALL_KEYS = ("overall", "metrics")

# Top-level keys with a dedicated place on the page.
_KNOWN = {
    "schema_version", "status", "generated_at", "model", "name", "version", "model_version",
    "model_overview", "overview", "intended_uses", "intended_use", "training_details", "training",
    "evaluation_details", "evaluation", "gate_evidence", "gate", "approvals", "monitoring_history",
    "monitoring", "risk_rating", "risk", "lineage", "additional_information", "fairness", "explanations",
}  # fmt: skip
FAIRNESS_TONES = {"held": "ok", "breached": "bad", "unjudged": "warn", "none": "muted"}


def render_model_card(card: Mapping[str, Any]) -> str:
    """A complete HTML page for a model card (a ModelCard, its JSON, or any JSON-like mapping)."""
    data = as_data(card)
    if not isinstance(data, Mapping):
        data = {"card": data}
    overview = _mapping(pick(data, "model_overview", "overview"))
    uses = _mapping(pick(data, "intended_uses", "intended_use"))
    training = _mapping(pick(data, "training_details", "training"))
    evaluation = _mapping(pick(data, "evaluation_details", "evaluation"))
    extra = _mapping(pick(data, "additional_information"))
    gate = _mapping(pick(data, "gate_evidence", "gate") or evaluation.get("gate"))

    name = str(pick(overview, "model_name", "name", "model") or pick(data, "model", "name", default="model"))
    version = pick(overview, "model_version", "version") or pick(data, "model_version", "version")
    status = pick(data, "status") or pick(overview, "status", "registry_status")
    risk = pick(data, "risk_rating", "risk") or uses.get("risk_rating")
    risk_level = pick(risk, "rating", "level") if isinstance(risk, Mapping) else risk
    decisions = pick(data, "approvals") or extra.get("decisions") or []
    history = pick(data, "monitoring_history")
    monitoring = _mapping(pick(data, "monitoring") or extra.get("monitoring"))

    body = [
        _banner(status, risk_level, overview, uses),
        _stats(evaluation, gate, decisions, history, monitoring, risk_level),
        '<div class="grid2">',
        section("Model overview", _dl(overview, skip={"artifact"}), anchor="overview"),
        section("Intended uses", _dl(uses) if uses else empty_note("Not recorded."), anchor="uses"),
        "</div>",
    ]
    if training:
        body.append(section("Training details", _dl(training, skip={"training_data"}), anchor="training"))
    if evaluation:
        body.append(section("Evaluation", _evaluation(evaluation), anchor="evaluation"))
    if gate:
        body.append(section("Promotion gate evidence", _gate(gate), anchor="gate"))
    fairness = _mapping(data.get("fairness"))
    if fairness:
        note = "Committed bounds, this version's values and every version's verdict; group figures only."
        body.append(section("Fairness", _fairness(fairness), anchor="fairness", note=note))
    explanations = _mapping(data.get("explanations"))
    importance = _mapping(explanations.get("feature_importance"))
    outputs = _mapping(explanations.get("attribution_baseline"))
    if importance or outputs:
        names = sorted(
            {*importance, *outputs}, key=lambda k: -float(importance.get(k) or outputs.get(k) or 0)
        )
        rows = [[cell(k), cell(importance.get(k)), cell(outputs.get(k))] for k in names]
        note = f"Global attribution: {explanations.get('method') or ''}. Output attribution: " + str(
            explanations.get("attribution_method") or ""
        )
        body.append(
            section(
                "Explanations",
                table(["Feature", "Global attribution", "Output attribution"], rows, numeric=[1, 2]),
                anchor="explanations",
                note=note,
            )
        )
    body.append(section("Approvals and decisions", _decisions(decisions, extra), anchor="approvals"))
    if history or monitoring:
        body.append(section("Monitoring", _monitoring(history, monitoring), anchor="monitoring"))
    if isinstance(risk, Mapping):
        body.append(section("Risk rating", _dl(risk), anchor="risk"))
    lineage = _lineage(data, overview, training, evaluation, extra)
    if lineage:
        body.append(
            section("Lineage", lineage, anchor="lineage", note="Exact object versions behind this card.")
        )
    rest_extra = {
        k: v
        for k, v in extra.items()
        if k not in ("decisions", "monitoring", "approved_by", "approved_at", "spec_uri", "spec_version_id")
    }
    if rest_extra:
        body.append(section("Additional information", _dl(rest_extra), anchor="additional"))
    rest = {k: v for k, v in data.items() if k not in _KNOWN}
    if rest:
        rows = [[f"<b>{esc(humanize(k))}</b>", render_value(v)] for k, v in rest.items()]
        body.append(section("Other details", table(["Field", "Value"], rows), anchor="other"))

    heading = name + (f" \u00b7 v{version}" if version not in (None, "") else "")
    meta = [("Status", fmt_value(status)), ("Created", fmt_time(pick(overview, "created_at", "trained_at")))]
    if data.get("generated_at"):
        meta.append(("Card generated", fmt_time(data.get("generated_at"))))
    return page(
        title=f"Model card \u2014 {heading} \u2014 Model Steward",
        eyebrow="Model card",
        heading=heading,
        meta=meta,
        body="".join(body),
    )


def _fairness(f: Mapping[str, Any]) -> str:
    verdict = str(f.get("verdict") or "not assessed")
    parts = [f"<p>{badge('Fairness ' + verdict, FAIRNESS_TONES.get(verdict, 'muted'))}</p>"]
    bounds = _mapping(f.get("bounds"))
    values = _mapping(f.get("values"))
    champ = _mapping(f.get("champion_values"))
    names = sorted(set(bounds) | {k for k, v in values.items() if v is not None})
    if names:
        rows = [[cell(n), cell(bounds.get(n)), cell(values.get(n)), cell(champ.get(n))] for n in names]
        headers = ["Metric", "Bound", "This version", "Champion (same holdout)"]
        parts.append(table(headers, rows, numeric=[1, 2, 3]))
    parts.append(
        _dl(
            {
                "sensitive_attributes": ", ".join(f.get("sensitive_attributes") or []),
                "tolerance": f.get("tolerance"),
                "min_group_size": f.get("min_group_size"),
                "failed_checks": ", ".join(f.get("failed_checks") or []) or "none",
                "groups_too_small_to_judge": f.get("too_small") or "none",
            }
        )
    )
    groups = _mapping(f.get("groups"))
    group_rows = [
        [cell(attr), cell(g), cell(d.get("n")), cell(d.get("selection_rate")), cell(d.get("metric"))]
        for attr, by_group in sorted(groups.items())
        for g, d in sorted(_mapping(by_group).items())
        if isinstance(d, Mapping)
    ]
    if group_rows:
        headers = ["Attribute", "Group", "Rows", "Selection rate", "Primary metric"]
        parts.append(table(headers, group_rows, numeric=[2, 3, 4]))
    versions = [v for v in f.get("versions") or [] if isinstance(v, Mapping)]
    if versions:
        cols = sorted({k for v in versions for k in _mapping(v.get("values"))})
        rows = [
            [cell(v.get("version")), cell(v.get("status")), cell(v.get("alias")),
             badge(str(v.get("verdict") or "n/a"), FAIRNESS_TONES.get(str(v.get("verdict")), "muted")),
             *[cell(_mapping(v.get("values")).get(c)) for c in cols]]
            for v in versions
        ]  # fmt: skip
        parts.append(table(["Version", "Status", "Alias", "Verdict", *[humanize(c) for c in cols]], rows))
    return "".join(parts)


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _dl(values: Mapping[str, Any], *, skip: set[str] | None = None) -> str:
    items = labelled_items(values, skip=skip or ())
    return definition_list(items) if items else empty_note("Not recorded.")


def _tone(value: Any, tones: Mapping[str, str]) -> str:
    return tones.get(str(value or "").replace(" ", "").replace("_", "").lower(), "muted")


def _banner(status: Any, risk_level: Any, overview: Mapping[str, Any], uses: Mapping[str, Any]) -> str:
    tone = _tone(status, STATUS_TONES)
    headline = f"Status: {fmt_value(status)}" if status is not None else "Status not recorded"
    if risk_level is not None:
        headline += f" \u00b7 risk rating {fmt_value(risk_level)}"
    detail = pick(overview, "description", "summary") or pick(uses, "intended_use") or ""
    return banner(tone, headline, str(detail), label="Model status")


def _overall(evaluation: Mapping[str, Any]) -> dict[str, Any]:
    overall = pick(evaluation, *_OVERALL_KEYS)
    return dict(overall) if isinstance(overall, Mapping) else {}


def _stats(
    evaluation: Mapping[str, Any],
    gate: Mapping[str, Any],
    decisions: Any,
    history: Any,
    monitoring: Mapping[str, Any],
    risk_level: Any,
) -> str:
    overall = _overall(evaluation)
    metric = pick(gate, "primary_metric", "metric") or evaluation.get("primary_metric")
    if metric is None and overall:
        metric = next(iter(overall))
    outcome = gate.get("outcome") if isinstance(gate, Mapping) else None
    approvals = decisions if isinstance(decisions, list) else []
    cards = [
        (
            humanize(metric) if metric else "Primary metric",
            fmt_number(overall.get(str(metric)) if metric else None, 4),
            "holdout",
            "info",
        ),
        (
            "Gate",
            GATE_WORDS.get(str(outcome), MISSING),
            _gate_note(gate),
            GATE_TONES.get(str(outcome), "info"),
        ),
        ("Decisions", fmt_number(len(approvals)), "recorded in the audit log", "ok" if approvals else "warn"),
        ("Risk rating", fmt_value(risk_level), "", _tone(risk_level, RISK_TONES) if risk_level else "info"),
    ]
    if isinstance(history, list) and history:
        drifted = sum(1 for h in history if isinstance(h, Mapping) and "drift" in str(h.get("verdict") or ""))
        tone = "bad" if drifted else "ok"
        cards.append(("Monitoring", f"{drifted} drifted", f"of {len(history)} monitored points", tone))
    elif monitoring:
        total = monitoring.get("incidents_total")
        incidents = monitoring.get("incidents")
        count = total if isinstance(total, int) else (len(incidents) if isinstance(incidents, list) else 0)
        cards.append(("Incidents", fmt_number(count), "since it went live", "warn" if count else "ok"))
    return stat_cards(cards)


#: domain.gate.GateDecision.outcome -> the tile's words and tone
GATE_WORDS = {"promote": "passed", "pending_approval": "passed, awaiting approval", "reject": "failed"}
GATE_TONES = {"promote": "ok", "pending_approval": "warn", "reject": "bad"}


def _gate_note(gate: Mapping[str, Any]) -> str:
    """The gate's evidence in one line (domain.gate.GateDecision.summary() keys)."""
    champion, challenger = gate.get("champion_score"), gate.get("challenger_score")
    if champion is not None and challenger is not None:
        return f"challenger {fmt_number(challenger, 4)} vs champion {fmt_number(champion, 4)}"
    if challenger is not None:
        return f"score {fmt_number(challenger, 4)}; no champion to beat"
    return ""


def _metrics_table(metrics: Mapping[str, Any]) -> str:
    """One row, one column per metric: compact and easy to compare with the segments below."""
    headers = [humanize(k) for k in metrics]
    row = [esc(fmt_number(v, 4)) if as_float(v) is not None else render_value(v) for v in metrics.values()]
    return table(headers, [row], numeric=range(len(headers)), css_class="metrics")


def _segments(value: Any) -> list[dict[str, Any]]:
    """Per-segment metrics as records, from a list of records or ``{segment: {metric: value}}``."""
    if isinstance(value, Mapping):
        return [{"segment": k, **(v if isinstance(v, Mapping) else {"value": v})} for k, v in value.items()]
    records = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, Mapping):
            flat = {k: v for k, v in item.items() if k != "metrics"}
            if isinstance(item.get("metrics"), Mapping):
                flat.update(item["metrics"])
            records.append(flat)
    return records


def _evaluation(value: Mapping[str, Any]) -> str:
    parts = []
    overall = _overall(value)
    records = _segments(pick(value, *_SEGMENT_KEYS))
    scalars = {
        k: v
        for k, v in value.items()
        if k not in (*_OVERALL_KEYS, *_SEGMENT_KEYS, "gate", "label_free_estimate")
        and ref_row(k, v) is None  # refs: in Lineage
    }
    if scalars:
        parts.append(_dl(scalars))
    parts.append(_label_free_estimate(value.get("label_free_estimate")))
    if overall:
        parts.append("<h3>Overall</h3>" + _metrics_table(overall))
    if records:
        greater = value.get("greater_is_better")
        primary = value.get("primary_metric")
        parts.append("<h3>Per segment</h3>" + _segment_chart(records, overall, primary))
        parts.append(_segment_table(records, overall, primary, greater))
    return "".join(parts) or empty_note("No evaluation recorded.")


def _label_free_estimate(summary: Any) -> str:
    """Whether this version's label-free estimate can be trusted, in words (issue 23)."""
    if not isinstance(summary, Mapping):
        return ""
    from ..domain.model_card import estimate_text

    trusted = summary.get("trusted") is not False
    head = (
        badge("Estimate trusted", "ok")
        if trusted
        else badge("Estimate not trusted: reference too small", "warn")
    )
    return f"<h3>Label-free estimate</h3><p>{head} {esc(estimate_text(summary) or '')}</p>"


def _segment_chart(records: list[dict[str, Any]], overall: Mapping[str, Any], primary: Any) -> str:
    """Bars of the primary metric (or the first shared metric) per segment against overall."""
    metric = primary if isinstance(primary, str) and any(primary in r for r in records) else None
    if metric is None:
        metric = next((k for k in overall if any(as_float(r.get(k)) is not None for r in records)), None)
    if metric is None:
        return ""
    name_key = next((k for k in ("segment", "name", "group") if k in records[0]), None)
    rows = [(str(r.get(name_key) if name_key else i + 1), r.get(metric)) for i, r in enumerate(records)]
    chart = charts.metric_bars(rows, reference=overall.get(metric), label=f"{humanize(metric)} per segment")
    note = f"{humanize(metric)} per segment; lighter bars are below the overall value (dashed)."
    return f'<p class="section-note">{esc(note)}</p>{chart}'


def _segment_table(
    records: list[dict[str, Any]], overall: Mapping[str, Any], primary: Any, greater_is_better: Any
) -> str:
    """Segments with every metric; a value worse than overall by more than 2% is flagged."""
    columns: list[str] = []
    for record in records:
        columns += [k for k in record if k not in columns]
    rows = []
    for record in records:
        row = []
        for column in columns:
            item = record.get(column)
            number = as_float(item)
            text = esc(fmt_number(item, 4)) if number is not None else cell(item)
            ref = as_float(overall.get(column))
            lower_is_better = any(s in column for s in _LOWER_IS_BETTER)
            if column == primary and isinstance(greater_is_better, bool):
                lower_is_better = not greater_is_better
            if ref and number is not None and column not in ("rows", "n", "count", "support"):
                worse = (number - ref) / abs(ref) * (1 if lower_is_better else -1)
                if worse > 0.02:
                    text = (
                        f'<span class="worse" title="worse than overall by {worse:.1%}">{text} \u25bc</span>'
                    )
            row.append(text)
        rows.append(row)
    numeric = [i for i, c in enumerate(columns) if all(as_float(r.get(c)) is not None for r in records)]
    note = '<p class="section-note">\u25bc worse than the overall value by more than 2%.</p>'
    return table([humanize(c) for c in columns], rows, numeric=numeric, css_class="compact") + note


def _gate(value: Mapping[str, Any]) -> str:
    outcome = str(value.get("outcome"))
    words = GATE_WORDS.get(outcome)
    head = f"<p>{badge('Gate ' + words, GATE_TONES[outcome])}</p>" if words else ""
    items = labelled_items(value)
    return head + definition_list(items, css_class="dl-cols" if len(items) >= 6 else "")


def _decisions(decisions: Any, extra: Mapping[str, Any]) -> str:
    parts = []
    if extra.get("approved_by") or extra.get("approved_at"):
        who, when = cell(extra.get("approved_by")), esc(fmt_time(extra.get("approved_at")))
        parts.append(f"<p>Approved by <b>{who}</b> at {when}</p>")
    records = [d for d in decisions if isinstance(d, Mapping)] if isinstance(decisions, list) else []
    if records and all(("action" in d or "decision" in d) for d in records):
        rows = []
        for d in records:
            action = str(d.get("action") or d.get("decision") or "")
            rows.append(
                [
                    esc(fmt_time(d.get("at"))),
                    badge(action, DECISION_TONES.get(action.lower(), "muted")),
                    cell(pick(d, "actor", "by")),
                    cell(pick(d, "reason", "comment")),
                ]
            )
        parts.append(table(["When", "Decision", "By", "Reason"], rows, css_class="compact"))
    elif records:
        parts.append(records_table(records))
    elif decisions:
        parts.append(render_value(decisions))
    if not parts:
        return empty_note("No approval or decision recorded for this version.")
    return "".join(parts)


def _monitoring(history: Any, monitoring: Mapping[str, Any]) -> str:
    parts = []
    points = [h for h in history if isinstance(h, Mapping)] if isinstance(history, list) else []
    if any(as_float(p.get("drifted_share")) is not None for p in points):
        chart_points = [
            {
                "at": p.get("at"),
                "value": p.get("drifted_share"),
                "threshold": p.get("threshold"),
                "label": p.get("batch_id") or p.get("window"),
            }
            for p in points
        ]
        parts.append(
            '<div class="legend"><span><span class="swatch swatch-cur"></span>drifted share</span>'
            '<span><span class="swatch swatch-line"></span>threshold</span></div>'
            + charts.line_chart(chart_points, height=220, title="drifted share over time")
        )
        rows = []
        for p in list(reversed(points))[:10]:
            verdict = str(p.get("verdict") or "").lower()
            tone, words = VERDICTS.get(verdict, ("muted", verdict or MISSING))
            rows.append(
                [
                    esc(fmt_time(p.get("at"))),
                    cell(p.get("batch_id") or p.get("window")),
                    esc(fmt_percent(p.get("drifted_share"))),
                    esc(fmt_percent(p.get("threshold"))),
                    badge(words, tone),
                ]
            )
        headers = ["When", "Batch / window", "Drifted share", "Threshold", "Verdict"]
        parts.append("<h3>Latest points</h3>" + table(headers, rows, numeric=[2, 3], css_class="compact"))
    elif points:
        parts.append(records_table(points))
    counts = monitoring.get("counts")
    if isinstance(counts, Mapping) and counts:
        row = [esc(fmt_number(v)) for v in counts.values()]
        events = table([str(k) for k in counts], [row], numeric=range(len(counts)), css_class="metrics")
        parts.append("<h3>Audit events for this version</h3>" + events)
    incidents = monitoring.get("incidents")
    if isinstance(incidents, list) and incidents:
        rows = []
        for item in incidents:
            if not isinstance(item, Mapping):
                continue
            severity = str(item.get("severity") or "")
            tone = {"drift": "bad", "error": "bad", "warn": "warn"}.get(severity.lower(), "muted")
            rows.append(
                [
                    esc(fmt_time(item.get("at"))),
                    cell(item.get("action")),
                    badge(severity, tone) if severity else MISSING,
                    cell(item.get("reason")),
                ]
            )
        total = monitoring.get("incidents_total")
        title = "Incidents" + (
            f" (latest {len(rows)} of {total})" if isinstance(total, int) and total > len(rows) else ""
        )
        parts.append(
            f"<h3>{esc(title)}</h3>"
            + table(["When", "Event", "Severity", "Reason"], rows, css_class="compact")
        )
    rest = {k: v for k, v in monitoring.items() if k not in ("counts", "incidents", "incidents_total")}
    if rest:
        parts.append(_dl(rest))
    return "".join(parts) or empty_note("No monitoring recorded yet.")


def _lineage(
    data: Mapping[str, Any],
    overview: Mapping[str, Any],
    training: Mapping[str, Any],
    evaluation: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> str:
    rows: list[list[str]] = []
    seen: set[str] = set()

    def add(role: str, ref: Any) -> None:
        row = ref_row(role, ref)
        uri = ref.get("uri") if isinstance(ref, Mapping) else ref
        if row and str(uri) not in seen:
            seen.add(str(uri))
            rows.append(row)

    add("Model artifact", overview.get("artifact"))
    for item in training.get("training_data") or []:
        if isinstance(item, Mapping):
            add(humanize(str(item.get("role") or "training data").removeprefix("lineage.")), item)
    add("Evaluation", evaluation.get("evaluation"))
    if extra.get("spec_uri"):
        add("Spec", {"uri": extra.get("spec_uri"), "version_id": extra.get("spec_version_id")})
    lineage = data.get("lineage")
    others: dict[str, Any] = {}
    if isinstance(lineage, Mapping):
        for key, value in lineage.items():
            if ref_row(key, value) is not None:
                add(humanize(key), value)
            else:
                others[key] = value
    elif lineage is not None:
        others["lineage"] = lineage
    body = refs_table(rows) if rows else ""
    if others:
        body += _dl(others)
    return body

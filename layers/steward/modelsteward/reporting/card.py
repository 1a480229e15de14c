"""The model card of one model version as a page: what it is for, how it was trained and judged,
who approved it, how it has behaved since.

Reads the typed card that ``domain.model_card.build_card`` builds (SageMaker Model Card
sections) and nothing else: the code that writes a record is the code that reads it, so a field
renamed in the model fails mypy here instead of silently leaving the page. A section's definition
list shows every field its model declares, in declaration order, so a field added to a section
appears without a change here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from ..domain.gate_record import GateSummary
from ..domain.model_card import (
    AdditionalInformation,
    Decision,
    EvaluationDetails,
    Explanations,
    FairnessDetails,
    ModelCard,
    MonitoringSummary,
    estimate_text,
)
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
    fmt_time,
    fmt_value,
    humanize,
    labelled_items,
    object_row,
    page,
    refs_table,
    render_value,
    require_type,
    section,
    stat_cards,
    table,
)

STATUS_TONES = {"approved": "ok", "pendingreview": "warn", "draft": "warn", "archived": "muted"}
RISK_TONES = {"low": "ok", "medium": "warn", "moderate": "warn", "high": "bad", "critical": "bad"}
DECISION_TONES = {
    "model.approved": "ok",
    "model.promoted": "info",
    "gate.decision": "info",
    "model.rejected": "bad",
    "model.rollback": "warn",
}
FAIRNESS_TONES = {"held": "ok", "breached": "bad", "unjudged": "warn", "none": "muted"}
#: domain.gate_record.GateSummary.outcome -> the tile's words and tone
GATE_WORDS = {"promote": "passed", "pending_approval": "passed, awaiting approval", "reject": "failed"}
GATE_TONES = {"promote": "ok", "pending_approval": "warn", "reject": "bad"}
_LOWER_IS_BETTER = ("loss", "error", "brier", "mae", "rmse", "mse", "mape")
_COUNT_COLUMNS = ("rows", "n", "count", "support")
#: AdditionalInformation fields with a place of their own (approvals, monitoring, lineage)
_PLACED = {"decisions", "monitoring", "approved_by", "approved_at", "spec_uri", "spec_version_id"}


# long: the page's sections in page order
def render_model_card(card: ModelCard) -> str:
    """A complete HTML page for a model card; anything but a ``ModelCard`` is a TypeError."""
    card = require_type(card, ModelCard)
    overview, uses, training = card.model_overview, card.intended_uses, card.training_details
    evaluation, extra = card.evaluation_details, card.additional_information

    body = [
        _banner(card),
        _stats(card),
        '<div class="grid2">',
        section("Model overview", _fields(overview, exclude={"artifact"}), anchor="overview"),
        section("Intended uses", _fields(uses), anchor="uses"),
        "</div>",
        section("Training details", _fields(training, exclude={"training_data"}), anchor="training"),
        section("Evaluation", _evaluation(evaluation), anchor="evaluation"),
    ]
    if evaluation.gate is not None:
        body.append(section("Promotion gate evidence", _gate(evaluation.gate), anchor="gate"))
    if card.fairness is not None:
        note = "Committed bounds, this version's values and every version's verdict; group figures only."
        body.append(section("Fairness", _fairness(card.fairness), anchor="fairness", note=note))
    if card.explanations is not None and (
        card.explanations.feature_importance or card.explanations.attribution_baseline
    ):
        body.append(_explanations(card.explanations))
    body.append(section("Approvals and decisions", _decisions(extra), anchor="approvals"))
    body.append(section("Monitoring", _monitoring(extra.monitoring), anchor="monitoring"))
    lineage = _lineage(card)
    if lineage:
        body.append(
            section("Lineage", lineage, anchor="lineage", note="Exact object versions behind this card.")
        )
    body.append(section("Additional information", _fields(extra, exclude=_PLACED), anchor="additional"))

    heading = f"{overview.model_name} \u00b7 v{overview.model_version}"
    meta = [("Status", fmt_value(card.status)), ("Created", fmt_time(overview.created_at))]
    if card.generated_at:
        meta.append(("Card generated", fmt_time(card.generated_at)))
    return page(
        title=f"Model card \u2014 {heading} \u2014 Model Steward",
        eyebrow="Model card",
        heading=heading,
        meta=meta,
        body="".join(body),
    )


def _fields(model: BaseModel, *, exclude: set[str] | None = None) -> str:
    """A definition list of a section model's own fields (its JSON form, in declaration order)."""
    return _dl(model.model_dump(mode="json", exclude=exclude or set()))


def _dl(values: Mapping[str, Any]) -> str:
    items = labelled_items(values)
    return definition_list(items) if items else empty_note("Not recorded.")


def _tone(value: str | None, tones: Mapping[str, str]) -> str:
    return tones.get(str(value or "").replace(" ", "").replace("_", "").lower(), "muted")


def _banner(card: ModelCard) -> str:
    risk = card.intended_uses.risk_rating
    headline = f"Status: {fmt_value(card.status)} \u00b7 risk rating {fmt_value(risk)}"
    detail = card.model_overview.description or card.intended_uses.intended_use
    return banner(_tone(card.status, STATUS_TONES), headline, detail, label="Model status")


def _stats(card: ModelCard) -> str:
    evaluation, gate = card.evaluation_details, card.evaluation_details.gate
    overall = evaluation.metrics
    metric = (gate.metric if gate else None) or evaluation.primary_metric or next(iter(overall), None)
    outcome = gate.outcome if gate else None
    decisions = card.additional_information.decisions
    risk = card.intended_uses.risk_rating
    incidents = card.additional_information.monitoring.incidents_total
    return stat_cards(
        [
            (
                humanize(metric) if metric else "Primary metric",
                fmt_number(overall.get(metric) if metric else None, 4),
                "holdout",
                "info",
            ),
            (
                "Gate",
                GATE_WORDS.get(str(outcome), MISSING),
                _gate_note(gate),
                GATE_TONES.get(str(outcome), "info"),
            ),
            (
                "Decisions",
                fmt_number(len(decisions)),
                "recorded in the audit log",
                "ok" if decisions else "warn",
            ),
            ("Risk rating", fmt_value(risk), "", _tone(risk, RISK_TONES) if risk else "info"),
            ("Incidents", fmt_number(incidents), "since it went live", "warn" if incidents else "ok"),
        ]
    )


def _gate_note(gate: GateSummary | None) -> str:
    """The gate's evidence in one line."""
    if gate is None or gate.challenger_score is None:
        return ""
    challenger = fmt_number(gate.challenger_score, 4)
    if gate.champion_score is not None:
        return f"challenger {challenger} vs champion {fmt_number(gate.champion_score, 4)}"
    return f"score {challenger}; no champion to beat"


def _metrics_table(metrics: Mapping[str, Any]) -> str:
    """One row, one column per metric: compact and easy to compare with the segments below."""
    headers = [humanize(k) for k in metrics]
    row = [esc(fmt_number(v, 4)) if as_float(v) is not None else render_value(v) for v in metrics.values()]
    return table(headers, [row], numeric=range(len(headers)), css_class="metrics")


def _segments(evaluation: EvaluationDetails) -> list[dict[str, Any]]:
    """One record per segment (``column=value``) with its metrics, in the card's order."""
    return [
        {"segment": f"{column}={value}", **metrics}
        for column, by_value in evaluation.segment_metrics.items()
        for value, metrics in by_value.items()
    ]


def _evaluation(evaluation: EvaluationDetails) -> str:
    placed = {"metrics", "segment_metrics", "gate", "label_free_estimate"}
    placed |= {"evaluation"} if evaluation.evaluation else set()  # the object itself: under Lineage
    parts = [_fields(evaluation, exclude=placed), _label_free_estimate(evaluation.label_free_estimate)]
    overall = evaluation.metrics
    if overall:
        parts.append("<h3>Overall</h3>" + _metrics_table(overall))
    records = _segments(evaluation)
    if records:
        primary = evaluation.primary_metric
        parts.append("<h3>Per segment</h3>" + _segment_chart(records, overall, primary))
        parts.append(_segment_table(records, overall, primary, evaluation.greater_is_better))
    return "".join(parts)


def _label_free_estimate(summary: Mapping[str, Any] | None) -> str:
    """Whether this version's label-free estimate can be trusted, in words (issue 23)."""
    if not summary:
        return ""
    trusted = summary.get("trusted") is not False
    head = (
        badge("Estimate trusted", "ok")
        if trusted
        else badge("Estimate not trusted: reference too small", "warn")
    )
    return f"<h3>Label-free estimate</h3><p>{head} {esc(estimate_text(summary) or '')}</p>"


def _segment_chart(records: list[dict[str, Any]], overall: Mapping[str, Any], primary: str | None) -> str:
    """Bars of the primary metric (or the first shared metric) per segment against overall."""
    metric = primary if primary and any(primary in r for r in records) else None
    if metric is None:
        metric = next((k for k in overall if any(as_float(r.get(k)) is not None for r in records)), None)
    if metric is None:
        return ""
    rows = [(str(r["segment"]), r.get(metric)) for r in records]
    chart = charts.metric_bars(rows, reference=overall.get(metric), label=f"{humanize(metric)} per segment")
    note = f"{humanize(metric)} per segment; lighter bars are below the overall value (dashed)."
    return f'<p class="section-note">{esc(note)}</p>{chart}'


def _segment_table(
    records: list[dict[str, Any]],
    overall: Mapping[str, Any],
    primary: str | None,
    greater_is_better: bool | None,
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
            if column == primary and greater_is_better is not None:
                lower_is_better = not greater_is_better
            if ref and number is not None and column not in _COUNT_COLUMNS:
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


def _gate(gate: GateSummary) -> str:
    head = f"<p>{badge('Gate ' + GATE_WORDS[gate.outcome], GATE_TONES[gate.outcome])}</p>"
    items = labelled_items(gate.model_dump(mode="json"))
    return head + definition_list(items, css_class="dl-cols" if len(items) >= 6 else "")


def _fairness(f: FairnessDetails) -> str:
    verdict = f.verdict or "not assessed"
    parts = [f"<p>{badge('Fairness ' + verdict, FAIRNESS_TONES.get(verdict, 'muted'))}</p>"]
    champion = f.champion_values or {}
    names = sorted(set(f.bounds) | {k for k, v in f.values.items() if v is not None})
    if names:
        rows = [[cell(n), cell(f.bounds.get(n)), cell(f.values.get(n)), cell(champion.get(n))] for n in names]
        headers = ["Metric", "Bound", "This version", "Champion (same holdout)"]
        parts.append(table(headers, rows, numeric=[1, 2, 3]))
    parts.append(
        _dl(
            {
                "sensitive_attributes": ", ".join(f.sensitive_attributes),
                "tolerance": f.tolerance,
                "min_group_size": f.min_group_size,
                "failed_checks": ", ".join(f.failed_checks) or "none",
                "groups_too_small_to_judge": f.too_small or "none",
            }
        )
    )
    group_rows = [
        [cell(attr), cell(g), cell(d.n), *(cell(v) for v in f.shown_figures(attr, g))]
        for attr, by_group in sorted(f.groups.items())
        for g, d in sorted(by_group.items())
    ]
    if group_rows:
        headers = ["Attribute", "Group", "Rows", "Selection rate", "Primary metric"]
        parts.append(table(headers, group_rows, numeric=[2, 3, 4]))
    if f.versions:
        cols = sorted({k for v in f.versions for k in v.values})
        rows = [
            [
                cell(v.version),
                cell(v.status),
                cell(v.alias),
                badge(str(v.verdict or "n/a"), FAIRNESS_TONES.get(str(v.verdict), "muted")),
                *[cell(v.values.get(c)) for c in cols],
            ]
            for v in f.versions
        ]
        parts.append(table(["Version", "Status", "Alias", "Verdict", *[humanize(c) for c in cols]], rows))
    return "".join(parts)


def _explanations(ex: Explanations) -> str:
    importance, outputs = ex.feature_importance, ex.attribution_baseline
    names = sorted({*importance, *outputs}, key=lambda k: -(importance.get(k) or outputs.get(k) or 0.0))
    rows = [[cell(k), cell(importance.get(k)), cell(outputs.get(k))] for k in names]
    return section(
        "Explanations",
        table(["Feature", "Global attribution", "Output attribution"], rows, numeric=[1, 2]),
        anchor="explanations",
        note=f"Global attribution: {ex.method}. Output attribution: {ex.attribution_method}",
    )


def _decisions(extra: AdditionalInformation) -> str:
    parts = []
    if extra.approved_by or extra.approved_at:
        who, when = cell(extra.approved_by), esc(fmt_time(extra.approved_at))
        parts.append(f"<p>Approved by <b>{who}</b> at {when}</p>")
    if extra.decisions:
        parts.append(_decisions_table(extra.decisions))
    if not parts:
        return empty_note("No approval or decision recorded for this version.")
    return "".join(parts)


def _decisions_table(decisions: Sequence[Decision]) -> str:
    rows = [
        [
            esc(fmt_time(d.at)),
            badge(d.action, DECISION_TONES.get(d.action.lower(), "muted")),
            cell(d.actor),
            cell(d.reason),
        ]
        for d in decisions
    ]
    return table(["When", "Decision", "By", "Reason"], rows, css_class="compact")


def _monitoring(monitoring: MonitoringSummary) -> str:
    parts = []
    counts = monitoring.counts
    if counts:
        row = [esc(fmt_number(v)) for v in counts.values()]
        events = table(list(counts), [row], numeric=range(len(counts)), css_class="metrics")
        parts.append("<h3>Audit events for this version</h3>" + events)
    if monitoring.incidents:
        rows = []
        for item in monitoring.incidents:
            severity = item.severity or ""
            tone = {"drift": "bad", "error": "bad", "warn": "warn"}.get(severity.lower(), "muted")
            rows.append(
                [
                    esc(fmt_time(item.at)),
                    cell(item.action),
                    badge(severity, tone) if severity else MISSING,
                    cell(item.reason),
                ]
            )
        total = monitoring.incidents_total
        title = "Incidents" + (f" (latest {len(rows)} of {total})" if total > len(rows) else "")
        parts.append(
            f"<h3>{esc(title)}</h3>"
            + table(["When", "Event", "Severity", "Reason"], rows, css_class="compact")
        )
    return "".join(parts) or empty_note("No monitoring recorded yet.")


def _lineage(card: ModelCard) -> str:
    """The objects behind the card: artifact, training data, evaluation, spec (each URI once)."""
    rows: list[list[str]] = []
    seen: set[str] = set()

    def add(role: str, uri: str | None, version_id: str | None = None, sha256: str | None = None) -> None:
        if uri and uri not in seen:
            seen.add(uri)
            rows.append(object_row(role, uri, version_id, sha256))

    artifact = card.model_overview.artifact
    if artifact is not None:
        add("Model artifact", artifact.uri, artifact.version_id, artifact.sha256)
    for item in card.training_details.training_data:
        add(humanize(item.role.removeprefix("lineage.")), item.uri, item.version_id, item.sha256)
    evaluation = card.evaluation_details.evaluation
    if evaluation is not None:
        add("Evaluation", evaluation.uri, evaluation.version_id, evaluation.sha256)
    extra = card.additional_information
    add("Spec", extra.spec_uri, extra.spec_version_id)
    return refs_table(rows) if rows else ""

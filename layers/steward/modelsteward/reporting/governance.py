"""The scheduled governance audit as a page: which checks passed, what each failure found.

Reads the typed ``domain.governance_report.GovernanceReport`` that ``services.run_audit`` writes
(report.json is its JSON) and nothing else, so the page and the report cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.governance_report import ChainSummary, GovernanceReport, ModelAudit
from .kit import (
    MISSING,
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
    page,
    records_table,
    render_value,
    require_type,
    section,
    stat_cards,
    table,
)


@dataclass(frozen=True)
class _Check:
    """One check of the run with its findings as lines (``<model> v<version>: <message>``)."""

    name: str
    findings: list[str]

    @property
    def passed(self) -> bool:
        return not self.findings


def render_governance_report(report: GovernanceReport) -> str:
    """A complete HTML page for a governance audit run; anything but a ``GovernanceReport`` is a
    TypeError."""
    report = require_type(report, GovernanceReport)
    checks = _checks(report)
    failed = [c for c in checks if not c.passed]
    passed = [c for c in checks if c.passed]
    findings = len(report.findings)
    body = [
        _verdict(checks, failed, findings),
        stat_cards(
            [
                ("Checks", fmt_number(len(checks)), "run by the audit", "info"),
                ("Passed", fmt_number(len(passed)), "", "ok"),
                ("Failed", fmt_number(len(failed)), "", "bad" if failed else "ok"),
                (
                    "Findings",
                    fmt_number(findings),
                    "to review" if findings else "",
                    "bad" if findings else "ok",
                ),
            ]
        ),
        _checks_section(failed + passed),
        _chain_section(report.chain),
    ]
    if report.models:
        body.append(_models_section(report.models))
    summary = {
        "stage": report.stage,
        "findings": findings,
        "models": len(report.models),
        "audit_records": report.chain.records,
        "export_compared": report.chain.export_checked,
    }
    body.append(section("Summary", render_value(summary), anchor="summary"))
    verdict = " \u00b7 failed" if failed else (" \u00b7 passed" if checks else "")
    meta = [
        ("Stage", fmt_value(report.stage)),
        ("Run", fmt_value(report.run_id)),
        ("At", fmt_time(report.generated_at)),
    ]
    return page(
        title=f"Governance audit {fmt_value(report.run_id)} \u2014 Model Steward",
        eyebrow="Governance audit",
        heading="Governance audit" + verdict,
        meta=meta,
        body="".join(body),
    )


def _checks(report: GovernanceReport) -> list[_Check]:
    """Every check the run made (in the report's order), then any check only a finding names."""
    by_check: dict[str, list[str]] = {name: [] for name in report.checks}
    for f in report.findings:
        where = (f.model or "") + (f" v{f.version}" if f.version is not None else "")
        by_check.setdefault(f.check, []).append(f"{where}: {f.message}" if where else f.message)
    return [_Check(name, found) for name, found in by_check.items()]


def _verdict(checks: list[_Check], failed: list[_Check], findings: int) -> str:
    if not checks:
        return banner("info", "No checks ran", "The audit recorded no checks.", label="Audit result")
    if failed:
        names = ", ".join(humanize(c.name) for c in failed)
        return banner(
            "bad",
            f"{len(failed)} of {len(checks)} checks failed",
            f"{findings} finding{'s' if findings != 1 else ''} to review: {names}",
            label="Audit result",
        )
    return banner("ok", f"All {len(checks)} checks passed", "No findings.", label="Audit result")


def _checks_section(checks: list[_Check]) -> str:
    if not checks:
        return section("Checks", empty_note("No checks."), anchor="checks")
    rows, classes = [], []
    for check in checks:
        if check.findings:
            findings_html = "<ul>" + "".join(f"<li>{render_value(f)}</li>" for f in check.findings) + "</ul>"
        else:
            findings_html = '<span class="muted">none</span>'
        rows.append(
            [
                badge("Pass", "ok") if check.passed else badge("Fail", "bad"),
                f'<span class="feature-name">{cell(humanize(check.name))}</span>'
                f'<span class="sub">{cell(check.name)}</span>',
                findings_html,
            ]
        )
        classes.append("" if check.passed else "row-fail")
    return section(
        "Checks",
        table(["Result", "Check", "Findings"], rows, row_classes=classes, css_class="checks"),
        anchor="checks",
        note="Failed checks first.",
    )


def _chain_section(chain: ChainSummary) -> str:
    head = f"<p>{badge('Hash chain intact', 'ok') if chain.ok else badge('Hash chain broken', 'bad')}</p>"
    items = labelled_items(chain.model_dump(mode="json", exclude={"ok"}))
    return section("Audit trail", head + definition_list(items), anchor="chain")


def _alarms_cell(alarms: list[str]) -> str:
    if not alarms:
        return badge("none", "bad")
    names = "\n".join(alarms)
    return f'<span title="{esc(names)}">{esc(fmt_number(len(alarms)))}</span>'


def _models_section(models: list[ModelAudit]) -> str:
    rows, classes = [], []
    for m in models:
        rows.append(
            [
                f'<span class="feature-name">{cell(m.model)}</span>'
                + ("" if m.spec_found else f" {badge('no spec', 'bad')}"),
                esc(f"v{m.champion}") if m.champion is not None else MISSING,
                esc(fmt_time(m.champion_since)),
                esc(fmt_time(m.last_accepted_batch_at)),
                _alarms_cell(m.alarms),
                esc(fmt_number(len(m.open_pii_findings))),
                badge(fmt_number(m.findings), "bad") if m.findings else badge("0", "ok"),
            ]
        )
        classes.append("row-fail" if m.findings else "")
    body = table(
        ["Model", "Champion", "Champion since", "Last batch", "Alarms", "Open PII findings", "Findings"],
        rows,
        numeric=[4, 5],
        row_classes=classes,
    )
    fairness = [
        m.model_dump(mode="json", include={"model", "fairness_periods", "fairness_rejections"})
        for m in models
    ]
    return section("Models", body + records_table(fairness), anchor="models")

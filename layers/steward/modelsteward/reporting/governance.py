"""The scheduled governance audit as a page: which checks passed, what each failure found.

Accepts the view ``services.run_audit.report_view`` builds (``checks`` as records with ``passed``
and ``findings``) and the raw ``GovernanceReport`` shape too (``checks`` as names, a flat list of
``findings`` {check, model, version, message}, ``chain``, ``models``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .kit import (
    MISSING,
    as_data,
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
    pick,
    records_table,
    render_value,
    section,
    stat_cards,
    table,
)

_KNOWN = {
    "checks", "summary", "run_id", "id", "at", "time", "created_at", "started_at", "generated_at",
    "passed", "ok", "findings", "chain", "models", "stage", "schema_version",
}  # fmt: skip


# long: the page's sections in page order
def render_governance_report(report: Mapping[str, Any]) -> str:
    """A complete HTML page for a governance audit run.

    ``report``: ``checks`` [{check, passed, findings [str], details}] (or check names plus a flat
    ``findings`` list), optional ``summary`` counts, ``run_id``, a time under ``at`` /
    ``generated_at``, and optionally ``chain`` and ``models``.
    """
    data = as_data(report)
    if not isinstance(data, Mapping):
        data = {}
    checks = _checks(data)
    failed = [c for c in checks if not c.get("passed")]
    passed = [c for c in checks if c.get("passed")]
    findings = sum(len(c.get("findings") or []) for c in checks)
    summary = pick(data, "summary", default={})
    run_id = pick(data, "run_id", "id")
    when = pick(data, "at", "time", "generated_at", "created_at", "started_at")
    stage = pick(data, "stage") or (summary.get("stage") if isinstance(summary, Mapping) else None)

    if not checks:
        ok = data.get("ok")
        if ok is None:
            top = banner("info", "No checks ran", "The audit recorded no checks.", label="Audit result")
        else:
            top = banner(
                "ok" if ok else "bad", "Audit passed" if ok else "Audit failed", label="Audit result"
            )
    elif failed:
        names = ", ".join(humanize(str(c.get("check"))) for c in failed)
        top = banner(
            "bad",
            f"{len(failed)} of {len(checks)} checks failed",
            f"{findings} finding{'s' if findings != 1 else ''} to review: {names}",
            label="Audit result",
        )
    else:
        top = banner("ok", f"All {len(checks)} checks passed", "No findings.", label="Audit result")
    cards = stat_cards(
        [
            ("Checks", fmt_number(len(checks)), "run by the audit", "info"),
            ("Passed", fmt_number(len(passed)), "", "ok"),
            ("Failed", fmt_number(len(failed)), "", "bad" if failed else "ok"),
            ("Findings", fmt_number(findings), "to review" if findings else "", "bad" if findings else "ok"),
        ]
    )
    body = [top, cards, _checks_section(failed + passed)]
    chain = data.get("chain")
    if isinstance(chain, Mapping) and chain:
        body.append(_chain_section(chain))
    models = data.get("models")
    if isinstance(models, list) and models:
        body.append(_models_section(models))
    if isinstance(summary, Mapping) and summary:
        body.append(section("Summary", render_value(summary), anchor="summary"))
    rest = {k: v for k, v in data.items() if k not in _KNOWN and v not in (None, {}, [])}
    if rest:
        body.append(section("Other details", render_value(rest), anchor="other"))
    verdict = " \u00b7 failed" if failed else (" \u00b7 passed" if checks else "")
    meta = [("Run", fmt_value(run_id)), ("At", fmt_time(when))]
    if stage:
        meta.insert(0, ("Stage", fmt_value(stage)))
    return page(
        title=f"Governance audit {fmt_value(run_id)} \u2014 Model Steward",
        eyebrow="Governance audit",
        heading="Governance audit" + verdict,
        meta=meta,
        body="".join(body),
    )


def _checks(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Check records {check, passed, findings, details}, from either input shape."""
    raw = pick(data, "checks", default=[]) or []
    records = [dict(c) for c in raw if isinstance(c, Mapping)]
    names = [str(c) for c in raw if isinstance(c, str)]
    flat = data.get("findings")
    if names or (isinstance(flat, list) and not records):
        by_check: dict[str, list[str]] = {name: [] for name in names}
        for finding in flat if isinstance(flat, list) else []:
            if not isinstance(finding, Mapping):
                continue
            where = str(finding.get("model") or "")
            if finding.get("version") is not None:
                where += f" v{finding.get('version')}"
            message = str(finding.get("message") or "")
            by_check.setdefault(str(finding.get("check")), []).append(
                f"{where}: {message}" if where else message
            )
        records += [{"check": c, "passed": not found, "findings": found} for c, found in by_check.items()]
    return records


def _checks_section(checks: list[dict[str, Any]]) -> str:
    if not checks:
        return section("Checks", empty_note("No checks."), anchor="checks")
    with_details = any(c.get("details") not in (None, {}, []) for c in checks)
    rows, classes = [], []
    for check in checks:
        ok = bool(check.get("passed"))
        found = check.get("findings") or []
        if isinstance(found, list) and found:
            findings_html = "<ul>" + "".join(f"<li>{render_value(f)}</li>" for f in found) + "</ul>"
        elif found and not isinstance(found, list):
            findings_html = render_value(found)
        else:
            findings_html = '<span class="muted">none</span>'
        details = check.get("details")
        rows.append(
            [
                badge("Pass", "ok") if ok else badge("Fail", "bad"),
                f'<span class="feature-name">{cell(humanize(str(check.get("check") or MISSING)))}</span>'
                f'<span class="sub">{cell(check.get("check"))}</span>',
                findings_html,
            ]
        )
        if with_details:
            rows[-1].append(render_value(details) if details not in (None, {}, []) else MISSING)
        classes.append("" if ok else "row-fail")
    headers = ["Result", "Check", "Findings"] + (["Details"] if with_details else [])
    return section(
        "Checks",
        table(headers, rows, row_classes=classes, css_class="checks"),
        anchor="checks",
        note="Failed checks first.",
    )


def _chain_section(chain: Mapping[str, Any]) -> str:
    ok = chain.get("ok")
    head = ""
    if ok is not None:
        head = f"<p>{badge('Hash chain intact', 'ok') if ok else badge('Hash chain broken', 'bad')}</p>"
    items = labelled_items(chain, skip=("ok",))
    return section("Audit trail", head + definition_list(items), anchor="chain")


def _alarms_cell(alarms: Any) -> str:
    if not isinstance(alarms, list):
        return render_value(alarms)
    if not alarms:
        return badge("none", "bad")
    names = "\n".join(str(a) for a in alarms)
    return f'<span title="{esc(names)}">{esc(fmt_number(len(alarms)))}</span>'


def _models_section(models: list[Any]) -> str:
    records = [m for m in models if isinstance(m, Mapping)]
    if not records:
        return section("Models", render_value(models), anchor="models")
    rows, classes = [], []
    for m in records:
        findings = m.get("findings")
        alarms = m.get("alarms") or []
        pii = m.get("open_pii_findings") or []
        champion = m.get("champion")
        rows.append(
            [
                f'<span class="feature-name">{cell(m.get("model"))}</span>'
                + ("" if m.get("spec_found", True) else f" {badge('no spec', 'bad')}"),
                esc(f"v{champion}") if champion is not None else MISSING,
                esc(fmt_time(m.get("champion_since"))),
                esc(fmt_time(m.get("last_accepted_batch_at"))),
                _alarms_cell(alarms),
                esc(fmt_number(len(pii))) if isinstance(pii, list) else cell(pii),
                badge(fmt_number(findings), "bad") if findings else badge("0", "ok"),
            ]
        )
        classes.append("row-fail" if findings else "")
    known = {"model", "spec_found", "champion", "champion_since", "last_accepted_batch_at", "alarms",
             "open_pii_findings", "findings"}  # fmt: skip
    extra = [{k: v for k, v in m.items() if k not in known} for m in records]
    body = table(
        ["Model", "Champion", "Champion since", "Last batch", "Alarms", "Open PII findings", "Findings"],
        rows,
        numeric=[4, 5],
        row_classes=classes,
    )
    if any(extra):
        body += records_table([{"model": m.get("model"), **e} for m, e in zip(records, extra, strict=True)])
    return section("Models", body, anchor="models")

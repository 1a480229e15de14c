"""The scheduled governance audit: check that the record is complete and untampered, report, email.

Checks (each failure is one finding, named by ``check``):

- ``audit_chain``: the table chain verifies and agrees with its Object Lock export;
- ``model_spec``: a registered spec validates (the model is then audited with default limits);
- for every champion: ``model_card``, ``evaluation``, ``gate_decision``, ``approval`` exist (audit
  records or registry fields); ``lineage``: every recorded input resolves to an existing object
  version (HEAD with VersionId; SHA-256 compared when the object carries one); ``champion_age``:
  no champion older than ``governance.max_age_days`` without a retrain decision in that time;
- for every champion period (current and past, from the audit trail): ``fairness``: the version
  held the spec's fairness bounds at its gate (registry row ``fairness.verdict`` is ``held``);
  a breached, unjudged or missing verdict while the spec commits bounds is a finding; and in
  production: the ``bias`` / ``realized_bias`` episodes that opened while it served are listed
  with the period, and one still open is a finding (a closed one has had its two emails);
- for every monitored model (a champion, or any batch on record): ``data_freshness``: an accepted
  batch within ``governance.freshness_hours``; ``pii``: no open PII finding (one is resolved by a
  later ``pii.resolved`` record or a later ``batch.accepted`` of the same model without PII);
  ``alarms``: CloudWatch alarms named ``<stack>-<model>-<signal>`` exist.

Writes ``governance/<run_id>/report.json`` and ``report.html`` (artifacts bucket), appends an
``audit.run`` record, and emails a summary only when there is at least one finding. Light layer:
this module and its imports never load pandas or scikit-learn.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from .. import layout
from ..domain.alarm_message import model_alarm_prefix
from ..domain.audit_chain import AuditRecord, iso_utc, parse_iso, parse_records
from ..domain.governance_report import (
    BiasEpisode,
    ChainSummary,
    CheckName,
    FairnessPeriod,
    Finding,
    GovernanceReport,
    ModelAudit,
)
from ..domain.model_card import RegistryRowView
from ..errors import ConfigError, InvalidInput, NotFound, SpecError
from ..ports import AlarmCatalog, ObjectRef
from ..spec import Governance
from .audit_trail import champion_periods, verify
from .context import Context
from .lineage import lineage_of_version
from .model_cards import load_model_spec
from .pages import write_page

log = logging.getLogger(__name__)

RETRAIN_DECISIONS = (
    "retrain.requested",
    "retrain.suppressed",
    "training.started",
    "training.finished",
    "gate.decision",
)
BATCH_ACTIONS = ("batch.accepted", "batch.quarantined")
SUBJECT = "[model-steward] governance audit: {n} finding(s)"
_SIGNAL = re.compile(r"[a-z_]+")  # alarm names: model-steward-<stage>-<model>-<signal>


class AuditRunResult(BaseModel):
    report: GovernanceReport
    report_uri: str | None = None
    html_uri: str | None = None
    emailed: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.report.run_id,
            "ok": self.report.ok,
            "findings": len(self.report.findings),
            "by_check": self.report.counts(),
            "report_uri": self.report_uri,
            "emailed": self.emailed,
        }


# --- pure helpers ------------------------------------------------------------------------------
def has_pii(rec: AuditRecord) -> bool:
    """Whether a batch record says PII was found (``details.pii_findings`` or ``details.pii``)."""
    for key in ("pii_findings", "pii"):
        value = rec.details.get(key)
        if isinstance(value, bool | int | float):
            return bool(value)
        if isinstance(value, list):
            return bool(value)
        if isinstance(value, Mapping):
            return bool(value.get("count") or value.get("findings"))
    return False


def open_pii_findings(records: Sequence[AuditRecord], model: str) -> list[int]:
    """Seqs of ``pii.finding`` records of ``model`` with no later resolution."""
    open_seqs: list[int] = []
    for rec in sorted((r for r in records if r.model == model), key=lambda r: r.seq):
        if rec.action == "pii.finding":
            open_seqs.append(rec.seq)
        elif rec.action == "pii.resolved":
            target = rec.details.get("finding_seq")
            open_seqs = [] if target is None else [s for s in open_seqs if s != target]
        elif rec.action == "batch.accepted" and not has_pii(rec):
            open_seqs = []
    return open_seqs


BIAS_EVIDENCE = {
    "bias": "selection rate per group of its predictions",
    "realized_bias": "realized group metrics of its labelled rows",
}
NOT_AN_OPENING = ("ignored", "none", "mirror_corrected", "already_told", "still_open")


def bias_episodes(records: Sequence[AuditRecord]) -> list[BiasEpisode]:
    """A model's bias and realized-bias episodes from handle_alarm's ``alarm.handled`` records: one
    opens with the first emailed ALARM of its signal, closes with its ``recovered`` OK."""
    episodes: list[BiasEpisode] = []
    open_now: dict[str, BiasEpisode] = {}
    for rec in sorted((r for r in records if r.action == "alarm.handled"), key=lambda r: r.seq):
        signal, state = rec.details.get("signal"), rec.details.get("state")
        if signal not in BIAS_EVIDENCE:
            continue
        if state == "ALARM" and rec.details.get("decision") not in NOT_AN_OPENING and signal not in open_now:
            open_now[signal] = BiasEpisode(signal=signal, opened_at=rec.at, opened_seq=rec.seq)
            episodes.append(open_now[signal])
        elif state == "OK" and rec.details.get("decision") == "recovered" and signal in open_now:
            open_now.pop(signal).closed_at = rec.at
    return episodes


def _age(now: dt.datetime, at: str) -> dt.timedelta:
    return now - parse_iso(at)


def run_id_for(event: Mapping[str, Any], now: dt.datetime) -> tuple[str, str]:
    """(idempotency tick, run id) of a schedule delivery.

    The tick is ``run_id`` (manual runs), else the EventBridge ``id``/``time``, else the UTC date:
    a constant schedule payload ({"action": "run_audit"}) runs once per day however often it is
    delivered.
    """
    explicit = event.get("run_id")
    if explicit:
        run_id = re.sub(r"[^A-Za-z0-9._-]", "-", str(explicit))[:64]
        return f"run:{run_id}", run_id
    when = event.get("time")
    if when:
        try:
            at = parse_iso(str(when))
        except ValueError:
            at = None
        if at is not None:
            tick = str(event.get("id") or when)
            return tick, at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    if event.get("id"):
        tick = str(event["id"])
        return tick, f"{now:%Y%m%dT%H%M%SZ}-{hashlib.sha256(tick.encode()).hexdigest()[:8]}"
    day = f"{now.astimezone(dt.UTC):%Y-%m-%d}"
    return f"day:{day}", day.replace("-", "")


# --- the audit ---------------------------------------------------------------------------------
class _Auditor:
    def __init__(self, ctx: Context, catalog: AlarmCatalog | None, now: dt.datetime) -> None:
        self.ctx, self.catalog, self.now = ctx, catalog, now
        self.findings: list[Finding] = []

    def find(
        self, check: CheckName, message: str, model: str | None = None, version: int | None = None
    ) -> None:
        self.findings.append(Finding(check=check, model=model, version=version, message=message))

    def chain(self) -> tuple[ChainSummary, list[AuditRecord]]:
        if self.ctx.audit is None:
            self.find("audit_chain", "no audit log is configured")
            return ChainSummary(ok=False, records=0, export_checked=False, message="no audit log"), []
        raw = list(self.ctx.audit.records())
        report = verify(self.ctx, raw)
        if not report.ok:
            self.find(
                "audit_chain",
                f"first bad record: seq {report.first_bad_seq} ({report.kind}): {report.message}",
            )
        summary = ChainSummary(
            ok=report.ok,
            records=report.table.count,
            export_checked=report.export_checked,
            first_bad_seq=report.first_bad_seq,
            kind=report.kind,
            message=report.message,
        )
        return summary, parse_records(raw)

    def models(self, records: Sequence[AuditRecord]) -> list[str]:
        names: set[str] = set()
        if self.ctx.registry is not None:
            names.update(self.ctx.registry.list_models())
        bucket = self.ctx.settings.data_bucket
        if bucket:
            for key in self.ctx.store.list_keys(bucket, "specs/"):
                parts = key.split("/")
                if len(parts) == 3 and parts[2] == "spec.yaml":
                    names.add(parts[1])
        names.update(r.model for r in records if r.model and r.action in BATCH_ACTIONS)
        return sorted(names)

    def exists(self, uri: str, version_id: str | None = None) -> bool:
        try:
            bucket, key = layout.parse_s3_uri(uri)
            self.ctx.store.head(bucket, key, version_id)
        except (NotFound, InvalidInput):
            return False
        return True

    def model(self, model: str, records: Sequence[AuditRecord]) -> ModelAudit:
        before = len(self.findings)
        try:
            loaded = load_model_spec(self.ctx, model)
        except SpecError as exc:  # audited with default limits; the broken spec is itself a finding
            self.find("model_spec", exc.message, model)
            loaded = None
        gov = loaded[0].governance if loaded else Governance()
        mine = [r for r in records if r.model == model]
        audit = ModelAudit(model=model, spec_found=loaded is not None)
        champion = self.ctx.registry.champion(model) if self.ctx.registry is not None else None
        if champion:
            self.champion(model, champion, mine, gov, audit)
        self.fairness(model, mine, loaded[0] if loaded else None, audit)
        batches = [r for r in mine if r.action in BATCH_ACTIONS]
        if champion or batches:
            self.monitoring(model, mine, gov, audit)
        audit.findings = len(self.findings) - before
        return audit

    # long: one champion's audit checks, one finding each
    def champion(
        self,
        model: str,
        row: Mapping[str, Any],
        mine: Sequence[AuditRecord],
        gov: Governance,
        audit: ModelAudit,
    ) -> None:
        view = RegistryRowView(row)
        version = view.version or 0
        audit.champion = version
        of_version = [r for r in mine if r.model_version == version]
        art = self.ctx.settings.artifacts_bucket
        # card
        card = view.card
        card_ok = self.exists(card.uri, card.version_id) if card else False
        if not card_ok and art:
            card_ok = self.exists(layout.s3_uri(art, layout.card_prefix(model, version) + "card.json"))
        if not card_ok:
            self.find("model_card", f"champion v{version} has no model card", model, version)
        # evaluation and gate decision
        gates = [r for r in of_version if r.action == "gate.decision"]
        if not gates and not view.gate:
            self.find("gate_decision", f"champion v{version} has no recorded gate decision", model, version)
        evaluation_uris = [
            p for g in gates for p in [*g.outputs, *g.inputs] if p.uri.endswith("evaluation.json")
        ]
        evaluation = view.evaluation or (evaluation_uris[-1] if evaluation_uris else None)
        eval_ok = self.exists(evaluation.uri, evaluation.version_id) if evaluation else False
        if not eval_ok and art:
            eval_ok = self.exists(
                layout.s3_uri(art, layout.version_prefix(model, version) + "evaluation.json")
            )
        if not eval_ok:
            self.find("evaluation", f"champion v{version} has no evaluation", model, version)
        # approval
        approved = (
            any(r.action == "model.approved" for r in of_version)
            or bool(view.approved_by)
            or view.status == "Approved"
        )
        if not approved:
            self.find("approval", f"champion v{version} has no recorded approval", model, version)
        # lineage
        try:
            inputs = lineage_of_version(self.ctx, model, version, records=mine).inputs
        except NotFound:
            inputs = []
        if not inputs:
            self.find("lineage", f"champion v{version} has no recorded input data", model, version)
        for entry in inputs:
            if not entry.version_id:
                self.find(
                    "lineage",
                    f"input {entry.uri} of v{version} is not pinned to an object version",
                    model,
                    version,
                )
                continue
            try:
                bucket, key = layout.parse_s3_uri(entry.uri)
                head = self.ctx.store.head(bucket, key, entry.version_id)
            except (NotFound, InvalidInput):
                self.find(
                    "lineage",
                    f"input {entry.uri} (version {entry.version_id}) of v{version} does not exist",
                    model,
                    version,
                )
                continue
            if entry.sha256 and head.sha256 and entry.sha256 != head.sha256:
                self.find(
                    "lineage",
                    f"input {entry.uri} (version {entry.version_id}) of v{version} "
                    "does not match its recorded SHA-256",
                    model,
                    version,
                )
        # age
        periods = [p for p in champion_periods(mine, model) if p.version == version and p.end is None]
        since = periods[-1].start if periods else (view.promoted_at or view.created_at)
        audit.champion_since = since
        if since:
            try:
                age = _age(self.now, since)
            except ValueError:
                age = None
            limit = dt.timedelta(days=gov.max_age_days)
            if age is not None and age > limit:
                cutoff = self.now - limit
                decided = any(r.action in RETRAIN_DECISIONS and r.when >= cutoff for r in mine)
                if not decided:
                    self.find(
                        "champion_age",
                        f"champion v{version} is {age.days} days old (limit "
                        f"{gov.max_age_days}) with no retrain decision since {iso_utc(cutoff)}",
                        model,
                        version,
                    )

    # long: the gate's fairness verdicts and the production bias episodes, per champion period
    def fairness(self, model: str, mine: Sequence[AuditRecord], spec: Any, audit: ModelAudit) -> None:
        """Every champion period held the fairness bounds its version was gated on."""
        committed = bool(spec is not None and spec.fairness.bounds.committed())
        audit.fairness_rejections = sorted(
            {
                r.model_version
                for r in mine
                if r.action == "gate.decision"
                and r.model_version is not None
                and any(str(c).startswith("fairness") for c in r.details.get("failed_checks") or [])
                and r.details.get("outcome") == "reject"
            }
        )
        if self.ctx.registry is None:
            return
        episodes = bias_episodes(mine)
        for period in champion_periods(mine, model):
            try:
                row = self.ctx.registry.get_version(model, period.version) or {}
            except NotFound:
                row = {}
            fair = row.get("fairness") or {}
            verdict = fair.get("verdict")
            ends = period.end_seq if period.end_seq is not None else float("inf")
            served = [e for e in episodes if period.start_seq <= e.opened_seq < ends]
            audit.fairness_periods.append(
                FairnessPeriod(
                    version=period.version,
                    start=period.start,
                    end=period.end,
                    verdict=verdict,
                    production_episodes=served,
                )
            )
            when = f"champion v{period.version} ({period.start} to {period.end or 'now'})"
            for episode in (e for e in served if e.closed_at is None):
                self.find(
                    "fairness",
                    f"{when} breaks its fairness bounds in production: {episode.signal} "
                    f"episode open since {episode.opened_at} ({BIAS_EVIDENCE[episode.signal]})",
                    model,
                    period.version,
                )
            if verdict == "breached":
                checks = ", ".join(fair.get("failed_checks") or []) or "see the gate decision"
                message = f"{when} did not hold its fairness bounds: {checks}"
                self.find("fairness", message, model, period.version)
            elif committed and verdict in (None, "none"):
                self.find(
                    "fairness",
                    f"{when} has no fairness verdict though the spec commits bounds",
                    model,
                    period.version,
                )
            elif committed and verdict == "unjudged":
                self.find(
                    "fairness",
                    f"{when}: its fairness bounds could not be judged (groups too small or "
                    "attribute missing); a person approved it",
                    model,
                    period.version,
                )

    def monitoring(self, model: str, mine: Sequence[AuditRecord], gov: Governance, audit: ModelAudit) -> None:
        accepted = [r for r in mine if r.action == "batch.accepted"]
        if not accepted:
            self.find("data_freshness", "no accepted batch on record", model)
        else:
            last = max(accepted, key=lambda r: r.when)
            audit.last_accepted_batch_at = last.at
            hours = _age(self.now, last.at).total_seconds() / 3600
            if hours > gov.freshness_hours:
                self.find(
                    "data_freshness",
                    f"last accepted batch is {hours:.1f} h old (limit {gov.freshness_hours:g} h)",
                    model,
                )
        audit.open_pii_findings = open_pii_findings(mine, model)
        if audit.open_pii_findings:
            seqs = audit.open_pii_findings
            self.find(
                "pii", f"{len(seqs)} open PII finding(s) (audit seq {', '.join(map(str, seqs[:10]))})", model
            )
        if self.catalog is not None:
            stack = self.ctx.settings.stack_name or f"model-steward-{self.ctx.settings.stage}"
            prefix = model_alarm_prefix(stack, model)
            # the signal has no '-': "credit-risk-drift" is an alarm of credit-risk, not of credit
            audit.alarms = [
                n for n in self.catalog.alarm_names(prefix) if _SIGNAL.fullmatch(n[len(prefix) :])
            ]
            if not audit.alarms:
                self.find("alarms", f"no CloudWatch alarm named {prefix}*", model)


def run_audit(ctx: Context, alarm_catalog: AlarmCatalog | None, *, run_id: str) -> AuditRunResult:
    """Run every check once, write the report, record the run, email when there are findings."""
    now = ctx.clock()
    auditor = _Auditor(ctx, alarm_catalog, now)
    chain, records = auditor.chain()
    models = [auditor.model(m, records) for m in auditor.models(records)]
    report = GovernanceReport(
        run_id=run_id,
        generated_at=iso_utc(now),
        stage=ctx.settings.stage,
        ok=not auditor.findings,
        chain=chain,
        models=models,
        findings=auditor.findings,
    )
    result = AuditRunResult(report=report)
    refs = _write_report(ctx, report)
    if refs:
        result.report_uri, result.html_uri = refs[0].uri, refs[1].uri
    outputs = [r.as_dict() for r in refs]
    ctx.record(
        "audit.run",
        reason=f"{len(report.findings)} finding(s)",
        outputs=outputs,
        details={
            "run_id": run_id,
            "findings": len(report.findings),
            "by_check": report.counts(),
            "chain_ok": chain.ok,
        },
    )
    if report.findings:
        if ctx.notifier is None:
            log.warning("governance audit has findings but no notifier is configured")
        else:
            ctx.notifier.publish(
                SUBJECT.format(n=len(report.findings)),
                email_body(report, result.report_uri),
                {"kind": "governance_audit"},
            )
            result.emailed = True
    return result


def _write_report(ctx: Context, report: GovernanceReport) -> list[ObjectRef]:
    """report.json, then its page (services.pages); nothing without an artifacts bucket."""
    bucket = ctx.settings.artifacts_bucket
    if not bucket:
        return []
    prefix = layout.governance_prefix(report.run_id)
    json_ref = ctx.store.put(
        bucket,
        prefix + "report.json",
        json.dumps(report.model_dump(mode="json"), indent=2, sort_keys=True).encode(),
        content_type="application/json",
    )
    from ..reporting.governance import render_governance_report

    html_ref, _ = write_page(
        ctx,
        bucket,
        prefix + "report.html",
        lambda: render_governance_report(report),
        kind="governance_report",
        subject=report.run_id,
        record=json_ref,
        model=None,
    )
    return [json_ref, html_ref]


def handle_schedule(
    event: Mapping[str, Any], *, ctx: Context | None = None, alarm_catalog: AlarmCatalog | None = None
) -> dict[str, Any]:
    """The run_audit function: one audit per schedule tick (repeat deliveries return the first result)."""
    from ..idempotency import run_once

    action = event.get("action", "run_audit")
    if action != "run_audit":
        raise InvalidInput(f"run_audit received action '{action}'; expected 'run_audit'", code="bad_event")
    ctx = ctx or Context.from_environment("run_audit")
    alarm_catalog = alarm_catalog or ctx.alarm_catalog
    tick, run_id = run_id_for(event, ctx.clock())
    if not ctx.settings.artifacts_bucket:
        raise ConfigError("missing environment variables: ARTIFACTS_BUCKET")
    return run_once(
        "run_audit", {"tick": tick}, lambda: run_audit(ctx, alarm_catalog, run_id=run_id).summary()
    )


# --- the email ---------------------------------------------------------------------------------
def email_body(report: GovernanceReport, report_uri: str | None) -> str:
    lines = [
        f"Governance audit {report.run_id} ({report.stage}) found {len(report.findings)} finding(s):",
        "",
    ]
    for f in report.findings:
        where = f" {f.model}" if f.model else ""
        where += f" v{f.version}" if f.version is not None else ""
        lines.append(f"- [{f.check}]{where}: {f.message}")
    lines += [
        "",
        f"Report: {report_uri or '(not written)'}",
        "Verify the audit trail yourself: steward audit verify",
    ]
    return "\n".join(lines)

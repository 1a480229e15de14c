"""Reading the audit trail: verify it, and answer "which version was champion when, and why".

Conventions the history relies on (docs/governance.md lists them for every writer):

- ``model.promoted``: ``model_version`` is the new champion; ``actor`` promoted it.
- ``model.rollback``: the champion becomes ``details.to_version`` if present, else ``model_version``.
- ``model.approved`` / ``model.rejected``: a person's (or the gate's) decision on ``model_version``;
  a period's approval is the last ``model.approved`` of its version, or ``gate.decision`` with
  outcome ``promote``, at or before the period's start.
- ``gate.decision``: the gate's verdict on challenger ``model_version``; its ``details`` are the
  evidence, and an ``evaluation.json`` among its inputs/outputs (or ``details.evaluation_uri``)
  is the evaluation it used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from ..domain.audit_chain import (
    AuditRecord,
    BreakKind,
    ChainVerification,
    DivergenceKind,
    ExportComparison,
    compare_with_export,
    iso_utc,
    parse_records,
    verify_chain,
)
from ..errors import ConfigError
from .context import Context

CHAMPION_ACTIONS = ("model.promoted", "model.rollback")


@runtime_checkable
class ExportedAuditLog(Protocol):
    """An audit log that can also read its locked export (adapters.dynamodb_audit.DynamoAuditLog):
    ``export_snapshot()`` returns an object with ``records`` and ``overwritten``, or None."""

    def export_snapshot(self) -> Any: ...


class VerificationReport(BaseModel):
    """The chain as stored in the table, its locked export, and where they disagree."""

    ok: bool
    checked_at: str
    table: ChainVerification
    export: ChainVerification | None = None
    comparison: ExportComparison | None = None
    export_checked: bool = False
    first_bad_seq: int | None = None
    kind: BreakKind | DivergenceKind | None = None
    message: str = "audit chain verifies"


def verify(ctx: Context, table_records: Sequence[Mapping[str, Any]] | None = None) -> VerificationReport:
    """Verify the table chain and, when the log has a locked export, compare the two.

    ``table_records`` lets a caller that already read the table avoid a second read.
    """
    if ctx.audit is None:
        raise ConfigError("no audit log is configured (AUDIT_TABLE is empty)")
    table_records = list(ctx.audit.records()) if table_records is None else list(table_records)
    table = verify_chain(table_records)
    export = comparison = None
    snapshot = ctx.audit.export_snapshot() if isinstance(ctx.audit, ExportedAuditLog) else None
    if snapshot is not None:
        export = verify_chain(snapshot.records)
        comparison = compare_with_export(table_records, snapshot.records, overwritten=snapshot.overwritten)
    problems: list[tuple[int, str, str]] = []  # (seq, kind, message)
    if not table.ok and table.first_bad_seq is not None and table.kind is not None:
        problems.append((table.first_bad_seq, table.kind, f"table: {table.message}"))
    if comparison is not None and comparison.first is not None:
        d = comparison.first
        problems.append((d.seq, d.kind, f"export: {d.message}"))
    if export is not None and not export.ok and export.first_bad_seq is not None and not problems:
        problems.append((export.first_bad_seq, "export_invalid", f"locked export: {export.message}"))
    report = VerificationReport(
        ok=not problems,
        checked_at=iso_utc(ctx.clock()),
        table=table,
        export=export,
        comparison=comparison,
        export_checked=export is not None,
        message=table.message,
    )
    if problems:
        seq, kind, message = min(problems, key=lambda p: p[0])
        report.first_bad_seq, report.kind, report.message = seq, kind, message  # type: ignore[assignment]
    elif export is None:
        report.message = f"{table.message} (no locked export to compare)"
    else:
        report.message = f"{table.message}; the locked export agrees"
    return report


# --- champion history ----------------------------------------------------------------------------
class Evidence(BaseModel):
    """Why a version could become champion: the gate's verdict and the evaluation it used."""

    gate_seq: int | None = None
    gate_at: str | None = None
    gate_actor: str | None = None
    gate_details: dict[str, Any] = Field(default_factory=dict)
    evaluation_uri: str | None = None
    evaluation_version_id: str | None = None


class ChampionPeriod(BaseModel):
    model: str
    version: int
    start: str
    end: str | None = None  # None: still champion
    start_seq: int
    end_seq: int | None = None
    became_champion_by: str  # model.promoted | model.rollback
    promoted_by: str
    reason: str = ""
    approved_by: str | None = None
    approved_at: str | None = None
    approval_seq: int | None = None
    evidence: Evidence = Field(default_factory=Evidence)

    def covers(self, when: dt.datetime) -> bool:
        start = _parse(self.start)
        return start <= when and (self.end is None or when < _parse(self.end))


def _parse(value: str) -> dt.datetime:
    from ..domain.audit_chain import parse_iso

    return parse_iso(value)


def champion_version_of(rec: AuditRecord) -> int | None:
    if rec.action == "model.rollback":
        target = rec.details.get("to_version")
        if target is not None:
            try:
                return int(target)
            except (TypeError, ValueError):
                return None
    return rec.model_version


def _evidence(records: Sequence[AuditRecord], model: str, version: int, until_seq: int) -> Evidence:
    gates = [
        r
        for r in records
        if r.action == "gate.decision"
        and r.model == model
        and r.model_version == version
        and r.seq < until_seq
    ]
    if not gates:
        return Evidence()
    gate = gates[-1]
    uri = gate.details.get("evaluation_uri")
    vid = gate.details.get("evaluation_version_id")
    for p in [*gate.outputs, *gate.inputs]:
        if p.uri.endswith("evaluation.json"):
            uri, vid = p.uri, p.version_id
            break
    return Evidence(
        gate_seq=gate.seq,
        gate_at=gate.at,
        gate_actor=gate.actor,
        gate_details=dict(gate.details),
        evaluation_uri=str(uri) if uri else None,
        evaluation_version_id=str(vid) if vid else None,
    )


def champion_periods(records: Iterable[AuditRecord], model: str) -> list[ChampionPeriod]:
    """Champion periods of ``model`` in order, from promotion and rollback records (pure)."""
    ordered = sorted((r for r in records if r.model == model), key=lambda r: r.seq)
    periods: list[ChampionPeriod] = []
    for rec in ordered:
        if rec.action not in CHAMPION_ACTIONS:
            continue
        version = champion_version_of(rec)
        if version is None:
            continue
        current = periods[-1] if periods and periods[-1].end is None else None
        if current is not None and current.version == version:
            continue  # repeated promotion of the sitting champion: same period
        if current is not None:
            current.end, current.end_seq = rec.at, rec.seq
        periods.append(
            ChampionPeriod(
                model=model,
                version=version,
                start=rec.at,
                start_seq=rec.seq,
                became_champion_by=rec.action,
                promoted_by=rec.actor,
                reason=rec.reason,
                evidence=_evidence(ordered, model, version, rec.seq + 1),
            )
        )
    for period in periods:
        approvals = [
            r
            for r in ordered
            if r.model_version == period.version and r.seq <= period.start_seq and _is_approval(r)
        ]
        if approvals:
            last = approvals[-1]
            period.approved_by, period.approved_at, period.approval_seq = last.actor, last.at, last.seq
    return periods


def _is_approval(rec: AuditRecord) -> bool:
    """A decision that made a version eligible to be champion: a person's ``model.approved``, or
    a ``gate.decision`` whose outcome was to promote (auto-promotion: the gate approved it)."""
    if rec.action == "model.approved":
        return True
    return rec.action == "gate.decision" and str(rec.details.get("outcome") or "") == "promote"


def _records(ctx: Context) -> list[AuditRecord]:
    if ctx.audit is None:
        raise ConfigError("no audit log is configured (AUDIT_TABLE is empty)")
    return parse_records(ctx.audit.records())


def history(ctx: Context, model: str) -> list[ChampionPeriod]:
    """Which version was champion when, who promoted and approved it, and on what evidence.

    Derived from the audit trail alone (the record meant to answer this): registry rows are
    today's state and are rewritten by later decisions (a rollback re-promotes a version), so they
    would credit a period to whoever touched the row last.
    """
    return champion_periods(_records(ctx), model)


def champion_at(ctx: Context, model: str, when: dt.datetime | str) -> ChampionPeriod | None:
    """The champion period covering ``when`` (None before the first promotion)."""
    moment = _parse(when) if isinstance(when, str) else (when if when.tzinfo else when.replace(tzinfo=dt.UTC))
    for period in history(ctx, model):
        if period.covers(moment):
            return period
    return None

"""Lineage: from a model version or a report back to the exact input objects, and forward from a
batch to everything built from it.

Sources: the registry version row (its ``lineage`` section and artifact references), the
``lineage`` section of a report.json, and the inputs/outputs of audit records. Every reference is
an exact object version (URI + version id + SHA-256), so "which data trained v7" has one answer.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..domain.audit_chain import AuditRecord, ObjectPointer, parse_records
from ..domain.model_card import RegistryRowView, walk_pointers
from ..errors import InvalidInput, NotFound
from ..layout import parse_s3_uri
from .context import Context

MAX_REPORT_BYTES = 50_000_000
MAX_FORWARD_DEPTH = 5
VERSION_ACTIONS = ("training.started", "training.finished", "gate.decision", "card.generated")


class LineageEntry(BaseModel):
    role: str
    uri: str
    version_id: str | None = None
    sha256: str | None = None
    source: Literal["registry", "audit", "report"]
    seq: int | None = None

    def pointer(self) -> ObjectPointer:
        return ObjectPointer(uri=self.uri, version_id=self.version_id, sha256=self.sha256)


class VersionLineage(BaseModel):
    model: str
    version: int
    inputs: list[LineageEntry] = Field(default_factory=list)
    outputs: list[LineageEntry] = Field(default_factory=list)
    records: list[int] = Field(default_factory=list)


class ReportLineage(BaseModel):
    report_uri: str
    report_version_id: str | None = None
    model: str | None = None
    model_version: int | None = None
    inputs: list[LineageEntry] = Field(default_factory=list)
    baseline: LineageEntry | None = None
    records: list[int] = Field(default_factory=list)


class ForwardUse(BaseModel):
    """An audit record that used the object (directly, or through something built from it)."""

    seq: int
    at: str
    action: str
    model: str | None = None
    model_version: int | None = None
    via: str  # the URI this record read
    depth: int  # 1 = read the object itself; 2 = read an output of a depth-1 record; ...
    outputs: list[ObjectPointer] = Field(default_factory=list)


def _add(entries: list[LineageEntry], entry: LineageEntry) -> None:
    for e in entries:
        if e.uri == entry.uri and (e.version_id == entry.version_id or entry.version_id is None):
            return
        if e.uri == entry.uri and e.version_id is None:
            entries.remove(e)
            break
    entries.append(entry)


def _records(ctx: Context) -> list[AuditRecord]:
    return parse_records(ctx.audit.records()) if ctx.audit is not None else []


# long: one lineage document, inputs then outputs
def lineage_of_version(
    ctx: Context, model: str, version: int, *, records: Sequence[AuditRecord] | None = None
) -> VersionLineage:
    """Inputs (training/reference data) and outputs (artifacts) of a version, from registry and audit.

    ``records``: the parsed audit records when the caller already read them (the governance audit).
    """
    result = VersionLineage(model=model, version=version)
    row: dict[str, Any] | None = None
    if ctx.registry is not None:
        try:
            row = ctx.registry.get_version(model, version)
        except NotFound:
            row = None
    if row is not None:
        view = RegistryRowView(row)
        for role, ptr in view.lineage():
            _add(
                result.inputs,
                LineageEntry(
                    role=role, uri=ptr.uri, version_id=ptr.version_id, sha256=ptr.sha256, source="registry"
                ),
            )
        if view.spec is not None:
            _add(
                result.inputs,
                LineageEntry(
                    role="spec",
                    uri=view.spec.uri,
                    version_id=view.spec.version_id,
                    sha256=view.spec.sha256,
                    source="registry",
                ),
            )
        for role, ptr in walk_pointers({k: v for k, v in row.items() if k not in ("lineage", "spec")}):
            _add(
                result.outputs,
                LineageEntry(
                    role=role, uri=ptr.uri, version_id=ptr.version_id, sha256=ptr.sha256, source="registry"
                ),
            )
    for rec in _records(ctx) if records is None else records:
        if rec.model != model or rec.model_version != version or rec.action not in VERSION_ACTIONS:
            continue
        result.records.append(rec.seq)
        if rec.action.startswith("training."):
            for p in rec.inputs:
                _add(
                    result.inputs,
                    LineageEntry(
                        role=rec.action,
                        uri=p.uri,
                        version_id=p.version_id,
                        sha256=p.sha256,
                        source="audit",
                        seq=rec.seq,
                    ),
                )
        for p in rec.outputs:
            _add(
                result.outputs,
                LineageEntry(
                    role=rec.action,
                    uri=p.uri,
                    version_id=p.version_id,
                    sha256=p.sha256,
                    source="audit",
                    seq=rec.seq,
                ),
            )
    if row is None and not result.records:
        raise NotFound(f"no registry row and no audit record for {model} v{version}")
    return result


def lineage_of_report(ctx: Context, report_uri: str, version_id: str | None = None) -> ReportLineage:
    """The report's own ``lineage`` section (inputs, baseline, model version) plus the audit
    records that produced it."""
    bucket, key = parse_s3_uri(report_uri)
    stored = ctx.store.get(bucket, key, version_id, max_bytes=MAX_REPORT_BYTES)
    try:
        data = json.loads(stored.body)
    except ValueError as exc:
        raise InvalidInput(f"{report_uri} is not a JSON report") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{report_uri} is not a JSON object")
    section = data.get("lineage") or {}
    result = ReportLineage(report_uri=report_uri, report_version_id=stored.ref.version_id)
    if isinstance(section, dict):
        result.model = section.get("model") or data.get("model")
        mv = section.get("model_version", data.get("model_version"))
        result.model_version = int(mv) if isinstance(mv, int | float | str) and str(mv).isdigit() else None
        baseline = section.get("baseline")
        for role, ptr in walk_pointers({k: v for k, v in section.items() if k != "baseline"}, "lineage"):
            _add(
                result.inputs,
                LineageEntry(
                    role=role, uri=ptr.uri, version_id=ptr.version_id, sha256=ptr.sha256, source="report"
                ),
            )
        for role, ptr in walk_pointers(baseline or {}, "lineage.baseline"):
            result.baseline = LineageEntry(
                role=role, uri=ptr.uri, version_id=ptr.version_id, sha256=ptr.sha256, source="report"
            )
            break
    for rec in _records(ctx):
        if rec.produced(report_uri):
            result.records.append(rec.seq)
            for p in rec.inputs:
                _add(
                    result.inputs,
                    LineageEntry(
                        role=rec.action,
                        uri=p.uri,
                        version_id=p.version_id,
                        sha256=p.sha256,
                        source="audit",
                        seq=rec.seq,
                    ),
                )
    return result


def forward_from_batch(ctx: Context, object_uri: str, version_id: str | None = None) -> list[ForwardUse]:
    """Every audit record that read the object, then (transitively, up to 5 hops) every record that
    read one of their outputs: the reports, pools and model versions built from the batch."""
    by_input: dict[str, list[AuditRecord]] = defaultdict(list)
    for rec in _records(ctx):
        for uri in {p.uri for p in rec.inputs}:
            by_input[uri].append(rec)
    uses: list[ForwardUse] = []
    seen_records: set[int] = set()
    seen_objects: set[tuple[str, str | None]] = {(object_uri, version_id)}
    frontier: deque[tuple[str, str | None, int]] = deque([(object_uri, version_id, 1)])
    while frontier:
        uri, vid, depth = frontier.popleft()
        for rec in by_input.get(uri, []):
            if rec.seq in seen_records or not rec.uses(uri, vid):
                continue
            seen_records.add(rec.seq)
            uses.append(
                ForwardUse(
                    seq=rec.seq,
                    at=rec.at,
                    action=rec.action,
                    model=rec.model,
                    model_version=rec.model_version,
                    via=uri,
                    depth=depth,
                    outputs=list(rec.outputs),
                )
            )
            if depth >= MAX_FORWARD_DEPTH:
                continue
            for out in rec.outputs:
                key = (out.uri, out.version_id)
                if key not in seen_objects:
                    seen_objects.add(key)
                    frontier.append((out.uri, out.version_id, depth + 1))
    uses.sort(key=lambda u: u.seq)
    return uses

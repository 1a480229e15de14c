"""The tamper-evident audit chain: records, their canonical encoding, and verification.

Each record carries the hash of its predecessor, so altering, removing, reordering or inserting a
record breaks a link that ``verify_chain`` names. A chain alone cannot reveal a rewrite of its
newest records (an attacker can recompute every hash after the change); the copy of each record
in the Object Lock bucket can, and ``compare_with_export`` names where the table and that locked
copy disagree.

Canonical encoding (what the hash covers): the record without its ``hash`` field, serialized as
JSON with sorted keys, ``(",", ":")`` separators, UTF-8 (no ASCII escaping) and NaN/Infinity
forbidden. Values are normalized *before* they are stored and hashed, so the bytes are the same
after a round trip through DynamoDB (which turns every number into a Decimal):

- a float with an integral value below 1e38 becomes an int (``1.0`` -> ``1``);
- other floats keep Python's shortest round-trip ``repr`` (``0.1`` stays ``0.1``);
- NaN, +-Infinity, and numbers DynamoDB cannot hold (magnitude >= 1e38 or below 1e-120) become
  the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` or their ``repr``;
- Decimals follow the same rules; tuples and sets become lists (sets sorted); datetimes become
  ISO 8601 strings; numpy scalars and arrays become their Python values; dict keys become
  strings; other objects become ``str(obj)``.

``hash = sha256(prev_hash_hex_ascii + canonical_bytes).hexdigest()``; the first record's
``prev_hash`` is 64 zeros.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

GENESIS_HASH = "0" * 64
MAX_DIVERGENCES = 100  # a comparison lists the first ones (and counts all)
MAX_DETAILS_BYTES = 300_000  # DynamoDB items hold 400 KB; larger details are replaced by a digest
_MAX_INT = 10**38
_MIN_ABS_FLOAT = 1e-120

ACTIONS = (
    "batch.accepted",
    "batch.quarantined",
    "batch.superseded",
    "drift.verdict",
    "alarm.handled",
    "training.started",
    "training.finished",
    "gate.decision",
    "model.promoted",
    "model.approved",
    "model.rejected",
    "model.rollback",
    "pii.finding",
    "pii.resolved",
    "card.generated",
    "page.failed",
    "audit.run",
    "window.checked",
    "labels.evaluated",
    "retrain.requested",
    "retrain.suppressed",
)
"""Actions the suite writes; others are accepted (the log is open to new kinds of events)."""

_RECORD_FIELDS = ("at", "action", "actor", "model", "model_version", "reason", "inputs", "outputs", "details")

BreakKind = Literal["altered", "removed", "reordered", "inserted", "duplicated", "malformed"]
DivergenceKind = Literal[
    "altered_in_table", "removed_from_table", "missing_from_export", "export_invalid", "export_overwritten"
]


# --- canonical values ------------------------------------------------------------------------
def _normalize_number(value: float | Decimal) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            return "NaN" if value.is_nan() else ("Infinity" if value > 0 else "-Infinity")
        if value == value.to_integral_value() and abs(value) < _MAX_INT:
            return int(value)
        value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < _MAX_INT:
        return int(value)
    if abs(value) >= _MAX_INT or abs(value) < _MIN_ABS_FLOAT:
        return repr(value)
    return value


def normalize(value: Any) -> Any:
    """A JSON value whose canonical bytes survive a DynamoDB round trip (see module docstring)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if abs(value) < _MAX_INT else str(value)
    if isinstance(value, float | Decimal):
        return _normalize_number(value)
    if isinstance(value, Mapping):
        return {str(k): normalize(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((normalize(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True, default=str))
    if isinstance(value, list | tuple):
        return [normalize(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return normalize(value.model_dump(mode="json"))
    as_dict = getattr(value, "as_dict", None)
    if callable(as_dict):
        return normalize(as_dict())
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays, without importing numpy
    if callable(tolist):
        return normalize(tolist())
    return str(value)


def canonical_bytes(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(
        normalize(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def compute_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    """sha256 over the predecessor's hash and the canonical record body (every field but ``hash``)."""
    body = {k: v for k, v in body.items() if k != "hash"}
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_bytes(body)).hexdigest()


def iso_utc(when: dt.datetime) -> str:
    """``2026-01-31T12:00:00.123456Z``: one spelling, so timestamps sort and hash the same."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# --- the record --------------------------------------------------------------------------------
class ObjectPointer(BaseModel):
    """An exact object version a record read or wrote."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uri: str
    version_id: str | None = None
    sha256: str | None = None
    size: int | None = None

    def matches(self, uri: str, version_id: str | None = None) -> bool:
        return self.uri == uri and (version_id is None or self.version_id == version_id)


class AuditRecord(BaseModel):
    """One link of the chain. ``hash`` covers every other field and the predecessor's hash."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int = Field(ge=1)
    at: str
    action: str = Field(min_length=1)
    actor: str = Field(min_length=1)
    model: str | None = None
    model_version: int | None = None
    reason: str = ""
    inputs: list[ObjectPointer] = Field(default_factory=list)
    outputs: list[ObjectPointer] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)
    prev_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")

    @field_validator("at")
    @classmethod
    def _iso(cls, v: str) -> str:
        try:
            parse_iso(v)
        except ValueError as exc:
            raise ValueError(f"'{v}' is not an ISO 8601 timestamp") from exc
        return v

    @property
    def when(self) -> dt.datetime:
        return parse_iso(self.at)

    def body(self) -> dict[str, Any]:
        """The stored form (JSON-compatible), hash included."""
        return cast(dict[str, Any], normalize(self.model_dump(mode="json")))

    def expected_hash(self) -> str:
        return compute_hash(self.prev_hash, self.body())

    def uses(self, uri: str, version_id: str | None = None) -> bool:
        return any(p.matches(uri, version_id) for p in self.inputs)

    def produced(self, uri: str, version_id: str | None = None) -> bool:
        return any(p.matches(uri, version_id) for p in self.outputs)


def _pointers(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    items = raw if isinstance(raw, list | tuple) else [raw]
    out = []
    for item in items:
        data = normalize(item)
        if isinstance(data, str):
            data = {"uri": data}
        if not isinstance(data, dict) or "uri" not in data:
            raise ValueError(f"an input/output must be an object reference with a 'uri', got {item!r}")
        out.append({k: data.get(k) for k in ("uri", "version_id", "sha256", "size")})
    return out


def build_record(event: Mapping[str, Any], *, seq: int, prev_hash: str, at: dt.datetime | str) -> AuditRecord:
    """The next record for ``event``; keys that are not record fields are kept under ``details``.

    ``event`` may carry ``version`` as an alias of ``model_version`` and its own ``at`` (e.g. a
    replayed decision); otherwise ``at`` is the append time.
    """
    event = dict(event)
    details = dict(event.pop("details", None) or {})
    if "version" in event and "model_version" not in event:
        event["model_version"] = event.pop("version")
    for key in list(event):
        if key not in _RECORD_FIELDS:
            details[key] = event.pop(key)
    details = normalize(details)
    encoded = json.dumps(details, sort_keys=True, ensure_ascii=False, allow_nan=False).encode()
    if len(encoded) > MAX_DETAILS_BYTES:
        details = {"truncated": True, "size": len(encoded), "sha256": hashlib.sha256(encoded).hexdigest()}
    when = event.get("at") or at
    body: dict[str, Any] = {
        "seq": seq,
        "at": when if isinstance(when, str) else iso_utc(when),
        "action": str(event.get("action") or ""),
        "actor": str(event.get("actor") or "unknown"),
        "model": event.get("model"),
        "model_version": int(event["model_version"]) if event.get("model_version") is not None else None,
        "reason": str(event.get("reason") or ""),
        "inputs": _pointers(event.get("inputs")),
        "outputs": _pointers(event.get("outputs")),
        "details": details,
        "prev_hash": prev_hash,
    }
    body = normalize(body)
    return AuditRecord.model_validate({**body, "hash": compute_hash(prev_hash, body)})


def chain_records(
    events: Iterable[Mapping[str, Any]], *, start: dt.datetime | None = None
) -> list[AuditRecord]:
    """A valid chain built from events (fixtures, replays); ``at`` advances one second per record."""
    start = start or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    out: list[AuditRecord] = []
    prev = GENESIS_HASH
    for i, event in enumerate(events, start=1):
        rec = build_record(event, seq=i, prev_hash=prev, at=start + dt.timedelta(seconds=i))
        out.append(rec)
        prev = rec.hash
    return out


# --- verification ------------------------------------------------------------------------------
class ChainVerification(BaseModel):
    """Result of walking a chain: ``first_bad_seq`` and ``kind`` name the first broken link."""

    ok: bool
    count: int
    head_seq: int | None = None
    head_hash: str = GENESIS_HASH
    first_bad_seq: int | None = None
    kind: BreakKind | None = None
    message: str = "chain verifies"


def _as_record(raw: AuditRecord | Mapping[str, Any]) -> AuditRecord:
    return raw if isinstance(raw, AuditRecord) else AuditRecord.model_validate(normalize(raw))


def _raw_seq(raw: AuditRecord | Mapping[str, Any], position: int) -> int:
    seq = raw.seq if isinstance(raw, AuditRecord) else raw.get("seq")
    try:
        return int(seq)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return position


# long: one pass over the chain; each check names the first bad record
def verify_chain(records: Sequence[AuditRecord | Mapping[str, Any]]) -> ChainVerification:
    """Walk the records in stored order and name the first bad one.

    Kinds: ``altered`` (a record's hash does not match its content, or it was rewritten with a
    recomputed hash so its successor no longer links to it); ``removed`` (a gap: the next record
    links to a record that is not there); ``reordered`` (a record appears before its predecessor);
    ``inserted`` (two different records claim the same seq); ``duplicated`` (the same record twice);
    ``malformed`` (not a record at all).
    """
    parsed: list[AuditRecord] = []
    for position, raw in enumerate(records, start=1):
        try:
            parsed.append(_as_record(raw))
        except ValidationError as exc:
            seq = _raw_seq(raw, position)
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"]) or "record"
            return _bad(
                len(records), seq, "malformed", f"record seq {seq} is malformed: {where}: {error['msg']}"
            )

    seen: dict[int, AuditRecord] = {}
    later_seqs = [r.seq for r in parsed]
    expected, prev_hash, prev_rec = 1, GENESIS_HASH, None
    for index, rec in enumerate(parsed):
        n = len(parsed)
        if rec.hash != rec.expected_hash():
            return _bad(
                n,
                rec.seq,
                "altered",
                f"record seq {rec.seq} was altered: its hash does not match its content",
            )
        if rec.seq < expected:
            first = seen.get(rec.seq)
            if first is not None and first.hash == rec.hash:
                return _bad(n, rec.seq, "duplicated", f"record seq {rec.seq} appears twice")
            if first is not None:
                return _bad(
                    n,
                    rec.seq,
                    "inserted",
                    f"two different records claim seq {rec.seq}: one of them was inserted",
                )
            return _bad(n, rec.seq, "reordered", f"record seq {rec.seq} appears after seq {expected - 1}")
        if rec.seq > expected:
            if expected in later_seqs[index + 1 :]:
                return _bad(
                    n,
                    expected,
                    "reordered",
                    f"record seq {rec.seq} appears where seq {expected} was expected (out of order)",
                )
            missing = f"seq {expected}" if rec.seq == expected + 1 else f"seqs {expected}..{rec.seq - 1}"
            return _bad(
                n, expected, "removed", f"{missing} removed: record seq {rec.seq} follows seq {expected - 1}"
            )
        if rec.prev_hash != prev_hash:
            if prev_rec is None:
                return _bad(
                    n, rec.seq, "altered", f"record seq {rec.seq} does not start from the genesis hash"
                )
            return _bad(
                n,
                prev_rec.seq,
                "altered",
                f"record seq {prev_rec.seq} was rewritten (its hash was recomputed): "
                f"record seq {rec.seq} does not link to it",
            )
        seen[rec.seq] = rec
        expected, prev_hash, prev_rec = rec.seq + 1, rec.hash, rec
    head = parsed[-1] if parsed else None
    return ChainVerification(
        ok=True,
        count=len(parsed),
        head_seq=head.seq if head else None,
        head_hash=head.hash if head else GENESIS_HASH,
        message=f"{len(parsed)} record(s) verify",
    )


def _bad(count: int, seq: int, kind: BreakKind, message: str) -> ChainVerification:
    return ChainVerification(ok=False, count=count, first_bad_seq=seq, kind=kind, message=message)


class Divergence(BaseModel):
    seq: int
    kind: DivergenceKind
    message: str


class ExportComparison(BaseModel):
    """Where the table (the chain's source of truth for appends) and its locked export disagree.

    The export is written once per record to an Object Lock bucket and cannot be altered, so a
    record that differs is reported as altered *in the table*.
    """

    ok: bool
    table_count: int
    export_count: int
    divergences: list[Divergence] = Field(default_factory=list)  # the first MAX_DIVERGENCES
    total_divergences: int = 0

    @property
    def first(self) -> Divergence | None:
        return self.divergences[0] if self.divergences else None


# long: one pass over two record streams matched by seq
def compare_with_export(
    table_records: Sequence[AuditRecord | Mapping[str, Any]],
    export_records: Sequence[AuditRecord | Mapping[str, Any]],
    *,
    overwritten: Iterable[int] = (),
) -> ExportComparison:
    """Compare record by record (by seq); divergences are sorted by seq, the first one first.

    ``overwritten`` lists export seqs whose key got a newer, different object version after the
    locked original (reported as ``export_overwritten``; the original is what is compared).
    """
    table: dict[int, dict[str, Any]] = {}
    for pos, raw in enumerate(table_records, start=1):
        table.setdefault(_raw_seq(raw, pos), _plain(raw))
    export: dict[int, dict[str, Any]] = {}
    for pos, raw in enumerate(export_records, start=1):
        export.setdefault(_raw_seq(raw, pos), _plain(raw))
    out: list[Divergence] = [
        Divergence(
            seq=s,
            kind="export_overwritten",
            message=f"export of seq {s} has a newer object version that differs from the locked original",
        )
        for s in overwritten
    ]
    for seq in sorted(set(table) | set(export)):
        t, e = table.get(seq), export.get(seq)
        if e is not None and not _self_consistent(e):
            out.append(
                Divergence(
                    seq=seq,
                    kind="export_invalid",
                    message=f"exported record seq {seq} does not match its own hash",
                )
            )
            continue
        if t is None:
            out.append(
                Divergence(
                    seq=seq,
                    kind="removed_from_table",
                    message=f"record seq {seq} is in the locked export but not in the table",
                )
            )
        elif e is None:
            out.append(
                Divergence(
                    seq=seq,
                    kind="missing_from_export",
                    message=f"record seq {seq} is in the table but was never exported",
                )
            )
        elif canonical_bytes(t) != canonical_bytes(e):
            fields = sorted(k for k in set(t) | set(e) if normalize(t.get(k)) != normalize(e.get(k)))
            out.append(
                Divergence(
                    seq=seq,
                    kind="altered_in_table",
                    message=f"record seq {seq} in the table differs from its locked export "
                    f"({', '.join(fields)})",
                )
            )
    out.sort(key=lambda d: d.seq)
    return ExportComparison(
        ok=not out,
        table_count=len(table),
        export_count=len(export),
        divergences=out[:MAX_DIVERGENCES],
        total_divergences=len(out),
    )


def _plain(raw: AuditRecord | Mapping[str, Any]) -> dict[str, Any]:
    return raw.body() if isinstance(raw, AuditRecord) else normalize(dict(raw))


def _self_consistent(body: Mapping[str, Any]) -> bool:
    try:
        rec = _as_record(body)
    except ValidationError:
        return False
    return rec.hash == rec.expected_hash()


def parse_records(raw: Iterable[AuditRecord | Mapping[str, Any]]) -> list[AuditRecord]:
    """Records that parse, in the given order (reading paths skip malformed ones; verify names them)."""
    out = []
    for item in raw:
        try:
            out.append(_as_record(item))
        except ValidationError:
            continue
    return out

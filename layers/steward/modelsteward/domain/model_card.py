"""Model cards: what a version is for, how it was trained and evaluated, and what happened to it.

Built from three sources: the spec (intended use, limitations, owner, risk rating), the registry
version row (metrics, params, library versions, lineage, gate evidence, status) and the audit
records of the model (approvals, drift incidents, alarms, retrains). Fields follow the SageMaker
Model Card content (model_overview, intended_uses, training_details, evaluation_details,
additional_information) so a card can be carried over. Pure: no I/O; renders JSON and Markdown
(the HTML page is reporting.card's, from this record).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..spec import ModelSpec
from .audit_chain import AuditRecord, ObjectPointer
from .gate_record import GateSummary

CardStatus = Literal["Draft", "PendingReview", "Approved", "Archived"]
CARD_SCHEMA_VERSION = "1"
REGISTRY_TO_CARD_STATUS: dict[str, CardStatus] = {
    "PendingManualApproval": "PendingReview",
    "Approved": "Approved",
    "Rejected": "Archived",
    "Archived": "Archived",
}
APPROVAL_ACTIONS = ("gate.decision", "model.approved", "model.rejected", "model.promoted", "model.rollback")
MONITORING_ACTIONS = (
    "batch.accepted",
    "batch.quarantined",
    "drift.verdict",
    "window.checked",
    "labels.evaluated",
    "alarm.handled",
    "retrain.requested",
    "retrain.suppressed",
    "pii.finding",
    "pii.resolved",
)
INCIDENT_ACTIONS = (
    "batch.quarantined",
    "alarm.handled",
    "retrain.requested",
    "retrain.suppressed",
    "pii.finding",
)
MAX_INCIDENTS = 50


def card_status(registry_status: str | None) -> CardStatus:
    return REGISTRY_TO_CARD_STATUS.get(registry_status or "", "Draft")


# --- tolerant view of a registry row ---------------------------------------------------------
def _pointer_from(data: Mapping[str, Any]) -> ObjectPointer | None:
    uri = data.get("uri")
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        return None
    size = data.get("size")
    return ObjectPointer(
        uri=uri,
        version_id=_opt_str(data.get("version_id")),
        sha256=_opt_str(data.get("sha256")),
        size=int(size) if isinstance(size, int | float) else None,
    )


def _opt_str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def walk_pointers(value: Any, path: str = "") -> Iterator[tuple[str, ObjectPointer]]:
    """Every object reference inside ``value`` with the dotted path where it was found.

    A reference is a mapping with an ``s3://`` ``uri``, or a ``<name>_uri``/``<name>uri`` string
    (with ``<name>_version_id`` / ``<name>_sha256`` siblings when present).
    """
    if isinstance(value, Mapping):
        ptr = _pointer_from(value)
        if ptr is not None:
            role = value.get("role")
            yield (str(role) if isinstance(role, str) and role else path or "object"), ptr
            return
        for key, sub in value.items():
            key = str(key)
            sub_path = f"{path}.{key}" if path else key
            if isinstance(sub, str) and sub.startswith("s3://") and key.endswith("uri"):
                stem = key[: -len("uri")].rstrip("_")
                yield (
                    sub_path.removesuffix("_uri"),
                    ObjectPointer(
                        uri=sub,
                        version_id=_opt_str(
                            value.get(f"{stem}_version_id") if stem else value.get("version_id")
                        ),
                        sha256=_opt_str(value.get(f"{stem}_sha256") if stem else value.get("sha256")),
                    ),
                )
            else:
                yield from walk_pointers(sub, sub_path)
    elif isinstance(value, list | tuple):
        for i, sub in enumerate(value):
            yield from walk_pointers(sub, f"{path}[{i}]")


class RegistryRowView:
    """Reads a registry version row without depending on every field name being settled.

    Documented names (docs/governance.md) come first; a few synonyms are accepted.
    """

    def __init__(self, row: Mapping[str, Any] | None) -> None:
        self.row: dict[str, Any] = dict(row or {})

    def _first(self, *names: str) -> Any:
        for name in names:
            value = self.row.get(name)
            if value not in (None, "", {}, []):
                return value
        return None

    @property
    def version(self) -> int | None:
        value = self.row.get("version")
        if value is None and str(self.row.get("sk", "")).startswith("V#"):
            value = str(self.row["sk"])[2:]
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    @property
    def status(self) -> str | None:
        return _opt_str(self._first("status"))

    @property
    def alias(self) -> str | None:
        return _opt_str(self._first("alias"))

    @property
    def created_at(self) -> str | None:
        return _opt_str(self._first("created_at", "registered_at", "trained_at"))

    @property
    def promoted_at(self) -> str | None:
        return _opt_str(self._first("promoted_at", "champion_since"))

    @property
    def approved_by(self) -> str | None:
        """Who approved it; for an approved version without ``approved_by`` (promoted by the
        gate), whoever decided it (``decided_by``)."""
        value = self._first("approved_by")
        if value is None and self.status == "Approved":
            value = self._first("decided_by")
        return _opt_str(value)

    @property
    def approved_at(self) -> str | None:
        value = self._first("approved_at")
        if value is None and self.status == "Approved":
            value = self._first("decided_at")
        return _opt_str(value)

    @property
    def metrics(self) -> dict[str, Any]:
        metrics = self._first("metrics", "holdout_metrics")
        if not isinstance(metrics, Mapping):
            return {}
        return {k: v for k, v in metrics.items() if k not in ("segments", "by_segment")}

    @property
    def segment_metrics(self) -> dict[str, Any]:
        seg = self._first("segment_metrics", "metrics_by_segment")
        if seg is None and isinstance(self.row.get("metrics"), Mapping):
            seg = self.row["metrics"].get("segments") or self.row["metrics"].get("by_segment")
        return dict(seg) if isinstance(seg, Mapping) else {}

    @property
    def params(self) -> dict[str, Any]:
        params = self._first("params", "estimator_params")
        if params is None and isinstance(self.row.get("estimator"), Mapping):
            params = self.row["estimator"].get("params")
        return dict(params) if isinstance(params, Mapping) else {}

    @property
    def estimator(self) -> str | None:
        value = self._first("estimator_class", "class_path")
        if value is None and isinstance(self.row.get("estimator"), Mapping):
            value = self.row["estimator"].get("class_path")
        return _opt_str(value)

    @property
    def library_versions(self) -> dict[str, Any]:
        libs = self._first("library_versions", "libraries")
        return dict(libs) if isinstance(libs, Mapping) else {}

    @property
    def gate(self) -> dict[str, Any]:
        gate = self._first("gate", "gate_decision")
        return dict(gate) if isinstance(gate, Mapping) else {}

    def _named_pointer(self, *names: str) -> ObjectPointer | None:
        for name in names:
            value = self.row.get(name)
            if isinstance(value, Mapping):
                ptr = _pointer_from(value)
                if ptr:
                    return ptr
            if isinstance(value, str) and value.startswith("s3://"):
                stem = name.removesuffix("_uri")
                return ObjectPointer(
                    uri=value,
                    version_id=_opt_str(self.row.get(f"{stem}_version_id")),
                    sha256=_opt_str(self.row.get(f"{stem}_sha256")),
                )
        return None

    @property
    def evaluation(self) -> ObjectPointer | None:
        return self._named_pointer("evaluation", "evaluation_uri")

    @property
    def card(self) -> ObjectPointer | None:
        return self._named_pointer("card", "card_uri")

    @property
    def artifact(self) -> ObjectPointer | None:
        return self._named_pointer("artifact", "artifact_uri", "model_uri")

    def lineage(self) -> list[tuple[str, ObjectPointer]]:
        """Inputs of the version (training data, reference data) as (role, pointer)."""
        return list(walk_pointers(self.row.get("lineage") or {}, "lineage"))

    @property
    def spec(self) -> ObjectPointer | None:
        return self._named_pointer("spec", "spec_uri")


# --- the card ------------------------------------------------------------------------------
class LineageEntry(BaseModel):
    role: str
    uri: str
    version_id: str | None = None
    sha256: str | None = None


class ModelOverview(BaseModel):
    model_name: str
    model_version: int
    description: str = ""
    owner: str = "unknown"
    task: str | None = None
    algorithm: str | None = None
    alias: str | None = None
    registry_status: str | None = None
    created_at: str | None = None
    artifact: ObjectPointer | None = None


class IntendedUses(BaseModel):
    intended_use: str = ""
    limitations: str = ""
    risk_rating: str = "unknown"
    factors_affecting_performance: list[str] = Field(default_factory=list)


class TrainingDetails(BaseModel):
    target: str | None = None
    numeric_features: list[str] = Field(default_factory=list)
    categorical_features: list[str] = Field(default_factory=list)
    estimator: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    library_versions: dict[str, Any] = Field(default_factory=dict)
    holdout_fraction: float | None = None
    seed: int | None = None
    training_data: list[LineageEntry] = Field(default_factory=list)


class EvaluationDetails(BaseModel):
    primary_metric: str | None = None
    greater_is_better: bool | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    segment_metrics: dict[str, dict[str, dict[str, Any]]] = Field(
        default_factory=dict,
        description="{segment column: {value: metrics}} (domain.metrics.metrics_by_segment)",
    )
    evaluation: ObjectPointer | None = None
    gate: GateSummary | None = None
    label_free_estimate: dict[str, Any] | None = None  # calibration, reference size, trust (issue 23)


class Decision(BaseModel):
    """An approval-relevant record: gate verdict, approval, rejection, promotion, rollback."""

    seq: int
    at: str
    action: str
    actor: str
    reason: str = ""


class MonitoringEvent(BaseModel):
    seq: int
    at: str
    action: str
    reason: str = ""
    severity: str | None = None


class MonitoringSummary(BaseModel):
    counts: dict[str, int] = Field(default_factory=dict)
    incidents: list[MonitoringEvent] = Field(default_factory=list)
    incidents_total: int = 0


class AdditionalInformation(BaseModel):
    decisions: list[Decision] = Field(default_factory=list)
    approved_by: str | None = None
    approved_at: str | None = None
    monitoring: MonitoringSummary = Field(default_factory=MonitoringSummary)
    alert_email_configured: bool = False
    spec_uri: str | None = None
    spec_version_id: str | None = None


class FairnessVersion(BaseModel):
    version: int
    status: str | None = None
    alias: str | None = None
    verdict: str | None = None
    values: dict[str, float | None] = Field(default_factory=dict)


SMALL_GROUP = "too small to judge"  # a group below min_group_size: its size only, never its rates


class GroupFigures(BaseModel):
    """One group's figures on the holdout: its size, its selection rate, the primary metric."""

    n: int
    selection_rate: float | None = None
    metric: float | None = None


class FairnessDetails(BaseModel):
    """The spec's commitments and what this version (and every other) showed against them.

    Group-level figures only: counts, selection rates and metrics per group, never a row value.
    """

    sensitive_attributes: list[str] = Field(default_factory=list)
    bounds: dict[str, float] = Field(default_factory=dict)
    tolerance: float | None = None
    min_group_size: int | None = None
    verdict: str | None = Field(
        default=None, description="held, breached, unjudged, none; null: not assessed"
    )
    values: dict[str, float | None] = Field(default_factory=dict)
    champion_values: dict[str, float | None] | None = None
    failed_checks: list[str] = Field(default_factory=list)
    too_small: dict[str, list[str]] = Field(default_factory=dict)
    groups: dict[str, dict[str, GroupFigures]] = Field(default_factory=dict)
    versions: list[FairnessVersion] = Field(default_factory=list)

    def shown_figures(self, attribute: str, group: str) -> tuple[Any, Any]:
        """(selection rate, primary metric) as a card shows them: a group too small to judge says so
        and shows none of its figures (a row stored before sizes-only may still carry them)."""
        if group in self.too_small.get(attribute, []):
            return SMALL_GROUP, SMALL_GROUP
        d = self.groups[attribute][group]
        return d.selection_rate, d.metric


class Explanations(BaseModel):
    method: str = "permutation importance on the holdout, scored with the primary metric, normalized"
    feature_importance: dict[str, float] = Field(default_factory=dict)
    attribution_method: str = (
        "label-free: mean change of the model's outputs when a feature is shuffled, on the holdout, "
        "normalized; the baseline attribution drift compares each scored batch with (nDCG)"
    )
    attribution_baseline: dict[str, float] = Field(default_factory=dict)


class ModelCard(BaseModel):
    schema_version: str = CARD_SCHEMA_VERSION
    status: CardStatus
    generated_at: str
    model_overview: ModelOverview
    intended_uses: IntendedUses
    training_details: TrainingDetails
    evaluation_details: EvaluationDetails
    additional_information: AdditionalInformation
    fairness: FairnessDetails | None = None
    explanations: Explanations | None = None


def _fairness_details(
    spec: ModelSpec | None, row: Mapping[str, Any] | None, versions: Sequence[Mapping[str, Any]]
) -> FairnessDetails | None:
    stored = dict((row or {}).get("fairness") or {})
    if not stored and not (spec and spec.fairness.enabled):
        return None
    fair = spec.fairness if spec else None
    history = []
    for other in versions:
        view = RegistryRowView(other)
        f = other.get("fairness") or {}
        if view.version is None:
            continue
        history.append(
            FairnessVersion(
                version=view.version,
                status=view.status,
                alias=view.alias,
                verdict=f.get("verdict"),
                values=dict(f.get("values") or {}),
            )
        )
    return FairnessDetails(
        sensitive_attributes=list(fair.sensitive_attributes) if fair else [],
        bounds=dict(stored.get("bounds") or (fair.bounds.committed() if fair else {})),
        tolerance=stored.get("tolerance", fair.tolerance if fair else None),
        min_group_size=fair.min_group_size if fair else None,
        verdict=stored.get("verdict"),
        values=dict(stored.get("values") or {}),
        champion_values=stored.get("champion_values"),
        failed_checks=list(stored.get("failed_checks") or []),
        too_small=dict(stored.get("too_small") or {}),
        groups=dict(stored.get("groups") or {}),
        versions=sorted(history, key=lambda v: v.version),
    )


def _severity(rec: AuditRecord) -> str | None:
    for key in ("severity", "verdict", "level"):
        value = rec.details.get(key)
        if isinstance(value, str):
            return value
    return None


def _is_incident(rec: AuditRecord) -> bool:
    if rec.action in INCIDENT_ACTIONS:
        return True
    if rec.action in ("drift.verdict", "window.checked"):
        severity = _severity(rec)
        return severity in ("warn", "drift") or bool(rec.details.get("dataset_drift"))
    return False


# long: the card's fields in the order the card shows them
def build_card(
    *,
    model: str,
    version: int,
    spec: ModelSpec | None,
    row: Mapping[str, Any] | None,
    records: Iterable[AuditRecord],
    generated_at: str,
    spec_ref: Mapping[str, Any] | None = None,
    in_service: Sequence[tuple[str, str | None]] = (),
    versions: Sequence[Mapping[str, Any]] = (),
) -> ModelCard:
    """Assemble the card. ``records`` are the model's audit records; those without a version count
    when they fall inside one of the version's champion periods ``in_service`` ((start, end) ISO)."""
    view = RegistryRowView(row)
    gov = spec.governance if spec else None

    def in_period(at: str) -> bool:
        return any(start <= at and (end is None or at < end) for start, end in in_service)

    mine = [r for r in records if r.model == model]
    decisions = [
        Decision(seq=r.seq, at=r.at, action=r.action, actor=r.actor, reason=r.reason)
        for r in mine
        if r.action in APPROVAL_ACTIONS and r.model_version == version
    ]
    approvals = [d for d in decisions if d.action == "model.approved"]
    monitoring_recs = [
        r
        for r in mine
        if r.action in MONITORING_ACTIONS
        and (r.model_version == version or (r.model_version is None and in_period(r.at)))
    ]
    counts: dict[str, int] = {}
    for r in monitoring_recs:
        counts[r.action] = counts.get(r.action, 0) + 1
    incidents = [
        MonitoringEvent(seq=r.seq, at=r.at, action=r.action, reason=r.reason, severity=_severity(r))
        for r in monitoring_recs
        if _is_incident(r)
    ]
    gate = view.gate
    if not gate:  # the gate.decision record carries the same summary (services.train_model)
        gates = [r for r in mine if r.action == "gate.decision" and r.model_version == version]
        gate = dict(gates[-1].details) if gates else {}
    segments = list(spec.segments) if spec else []
    importance = {str(k): float(v) for k, v in ((row or {}).get("feature_importance") or {}).items()}
    baseline = {str(k): float(v) for k, v in ((row or {}).get("attribution_baseline") or {}).items()}
    return ModelCard(
        status=card_status(view.status),
        generated_at=generated_at,
        model_overview=ModelOverview(
            model_name=model,
            model_version=version,
            description=f"{spec.task} model predicting '{spec.target}'" if spec else "",
            owner=gov.owner if gov else "unknown",
            task=spec.task if spec else None,
            algorithm=view.estimator or (spec.estimator.class_path if spec else None),
            alias=view.alias,
            registry_status=view.status,
            created_at=view.created_at,
            artifact=view.artifact,
        ),
        intended_uses=IntendedUses(
            intended_use=gov.intended_use if gov else "",
            limitations=gov.limitations if gov else "",
            risk_rating=gov.risk_rating if gov else "unknown",
            factors_affecting_performance=segments,
        ),
        training_details=TrainingDetails(
            target=spec.target if spec else None,
            numeric_features=list(spec.features.numeric) if spec else [],
            categorical_features=list(spec.features.categorical) if spec else [],
            estimator=view.estimator or (spec.estimator.class_path if spec else None),
            params=view.params or (dict(spec.estimator.params) if spec else {}),
            library_versions=view.library_versions,
            holdout_fraction=spec.holdout_fraction if spec else None,
            seed=spec.seed if spec else None,
            training_data=[
                LineageEntry(role=role, uri=p.uri, version_id=p.version_id, sha256=p.sha256)
                for role, p in view.lineage()
            ],
        ),
        evaluation_details=EvaluationDetails(
            primary_metric=spec.primary_metric if spec else None,
            greater_is_better=spec.greater_is_better if spec else None,
            metrics=view.metrics,
            segment_metrics=view.segment_metrics,
            evaluation=view.evaluation,
            gate=GateSummary.model_validate(gate) if gate else None,
            label_free_estimate=view.row.get("label_free_estimate") or None,
        ),
        additional_information=AdditionalInformation(
            decisions=decisions,
            approved_by=approvals[-1].actor if approvals else view.approved_by,
            approved_at=approvals[-1].at if approvals else view.approved_at,
            monitoring=MonitoringSummary(
                counts=counts, incidents=incidents[-MAX_INCIDENTS:], incidents_total=len(incidents)
            ),
            alert_email_configured=bool(spec and spec.alert_email),
            spec_uri=_opt_str((spec_ref or {}).get("uri")),
            spec_version_id=_opt_str((spec_ref or {}).get("version_id")),
        ),
        fairness=_fairness_details(spec, row, versions),
        explanations=(
            Explanations(feature_importance=importance, attribution_baseline=baseline)
            if importance or baseline
            else None
        ),
    )


# --- rendering -------------------------------------------------------------------------------
def card_json(card: ModelCard) -> bytes:
    return json.dumps(
        card.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _fmt(value: Any) -> str:
    if value is None or value == "" or value == {} or value == []:
        return "\u2014"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return str(value)


def _md_cell(value: Any) -> str:
    return _fmt(value).replace("|", "\\|").replace("\n", " ")


def _md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
    return lines


def _sections(card: ModelCard) -> list[tuple[str, list[tuple[str, Any]] | tuple[list[str], list[list[Any]]]]]:
    """(title, key/value pairs | (headers, rows)) shared by the Markdown and HTML renderers."""
    o, u, t, e, a = (
        card.model_overview,
        card.intended_uses,
        card.training_details,
        card.evaluation_details,
        card.additional_information,
    )
    segs = [
        [seg, json.dumps(vals, sort_keys=True, default=str) if isinstance(vals, Mapping) else vals]
        for seg, vals in sorted(e.segment_metrics.items())
    ]
    return [*_core_sections(card, o, u, t, e, a, segs), *_fairness_sections(card)]


def _fairness_sections(card: ModelCard) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    f = card.fairness
    if f is not None:
        out.append(
            (
                "Fairness",
                [
                    ("Sensitive attributes", ", ".join(f.sensitive_attributes)),
                    ("Committed bounds", f.bounds),
                    ("Tolerance vs champion", f.tolerance),
                    ("Minimum group size", f.min_group_size),
                    ("Verdict", f.verdict or "not assessed"),
                    ("Values", f.values),
                    ("Champion's values (same holdout)", f.champion_values),
                    ("Failed checks", ", ".join(f.failed_checks)),
                    ("Groups too small to judge", f.too_small),
                ],
            )
        )
        out.append(
            (
                "Fairness per group",
                (
                    ["Attribute", "Group", "Rows", "Selection rate", "Primary metric"],
                    [
                        [attr, g, d.n, *f.shown_figures(attr, g)]
                        for attr, groups in sorted(f.groups.items())
                        for g, d in sorted(groups.items())
                    ],
                ),
            )
        )
        names = sorted({k for v in f.versions for k in v.values})
        out.append(
            (
                "Fairness per version",
                (
                    ["Version", "Status", "Alias", "Verdict", *names],
                    [
                        [v.version, v.status, v.alias, v.verdict, *[v.values.get(n) for n in names]]
                        for v in f.versions
                    ],
                ),
            )
        )
    if card.explanations is not None:
        ex = card.explanations
        ranked = sorted(ex.feature_importance.items(), key=lambda kv: -kv[1])
        rows = [[k, v, ex.attribution_baseline.get(k)] for k, v in ranked]
        out.append(("Explanations", (["Feature", "Global attribution", "Output attribution"], rows)))
    return out


# long: the card's core sections in page order
def _core_sections(
    card: ModelCard, o: Any, u: Any, t: Any, e: Any, a: Any, segs: list[list[Any]]
) -> list[tuple[str, Any]]:
    return [
        (
            "Model overview",
            [
                ("Model", o.model_name),
                ("Version", o.model_version),
                ("Status", card.status),
                ("Registry status", o.registry_status),
                ("Alias", o.alias),
                ("Owner", o.owner),
                ("Task", o.task),
                ("Algorithm", o.algorithm),
                ("Created", o.created_at),
                ("Artifact", o.artifact.uri if o.artifact else None),
                ("Artifact SHA-256", o.artifact.sha256 if o.artifact else None),
            ],
        ),
        (
            "Intended uses",
            [
                ("Intended use", u.intended_use),
                ("Limitations", u.limitations),
                ("Risk rating", u.risk_rating),
                ("Factors affecting performance", ", ".join(u.factors_affecting_performance)),
            ],
        ),
        (
            "Training details",
            [
                ("Target", t.target),
                ("Numeric features", ", ".join(t.numeric_features)),
                ("Categorical features", ", ".join(t.categorical_features)),
                ("Estimator", t.estimator),
                ("Parameters", t.params),
                ("Library versions", t.library_versions),
                ("Holdout fraction", t.holdout_fraction),
                ("Seed", t.seed),
            ],
        ),
        (
            "Training data",
            (
                ["Role", "URI", "Version", "SHA-256"],
                [[d.role, d.uri, d.version_id, d.sha256] for d in t.training_data],
            ),
        ),
        (
            "Evaluation",
            [
                ("Primary metric", e.primary_metric),
                ("Greater is better", e.greater_is_better),
                ("Evaluation", e.evaluation.uri if e.evaluation else None),
                ("Gate", e.gate.model_dump(mode="json") if e.gate else None),
                ("Label-free estimate", estimate_text(e.label_free_estimate)),
            ],
        ),
        ("Metrics", (["Metric", "Value"], [[k, v] for k, v in sorted(e.metrics.items())])),
        ("Metrics per segment", (["Segment", "Metrics"], segs)),
        (
            "Decisions",
            (
                ["Seq", "At", "Action", "Actor", "Reason"],
                [[d.seq, d.at, d.action, d.actor, d.reason] for d in a.decisions],
            ),
        ),
        ("Monitoring", (["Action", "Count"], [[k, v] for k, v in sorted(a.monitoring.counts.items())])),
        (
            "Incidents",
            (
                ["Seq", "At", "Action", "Severity", "Reason"],
                [[m.seq, m.at, m.action, m.severity, m.reason] for m in a.monitoring.incidents],
            ),
        ),
        (
            "Additional information",
            [
                ("Approved by", a.approved_by),
                ("Approved at", a.approved_at),
                ("Alert email configured", a.alert_email_configured),
                ("Spec", a.spec_uri),
                ("Spec version", a.spec_version_id),
                ("Generated", card.generated_at),
            ],
        ),
    ]


def render_markdown(card: ModelCard) -> str:
    o = card.model_overview
    lines = [f"# Model card: {o.model_name} v{o.model_version}", "", f"Status: **{card.status}**", ""]
    for title, content in _sections(card):
        lines += [f"## {title}", ""]
        if isinstance(content, tuple):
            headers, rows = content
            lines += _md_table(headers, rows) if rows else ["_none recorded_"]
        else:
            lines += _md_table(["Field", "Value"], content)
        lines.append("")
    return "\n".join(lines)


def estimate_text(summary: Mapping[str, Any] | None) -> str | None:
    """One line on the version's label-free estimator: its map, its reference, whether to trust it."""
    if not summary:
        return None
    maps = "/".join(str(m) for m in summary.get("calibration") or []) or "unknown"
    text = (
        f"calibration {maps} on {summary.get('reference_rows')} reference rows "
        f"({summary.get('rarer_class_rows')} of the rarer class)"
    )
    if summary.get("trusted") is False:
        return f"{text}; not trusted: {summary.get('note')}"
    return f"{text}; trusted"

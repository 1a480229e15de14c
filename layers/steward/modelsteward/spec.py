"""The declarative model spec: one YAML file per model, validated with a message that names the fix.

Everything the suite does for a model (contract, drift thresholds, training pipeline, gate, retrain
policy, PII policy, alerting, governance limits) reads from here, so behaviour is reviewable in one
file under version control.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import SpecError

Task = Literal["binary", "multiclass", "regression"]
DriftMethod = Literal["jensen_shannon", "psi", "wasserstein"]
PiiAction = Literal["quarantine", "redact", "hash", "allow"]
Window = Literal["hour", "day", "week"]
RetrainSignal = Literal["drift", "quality", "performance", "estimated_performance"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")

CLASSIFIER_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSOR_METRICS = ("mae", "rmse", "mape", "r2")
LOWER_IS_BETTER = frozenset({"log_loss", "mae", "rmse", "mape"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Features(_Strict):
    numeric: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)

    @property
    def all(self) -> list[str]:
        return [*self.numeric, *self.categorical]


class Estimator(_Strict):
    """A scikit-learn estimator by class path; only sklearn classes are allowed (no arbitrary import)."""

    class_path: str = "sklearn.ensemble.HistGradientBoostingClassifier"
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("class_path")
    @classmethod
    def _sklearn_only(cls, v: str) -> str:
        if not re.fullmatch(r"sklearn(\.[a-z_]+)+\.[A-Z][A-Za-z0-9]+", v):
            raise ValueError(
                f"'{v}' is not a scikit-learn estimator class path; use e.g. "
                "'sklearn.linear_model.LogisticRegression'"
            )
        return v


class FeatureDrift(_Strict):
    method: DriftMethod | None = None
    threshold: float | None = Field(default=None, gt=0)
    warn_threshold: float | None = Field(default=None, gt=0)
    floor: float | None = Field(default=None, ge=0)


class Persistence(_Strict):
    """A feature beyond its noise band in ``min_beyond_noise`` of the last ``batches`` batches drifts."""

    batches: int = Field(default=4, ge=1, le=100)
    min_beyond_noise: int = Field(default=3, ge=1)

    @model_validator(mode="after")
    def _m_of_n(self) -> Persistence:
        if self.min_beyond_noise > self.batches:
            raise ValueError("min_beyond_noise must not exceed batches")
        return self


class DriftPolicy(_Strict):
    """Defaults follow the field: effect size >= 0.1 AND BH-adjusted p < 0.05, n >= 100 per side."""

    numeric_method: DriftMethod = "wasserstein"
    categorical_method: DriftMethod = "jensen_shannon"
    threshold: float = Field(default=0.1, gt=0)
    warn_threshold: float = Field(default=0.05, gt=0)
    p_value: float = Field(default=0.05, gt=0, lt=1)
    min_samples: int = Field(default=100, ge=1)
    dataset_drift_share: float = Field(default=0.3, gt=0, le=1)
    multivariate_auc: float = Field(default=0.7, gt=0.5, le=1)
    # below ``floor`` nothing is drift however certain (None: the method's default, see
    # domain/drift.py); between it and ``threshold`` a feature needs to beat its noise band
    floor: float | None = Field(default=None, ge=0)
    noise_margin: float = Field(default=2.0, ge=1)  # one batch alone: raw score > margin x noise band
    persistence: Persistence = Field(default_factory=Persistence)
    features: dict[str, FeatureDrift] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _warn_below_drift(self) -> DriftPolicy:
        if self.warn_threshold > self.threshold:
            raise ValueError("warn_threshold must not exceed threshold")
        if self.floor is not None and self.floor > self.threshold:
            raise ValueError("floor must not exceed threshold")
        return self


class QualityPolicy(_Strict):
    min_rows: int = Field(default=1, ge=1)
    max_missing_share: float = Field(default=0.2, ge=0, le=1)
    max_out_of_range_share: float = Field(default=0.05, ge=0, le=1)
    max_unseen_category_share: float = Field(default=0.05, ge=0, le=1)
    max_duplicate_share: float = Field(default=0.05, ge=0, le=1)
    #: Share of rows whose prediction is not among the spec's classes above which the batch has a
    #: quality violation (a model or export writing garbage predictions is not "OK").
    max_invalid_prediction_share: float = Field(default=0.01, ge=0, le=1)
    quarantine_on_violation: bool = False


class PiiPolicy(_Strict):
    action: PiiAction = "quarantine"
    allow_columns: list[str] = Field(default_factory=list)


class GatePolicy(_Strict):
    """MLflow-style thresholds plus a paired significance test and a per-segment guard."""

    min_absolute_change: float = Field(default=0.0, ge=0)
    min_relative_change: float = Field(default=0.0, ge=0)
    significance: float = Field(default=0.05, gt=0, lt=1)
    test: Literal["bootstrap", "mcnemar"] = "bootstrap"
    bootstrap_rounds: int = Field(default=500, ge=50, le=10_000)
    segment_tolerance: float = Field(default=0.02, ge=0)
    auto_promote: bool = True


FAIRNESS_BOUNDS = (
    "demographic_parity_difference",
    "disparate_impact_ratio",
    "equal_opportunity_difference",
    "equalized_odds_difference",
    "primary_metric_gap",
)
CLASSIFIER_ONLY_BOUNDS = frozenset(FAIRNESS_BOUNDS) - {"primary_metric_gap"}
HIGHER_IS_FAIRER = frozenset({"disparate_impact_ratio"})


class FairnessBounds(_Strict):
    """What the owner commits to, per sensitive attribute, between its groups (worst pair).

    Differences are largest minus smallest group value (fairlearn's ``between_groups``); the ratio
    is smallest over largest selection rate (the four-fifths rule at 0.8).
    """

    demographic_parity_difference: float | None = Field(default=None, ge=0, le=1)
    disparate_impact_ratio: float | None = Field(default=None, gt=0, le=1)
    equal_opportunity_difference: float | None = Field(default=None, ge=0, le=1)
    equalized_odds_difference: float | None = Field(default=None, ge=0, le=1)
    primary_metric_gap: float | None = Field(default=None, ge=0)

    def committed(self) -> dict[str, float]:
        return {k: float(v) for k in FAIRNESS_BOUNDS if (v := getattr(self, k)) is not None}


class FairnessPolicy(_Strict):
    """Ethical commitments the gate enforces on every version, however often it retrains.

    Sensitive attributes may or may not be model features; they follow the PII policy: only
    group-level figures (counts, rates) are ever reported, never row values.
    """

    sensitive_attributes: list[str] = Field(default_factory=list)
    groups: dict[str, list[str]] = Field(
        default_factory=dict, description="per attribute, the group values compared (default: all)"
    )
    favorable_label: str | None = None
    bounds: FairnessBounds = Field(default_factory=FairnessBounds)
    tolerance: float = Field(default=0.02, ge=0)
    min_group_size: int = Field(default=30, ge=1)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)

    @property
    def enabled(self) -> bool:
        return bool(self.sensitive_attributes)


class ExplanationPolicy(_Strict):
    """Global feature attributions per version and their drift in production (domain.attribution)."""

    attribution_drift: bool = Field(
        default=True, description="attribute every batch score_batch scores and compare with the version's"
    )
    ndcg_threshold: float = Field(default=0.9, gt=0, le=1, description="drift below this (Clarify: 0.9)")
    sample_rows: int = Field(default=1000, ge=50, le=20000, description="champion rows attributed per batch")


class RetrainPolicy(_Strict):
    schedule: str | None = None
    cooldown_hours: float = Field(default=24, ge=0)
    training_window_days: int = Field(default=90, ge=1)
    on_alarms: list[RetrainSignal] = Field(
        default_factory=lambda: list[RetrainSignal](["drift", "performance", "estimated_performance"])
    )
    # a model served elsewhere: train challengers from the labeled reference + labeled batches,
    # gated against the served model's own predictions on the same rows (never auto-promoted)
    from_labeled_pool: bool = False
    # an episode's retrain waits until this many labeled rows of the episode's data are in the pool
    # (retraining on drift before labels of the new regime arrive cannot learn it); 0: never wait
    min_new_rows: int = Field(default=1000, ge=0)


class EpisodeRule(_Strict):
    """Open an episode when ``breaches`` of the last ``of_last`` batches breach; close it after
    ``clean_to_close`` consecutive clean batches (batch order: event time, then arrival)."""

    breaches: int = Field(default=2, ge=1, le=100)
    of_last: int = Field(default=3, ge=1, le=100)
    clean_to_close: int = Field(default=2, ge=1, le=100)

    @model_validator(mode="after")
    def _m_of_n(self) -> EpisodeRule:
        if self.breaches > self.of_last:
            raise ValueError(f"breaches ({self.breaches}) cannot exceed of_last ({self.of_last})")
        return self

    @property
    def window(self) -> int:
        return max(self.of_last, self.clean_to_close)

    def text(self) -> str:
        return f"{self.breaches} of the last {self.of_last} batches"


class PerformanceAlert(EpisodeRule):
    """A drop of the primary metric breaches when it reaches ``drop_threshold`` if set, else the
    threshold the model earns: ``sigmas`` standard deviations of the metric at the batch's size (from
    the holdout), never below ``min_drop`` nor above ``max_drop``."""

    drop_threshold: float | None = Field(default=None, gt=0)
    sigmas: float = Field(default=3.0, gt=0)
    min_drop: float = Field(default=0.005, ge=0)
    max_drop: float = Field(default=0.05, gt=0)


class AlertPolicy(_Strict):
    """Per-signal episode rules (docs/alerts.md); every field has a default that suits most models."""

    drift: EpisodeRule = Field(default_factory=EpisodeRule)
    multivariate_drift: EpisodeRule = Field(default_factory=EpisodeRule)
    quality: EpisodeRule = Field(default_factory=lambda: EpisodeRule(breaches=1, of_last=1))
    pii: EpisodeRule = Field(default_factory=lambda: EpisodeRule(breaches=1, of_last=1))
    bias: EpisodeRule = Field(default_factory=EpisodeRule)
    realized_bias: EpisodeRule = Field(default_factory=EpisodeRule)
    attribution_drift: EpisodeRule = Field(default_factory=EpisodeRule)
    estimated_drop: PerformanceAlert = Field(default_factory=PerformanceAlert)
    realized_drop: PerformanceAlert = Field(
        default_factory=lambda: PerformanceAlert(breaches=1, of_last=1, clean_to_close=1)
    )
    freshness: EpisodeRule = Field(
        default_factory=lambda: EpisodeRule(breaches=1, of_last=1, clean_to_close=1)
    )

    def rule(self, signal: str) -> EpisodeRule:
        found = getattr(self, signal, None)
        return found if isinstance(found, EpisodeRule) else EpisodeRule()


class Governance(_Strict):
    owner: str = "unknown"
    intended_use: str = ""
    limitations: str = ""
    risk_rating: Literal["low", "medium", "high"] = "medium"
    max_age_days: int = Field(default=180, ge=1)
    freshness_hours: float = Field(default=24, gt=0)
    retention_days: int = Field(default=365, ge=1)


class ModelSpec(_Strict):
    name: str
    task: Task
    target: str
    id_column: str = "id"
    timestamp_column: str | None = "timestamp"
    prediction_column: str = "prediction"
    probability_column: str | None = None
    features: Features
    segments: list[str] = Field(default_factory=list)
    estimator: Estimator = Field(default_factory=Estimator)
    primary_metric: str = "roc_auc"
    classes: list[str] | None = None
    holdout_fraction: float = Field(default=0.25, gt=0, lt=1)
    holdout_split: Literal["random", "recent"] = "random"
    seed: int = 42
    window: Window = "day"
    drift: DriftPolicy = Field(default_factory=DriftPolicy)
    quality: QualityPolicy = Field(default_factory=QualityPolicy)
    pii: PiiPolicy = Field(default_factory=PiiPolicy)
    gate: GatePolicy = Field(default_factory=GatePolicy)
    retrain: RetrainPolicy = Field(default_factory=RetrainPolicy)
    governance: Governance = Field(default_factory=Governance)
    fairness: FairnessPolicy = Field(default_factory=FairnessPolicy)
    explanations: ExplanationPolicy = Field(default_factory=ExplanationPolicy)
    alerts: AlertPolicy = Field(default_factory=AlertPolicy)
    alert_email: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.fullmatch(v):
            raise ValueError("use lowercase letters, digits and '-' (1-63 chars), e.g. 'credit-default'")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        feats = self.features.all
        if not feats:
            raise ValueError("features: list at least one numeric or categorical feature")
        dup = {f for f in feats if feats.count(f) > 1}
        if dup:
            raise ValueError(f"features: {sorted(dup)} listed twice")
        reserved = {self.target, self.id_column, self.prediction_column}
        if self.timestamp_column:
            reserved.add(self.timestamp_column)
        clash = reserved & set(feats)
        if clash:
            raise ValueError(f"features: {sorted(clash)} is also the target/id/timestamp/prediction column")
        allowed = REGRESSOR_METRICS if self.task == "regression" else CLASSIFIER_METRICS
        if self.primary_metric not in allowed:
            raise ValueError(
                f"primary_metric: '{self.primary_metric}' is not one of {list(allowed)} for {self.task}"
            )
        unknown_segments = set(self.segments) - set(feats)
        if unknown_segments:
            raise ValueError(f"segments: {sorted(unknown_segments)} must be listed features")
        unknown_drift = set(self.drift.features) - set(self.monitored_columns)
        if unknown_drift:
            raise ValueError(f"drift.features: {sorted(unknown_drift)} are not monitored columns")
        self._fairness_consistent()
        return self

    def _fairness_consistent(self) -> None:
        fair = self.fairness
        attrs = fair.sensitive_attributes
        dup = {a for a in attrs if attrs.count(a) > 1}
        if dup:
            raise ValueError(f"fairness.sensitive_attributes: {sorted(dup)} listed twice")
        unknown = set(fair.groups) - set(attrs)
        if unknown:
            raise ValueError(
                f"fairness.groups: {sorted(unknown)} are not sensitive_attributes; "
                "add them there or remove the entry"
            )
        few = [a for a, values in fair.groups.items() if len(set(values)) < 2]
        if few:
            raise ValueError(f"fairness.groups: {sorted(few)} must list at least two group values to compare")
        if fair.bounds.committed() and not attrs:
            raise ValueError("fairness.bounds: name the sensitive_attributes the bounds apply to")
        reserved = {self.target, self.id_column, self.prediction_column, self.timestamp_column}
        clash = reserved & set(fair.sensitive_attributes)
        if clash:
            raise ValueError(
                f"fairness.sensitive_attributes: {sorted(str(c) for c in clash)} is the target/id/"
                "timestamp/prediction column; name the column that holds the group (e.g. 'sex')"
            )
        committed = fair.bounds.committed()
        if self.task == "regression":
            wrong = sorted(set(committed) & CLASSIFIER_ONLY_BOUNDS)
            if wrong:
                raise ValueError(
                    f"fairness.bounds: {wrong} apply to classifiers; for regression bound the "
                    "per-group error gap with primary_metric_gap"
                )
            if fair.favorable_label is not None:
                raise ValueError("fairness.favorable_label: regression has no favorable label; remove it")
            return
        if self.classes and fair.favorable_label is not None and fair.favorable_label not in self.classes:
            raise ValueError(
                f"fairness.favorable_label: '{fair.favorable_label}' is not one of classes {self.classes}"
            )
        if self.task == "multiclass" and fair.enabled and fair.favorable_label is None:
            raise ValueError(
                "fairness.favorable_label: name the favorable class of this multiclass model "
                "(selection rate = share of rows predicted that class)"
            )

    @property
    def sensitive_only_columns(self) -> list[str]:
        """Sensitive attributes that are not features: read from batches, never fed to the model."""
        feats = set(self.features.all)
        return [a for a in self.fairness.sensitive_attributes if a not in feats]

    @property
    def is_classifier(self) -> bool:
        return self.task != "regression"

    @property
    def greater_is_better(self) -> bool:
        return self.primary_metric not in LOWER_IS_BETTER

    @property
    def monitored_columns(self) -> list[str]:
        """Features plus the prediction (prediction drift is a feature like any other)."""
        return [*self.features.all, self.prediction_column]


def _format_errors(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(spec)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field; check its spelling against docs/model-spec.md"
        elif err["type"] == "missing":
            msg = "required field is missing; add it to the spec"
        lines.append(f"{loc}: {msg}")
    return "; ".join(lines)


#: A spec is a page of YAML: anything larger is refused before it is parsed.
MAX_SPEC_BYTES = 1 << 20
#: Nesting depth of mappings and lists (the deepest real spec has 5 levels).
MAX_SPEC_DEPTH = 32
#: Alias uses (``*name``) a spec may hold, and its size in nodes once every alias is expanded:
#: together they refuse "billion laughs" (a few KB of YAML that expands to gigabytes).
MAX_SPEC_ALIASES = 64
MAX_SPEC_NODES = 20_000


@functools.cache
def _bounded_loader() -> type:
    """The SafeLoader subclass, defined on first use: PyYAML costs ~10-20 ms of import that a run
    given its spec as a mapping (`steward check` infers one) never needs."""
    import yaml

    class _BoundedLoader(yaml.SafeLoader):
        """SafeLoader that refuses nesting beyond MAX_SPEC_DEPTH (before any recursion gets deep),
        more than MAX_SPEC_ALIASES aliases, recursive aliases, and documents that expand to more than
        MAX_SPEC_NODES nodes (before anything is constructed)."""

        def __init__(self, stream: Any) -> None:
            super().__init__(stream)
            self._depth = 0
            self._aliases = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self._aliases += 1
                if self._aliases > MAX_SPEC_ALIASES:
                    raise SpecError(
                        f"spec uses more than {MAX_SPEC_ALIASES} YAML aliases (*name); write the values out"
                    )
            self._depth += 1
            try:
                if self._depth > MAX_SPEC_DEPTH:
                    raise SpecError(
                        f"spec is nested more than {MAX_SPEC_DEPTH} levels deep; a model spec needs a few"
                    )
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

        def compose_document(self) -> Any:
            node = super().compose_document()
            _check_expanded_size(node)
            return node

    return _BoundedLoader


def _node_children(node: Any) -> list[Any]:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expanded_size(root: Any) -> None:
    """Size of the node graph with every alias expanded, computed without recursion."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in _node_children(node))
            if sizes[key] > MAX_SPEC_NODES:
                raise SpecError(
                    f"spec expands to more than {MAX_SPEC_NODES} values once its YAML aliases are "
                    "resolved (a 'billion laughs' document); write the values out"
                )
            continue
        if key in sizes:
            continue
        open_nodes.add(key)
        stack.append((node, True))
        for child in _node_children(node):
            if id(child) in open_nodes:
                raise SpecError("spec has a YAML alias that refers to itself; write the values out")
            if id(child) not in sizes:
                stack.append((child, False))


def load_spec_yaml(data: str | bytes) -> Any:
    """YAML text of a spec as Python values, within MAX_SPEC_BYTES / _DEPTH / _ALIASES / _NODES.
    The size is checked before parsing; every refusal is a SpecError (quarantine, never a crash)."""
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if size > MAX_SPEC_BYTES:
        raise SpecError(
            f"spec is {size} bytes; the limit is {MAX_SPEC_BYTES} bytes (a model spec is a page of YAML)"
        )
    import yaml

    try:
        return yaml.load(data, Loader=_bounded_loader())  # noqa: S506  # nosec B506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise SpecError(f"spec is not valid YAML: {exc}") from exc
    except RecursionError as exc:  # not reachable within MAX_SPEC_DEPTH; never let one escape
        raise SpecError(f"spec is nested too deeply (more than {MAX_SPEC_DEPTH} levels)") from exc


def read_spec_file(path: Any) -> bytes:
    """A spec file's bytes; refused from its size (SpecError) before it is read or parsed."""
    from pathlib import Path

    from .errors import InvalidInput

    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise SpecError(
                f"{p.name} is {size} bytes; the limit is {MAX_SPEC_BYTES} bytes (a model spec is a page "
                "of YAML)"
            )
        with p.open("rb") as f:
            return f.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {p}: {exc.strerror or exc}", code="bad_file") from exc


def parse_spec(data: dict[str, Any] | str | bytes) -> ModelSpec:
    """Parse a spec from YAML text or a mapping; a SpecError names each bad field and the fix."""
    if isinstance(data, bytes | str):
        data = load_spec_yaml(data)
    if not isinstance(data, dict):
        raise SpecError("spec must be a YAML mapping with at least name, task, target and features")
    try:
        return ModelSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"invalid model spec: {_format_errors(exc)}") from exc


def dump_spec(spec: ModelSpec) -> str:
    import yaml

    return yaml.safe_dump(spec.model_dump(mode="json", exclude_defaults=False), sort_keys=False)

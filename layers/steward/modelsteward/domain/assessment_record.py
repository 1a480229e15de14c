"""The records of one batch's assessment, as report.json carries them: drift per feature and for
the dataset, multivariate drift, quality violations, bias per group and attribution drift.

Apart from the modules that compute them (domain.drift, multivariate, quality, fairness,
attribution: numpy) because readers of report.json run where numpy is not: handle_alarm has no
dependency layer, and a page is drawn from these records alone. This module needs pydantic only
(like domain.gate_record).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DataType = Literal["numeric", "categorical"]
Kind = Literal["numeric", "categorical", "prediction", "label"]
Severity = Literal["none", "warn", "drift", "insufficient_data"]
BiasVerdict = Literal["held", "breached", "unjudged", "none"]
ATTRIBUTION_METHOD = "output_permutation"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Histogram(_Model):
    """Counts to draw: numeric ``edges`` (len(counts)+1, outer edges = observed min/max) or ``categories``."""

    edges: list[float] | None = None
    categories: list[str] | None = None
    counts: list[int]


class FeatureResult(_Model):
    name: str
    kind: Kind
    data_type: DataType
    method: str
    score: float | None = Field(description="effect size beyond sampling noise: compared with the thresholds")
    raw_score: float | None = Field(None, description="the plain statistic (what other tools report)")
    noise_floor: float | None = Field(None, description="expected raw score of two samples without drift")
    noise_band: float | None = Field(
        None,
        description="99th percentile of the raw score without drift at this batch's size, from the "
        "baseline's reference resamples (null: the baseline has no bands)",
    )
    beyond_noise: bool = Field(
        False,
        description="raw_score above noise_band and score at least floor: evidence that persistence "
        "over batches turns into drift",
    )
    effect: float | None = Field(
        None,
        description="effect size beyond noise compared with floor (= score, except wasserstein: "
        "sqrt(raw_score^2 - noise_floor^2))",
    )
    threshold: float
    warn_threshold: float
    floor: float | None = Field(None, description="below this effect nothing is drift, however certain")
    drift_reason: str | None = Field(None, description="why the feature is drift (null when it is not)")
    test: Literal["ks", "chi2"]
    statistic: float | None = None
    p_value: float | None
    p_value_adjusted: float | None
    drifted: bool
    severity: Severity
    n_reference: int
    n_current: int
    importance: float = 0.0
    reference_hist: Histogram | None = None
    current_hist: Histogram | None = None
    note: str | None = None


class DatasetDrift(_Model):
    share: float = Field(description="importance-weighted share of drifted features (0..1)")
    threshold: float
    drifted: bool
    evaluated_features: int
    drifted_features: list[str]


class DriftResult(_Model):
    features: list[FeatureResult]
    dataset: DatasetDrift

    @property
    def prediction_drifted(self) -> bool:
        return any(f.drifted for f in self.features if f.kind == "prediction")


class MultivariateResult(_Model):
    """domain.multivariate's domain classifier: reference sample vs batch sample."""

    method: Literal["domain_classifier"] = "domain_classifier"
    auc: float | None
    threshold: float
    drifted: bool
    n_reference: int
    n_current: int
    features: list[str]
    note: str | None = None


class QualityViolation(_Model):
    check: str
    column: str | None = None
    observed: float
    threshold: float
    message: str
    severity: Literal["warn", "error"] = "warn"


class QualityResult(_Model):
    violations: list[QualityViolation]
    quarantine: bool

    @property
    def passed(self) -> bool:
        return not self.violations


class BatchBias(BaseModel):
    """Bias drift of one production batch, from its predictions (no labels needed)."""

    breach: bool
    verdict: BiasVerdict
    bounds: dict[str, float]
    values: dict[str, float | None]
    selection_rates: dict[str, dict[str, float | None]] = Field(
        default_factory=dict, description="attribute -> group -> share predicted favorable"
    )
    group_rows: dict[str, dict[str, int]] = Field(default_factory=dict)
    too_small: dict[str, list[str]] = Field(default_factory=dict)
    missing_attributes: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)


class RankChange(BaseModel):
    feature: str
    baseline: float
    current: float | None
    baseline_rank: int
    current_rank: int | None


class AttributionDrift(BaseModel):
    """The batch report's ``attribution_drift`` section (and the ``attribution_drift`` signal's evidence)."""

    available: bool
    reason: str | None = Field(default=None, description="why it is not available")
    method: str = ATTRIBUTION_METHOD
    version: int | None = None
    rows: int | None = Field(default=None, description="champion rows attributed (a seeded sample)")
    ndcg: float | None = None
    threshold: float | None = None
    drifted: bool = False
    baseline: dict[str, float] = Field(default_factory=dict)
    current: dict[str, float] = Field(default_factory=dict)
    ranks: list[RankChange] = Field(default_factory=list, description="baseline order, with the batch's rank")

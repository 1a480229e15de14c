"""The gate's records: the decision (domain.gate computes it) and the compact summary a registry
row keeps and a model card shows.

Apart from domain.gate because readers of the record (the model card, the governance audit) run
in functions without numpy or pandas: this module needs pydantic only.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Outcome = Literal["promote", "pending_approval", "reject"]


class SegmentComparison(BaseModel):
    column: str
    value: str
    n: int
    champion: float | None
    challenger: float | None
    change: float | None = Field(description="challenger minus champion, oriented so positive is better")
    regressed: bool


class _GateFields(BaseModel):
    """What the decision and its summary share: outcome, scores, thresholds, fairness, reasons."""

    outcome: Outcome
    metric: str
    greater_is_better: bool
    champion_version: int | None = None
    challenger_version: int | None = None
    champion_score: float | None = None
    challenger_score: float | None = None
    difference: float | None = Field(default=None, description="challenger - champion, raw")
    improvement: float | None = Field(default=None, description="difference oriented: > 0 is better")
    relative_improvement: float | None = None
    p_value: float | None = None
    test: str | None = None
    bootstrap_rounds: int | None = None
    significance: float
    min_absolute_change: float
    min_relative_change: float
    segment_tolerance: float
    auto_promote: bool
    n_holdout: int
    fairness: dict[str, Any] | None = Field(default=None, description="domain.fairness.FairnessVerdict")
    failed_checks: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)


class GateDecision(_GateFields):
    """Everything a reviewer needs to agree or disagree with the gate."""

    segments: list[SegmentComparison] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.outcome != "reject"

    def summary(self) -> dict[str, Any]:
        """A compact form for the registry row (regressed segments only; the rest is in evaluation.json).

        Built as a :class:`GateSummary`, the model the model card reads it back with.
        """
        regressed = [s for s in self.segments if s.regressed]
        return GateSummary(
            **self.model_dump(exclude={"segments"}),
            segments_checked=len(self.segments),
            segments_regressed=regressed,
        ).model_dump(mode="json")

    def text(self) -> str:
        """Plain-text evidence for emails and the CLI."""

        def f(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.4f}"

        lines = [
            f"outcome: {self.outcome}",
            f"metric: {self.metric} ({'higher' if self.greater_is_better else 'lower'} is better), "
            f"holdout rows: {self.n_holdout}",
            f"challenger v{self.challenger_version}: {f(self.challenger_score)}",
            f"champion v{self.champion_version}: {f(self.champion_score)}"
            if self.champion_version is not None
            else "champion: none",
        ]
        if self.improvement is not None:
            rel = "n/a" if self.relative_improvement is None else f"{self.relative_improvement:+.2%}"
            lines.append(
                f"improvement: {self.improvement:+.4f} (relative {rel}); required >= "
                f"{self.min_absolute_change} absolute and >= {self.min_relative_change:.2%} relative"
            )
        if self.p_value is not None:
            rounds = f", {self.bootstrap_rounds} rounds" if self.bootstrap_rounds else ""
            lines.append(
                f"significance: p = {self.p_value:.4f} ({self.test}{rounds}); required < {self.significance}"
            )
        regressed = [s for s in self.segments if s.regressed]
        lines.append(f"segments checked: {len(self.segments)}, regressed: {len(regressed)}")
        lines.extend(
            f"  {s.column}={s.value} (n={s.n}): {f(s.champion)} -> {f(s.challenger)}" for s in regressed
        )
        if self.fairness is not None:
            lines.append(f"fairness: {self.fairness.get('verdict')} (bounds {self.fairness.get('bounds')})")
            lines.extend(
                f"  {c['attribute']}.{c['metric']}: {f(c.get('value'))} (champion {f(c.get('champion'))})"
                for c in self.fairness.get("checks") or []
            )
        lines.append("reasons:")
        lines.extend(f"  - {r}" for r in self.reasons)
        return "\n".join(lines)


class GateSummary(_GateFields):
    """The registry row's ``gate`` and the model card's gate evidence (``GateDecision.summary``)."""

    segments_checked: int = 0
    segments_regressed: list[SegmentComparison] = Field(default_factory=list)

"""The governance audit's report (``governance/<run_id>/report.json``): what each check found.

Pure records: ``services.run_audit`` writes them, ``reporting.governance`` and the email read them,
and docs/schemas/governance-report.schema.json is generated from them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

CheckName = Literal[
    "audit_chain",
    "model_spec",
    "model_card",
    "evaluation",
    "gate_decision",
    "approval",
    "lineage",
    "champion_age",
    "fairness",
    "data_freshness",
    "pii",
    "alarms",
]
CHECKS: tuple[str, ...] = CheckName.__args__  # type: ignore[attr-defined]


class Finding(BaseModel):
    check: CheckName
    model: str | None = None
    version: int | None = None
    message: str


class ChainSummary(BaseModel):
    ok: bool
    records: int
    export_checked: bool
    first_bad_seq: int | None = None
    kind: str | None = None
    message: str


class BiasEpisode(BaseModel):
    """A bias or realized-bias episode on record (handle_alarm's ``alarm.handled``): production broke
    a committed fairness bound from ``opened_at`` to ``closed_at``."""

    signal: str = Field(description="bias (selection rate per group) or realized_bias (labelled rows)")
    opened_at: str
    closed_at: str | None = Field(default=None, description="None: still open at the audit")
    opened_seq: int


class FairnessPeriod(BaseModel):
    """One champion period of a version: the fairness verdict its gate recorded, and the bias
    episodes production opened while it served (the bounds it did not hold after its gate)."""

    version: int
    start: str
    end: str | None = None  # None: still champion
    verdict: str | None = None
    production_episodes: list[BiasEpisode] = Field(default_factory=list)


class ModelAudit(BaseModel):
    model: str
    spec_found: bool
    champion: int | None = None
    champion_since: str | None = None
    last_accepted_batch_at: str | None = None
    open_pii_findings: list[int] = Field(default_factory=list)
    alarms: list[str] = Field(default_factory=list)
    fairness_periods: list[FairnessPeriod] = Field(default_factory=list)
    fairness_rejections: list[int] = Field(
        default_factory=list, description="versions the gate rejected for a fairness commitment"
    )
    findings: int = 0


class GovernanceReport(BaseModel):
    schema_version: str = "1"
    run_id: str
    generated_at: str
    stage: str
    ok: bool
    checks: list[str] = Field(default_factory=lambda: list(CHECKS))
    chain: ChainSummary
    models: list[ModelAudit] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.findings:
            out[f.check] = out.get(f.check, 0) + 1
        return out

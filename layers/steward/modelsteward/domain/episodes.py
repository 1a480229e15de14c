"""Alert episodes decided from batches: open on M of the last N breaching, close after K clean. Pure.

A per-batch verdict is evidence; an *episode* is what a person is told about and what starts an
action. Each (model, signal) has one :class:`SignalEpisode`: the last few observations in batch
order (event time, then arrival), whether an episode is open, and its story (since when, batches
seen, the worst value). :func:`observe` folds one batch's observation into it and says whether that
opened or closed an episode, so the same rule holds for ten batches in a minute and for one batch a
day: CloudWatch periods play no part in it.

An observation already folded in (same batch id, a redelivery or a retry) changes nothing, so the
caller can write the result with a condition and retry after a lost race.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..spec import EpisodeRule
from .persistence import Evidence, Run

Signal = Literal[
    "drift",
    "multivariate_drift",
    "quality",
    "pii",
    "estimated_drop",
    "realized_drop",
    "freshness",
    "bias",
    "realized_bias",
    "attribution_drift",
]
#: signals decided here, in the order emails and reports list them
SIGNALS: tuple[str, ...] = (
    "drift",
    "multivariate_drift",
    "quality",
    "pii",
    "estimated_drop",
    "realized_drop",
    "freshness",
    "bias",
    "realized_bias",
    "attribution_drift",
)
Transition = Literal["opened", "closed"]


class Observation(BaseModel):
    """One batch's verdict on one signal."""

    model_config = ConfigDict(extra="ignore")

    batch_id: str
    event_time: str = Field(description="when the batch's rows happened (ISO, UTC); arrival if unknown")
    arrived_at: str = Field(description="when the suite saw it (ISO, UTC)")
    breached: bool
    value: float | None = None
    threshold: float | None = None
    note: str = Field("", description="how the threshold was set")
    evidence: str = Field("", description="the batch's group-level figures for an email (never a row value)")
    data_from: str | None = Field(None, description="the batch's oldest row time (ISO), when known")
    features: dict[str, Evidence] = Field(
        default_factory=dict, description="drift only: each feature's noise-band evidence, for persistence"
    )
    persistent: dict[str, Run] = Field(
        default_factory=dict, description="drift only: the features persistent at this batch, with their run"
    )

    @property
    def order(self) -> tuple[str, str]:
        """Batch order: event time, then arrival (ties keep arrival order: the sort is stable)."""
        return (self.event_time, self.arrived_at)


class SignalEpisode(BaseModel):
    """The episode state of one signal of one model (stored, with the others, on one registry item)."""

    model_config = ConfigDict(extra="ignore")

    signal: str
    open: bool = False
    episode_id: str | None = None
    opened_at: str | None = None
    since: str | None = Field(None, description="event time of the first breaching batch of the episode")
    data_from: str | None = Field(None, description="that batch's oldest row time: where the new data starts")
    opened_by: str | None = None
    batches_seen: int = 0
    breaching_batches: int = 0
    worst_value: float | None = None
    worst_batch: str | None = None
    threshold: float | None = None
    closed_at: str | None = None
    closed_by: str | None = None
    close_reason: str | None = None
    episodes_opened: int = 0
    first_seen: str | None = Field(None, description="arrival of the first observation: watched since")
    recent: list[Observation] = Field(default_factory=list)

    def seen(self, batch_id: str) -> bool:
        return any(o.batch_id == batch_id for o in self.recent)

    def story(self) -> dict[str, Any]:
        """The facts an email or a report tells about this episode."""
        return self.model_dump(exclude={"recent"})


def iso(moment: dt.datetime) -> str:
    value = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")


def _worse(value: float | None, than: float | None) -> bool:
    return value is not None and (than is None or value > than)


def began(obs: Observation) -> tuple[str, str]:
    """(event time, oldest row time) where an observation's evidence began: the batch itself, or the
    first batch of the earliest persistent run it carries (the episode covers the whole run)."""
    since, data_from = obs.event_time, obs.data_from or obs.event_time
    for run in obs.persistent.values():
        if run.now and run.since < since:
            since, data_from = run.since, run.data_from or run.since
    return since, data_from


# long: the M-of-N open and K-clean close rule in one place, so both transitions read together
def observe(
    current: SignalEpisode, obs: Observation, rule: EpisodeRule, *, keep: int = 0
) -> tuple[SignalEpisode, Transition | None]:
    """Fold one observation in; returns the new state and "opened"/"closed" when it changed.
    ``keep``: observations to keep at least (drift keeps its persistence window)."""
    if current.seen(obs.batch_id):
        return current, None
    recent = sorted([*current.recent, obs], key=lambda o: o.order)[-max(rule.window, keep) :]
    state = current.model_copy(
        update={"recent": recent, "first_seen": current.first_seen or obs.arrived_at}, deep=True
    )
    if obs not in recent[-rule.window :]:  # older than the rule's window (a backfill of last month):
        # evidence for no episode (drift keeps it for persistence when it is among the last ``keep``)
        return state, None
    if not state.open:
        window = recent[-rule.of_last :]
        breaching = [o for o in window if o.breached]
        if len(breaching) < rule.breaches:
            return state, None
        worst = max(breaching, key=lambda o: o.value if o.value is not None else float("-inf"))
        number = state.episodes_opened + 1
        since, data_from = began(breaching[0])
        state = state.model_copy(
            update={
                "open": True,
                "episode_id": f"{state.signal}#{number}@{since}",
                "opened_at": obs.arrived_at,
                "since": since,
                "data_from": data_from,
                "opened_by": obs.batch_id,
                "batches_seen": len(window),
                "breaching_batches": len(breaching),
                "worst_value": worst.value,
                "worst_batch": worst.batch_id,
                "threshold": obs.threshold,
                "closed_at": None,
                "closed_by": None,
                "close_reason": None,
                "episodes_opened": number,
            }
        )
        return state, "opened"
    update: dict[str, Any] = {"batches_seen": state.batches_seen + 1}
    if obs.breached:
        update["breaching_batches"] = state.breaching_batches + 1
        if _worse(obs.value, state.worst_value):
            update["worst_value"], update["worst_batch"] = obs.value, obs.batch_id
    clean = 0
    for o in reversed(recent):
        if o.breached:
            break
        clean += 1
    if clean >= rule.clean_to_close:
        update.update(
            open=False,
            closed_at=obs.arrived_at,
            closed_by=obs.batch_id,
            close_reason=f"{clean} clean batch{'es' if clean != 1 else ''} in a row",
        )
        return state.model_copy(update=update), "closed"
    return state.model_copy(update=update), None


class EpisodeBook(BaseModel):
    """Every signal's episode of one model: the stored document, written under ``doc_version``."""

    model_config = ConfigDict(extra="ignore")

    model: str
    doc_version: int = 0
    signals: dict[str, SignalEpisode] = Field(default_factory=dict)

    @classmethod
    def load(cls, model: str, raw: Mapping[str, Any] | None) -> EpisodeBook:
        if not raw:
            return cls(model=model)
        try:
            return cls.model_validate({**raw, "model": model})
        except ValueError:  # an unreadable book starts afresh rather than blocking monitoring
            return cls(model=model, doc_version=int(raw.get("doc_version") or 0))

    def get(self, signal: str) -> SignalEpisode:
        return self.signals.get(signal) or SignalEpisode(signal=signal)

    def open_signals(self) -> list[str]:
        return [s for s in SIGNALS if self.get(s).open]

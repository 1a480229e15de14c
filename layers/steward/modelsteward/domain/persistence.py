"""Persistence as evidence: a modest shift that stays beyond its noise band batch after batch is drift.

One batch beyond its noise band (``FeatureResult.beyond_noise``: raw score above the band, score at
least the floor) happens by chance about once in a hundred batches per feature; ``min_beyond_noise``
of the last ``batches`` batches (spec ``drift.persistence``, default 3 of 4) essentially never does
(4 x 0.01^3 = 4e-6 per feature and window). Pure.

In the live path the evidence travels with the drift episode: each batch's drift observation
(domain/episodes.Observation) carries its features' :class:`Evidence`, and the book keeps the last
``batches`` of them in event-time order. :func:`persistent_at` reads them for the next batch, which
``drift.mark_persistent`` then marks; the batch's own :class:`Run` per persistent feature is stored
with its observation, so "6 of the last 6" carries on however short the stored window is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict

from ..spec import Persistence

if TYPE_CHECKING:  # no import at run time: domain.episodes imports this module
    from .episodes import Observation


#: how every persistence reason begins (reports, emails and the drift timeline read it)
REASON_PREFIX = "persistent:"


@dataclass(frozen=True)
class PersistentFeature:
    name: str
    beyond: int  # batches beyond the noise band since ``since``
    of: int  # batches since ``since`` (up to the latest, inclusive)
    since: int  # index in the given history of the first beyond-noise batch of the episode

    @property
    def reason(self) -> str:
        return f"{REASON_PREFIX} {self.beyond} of the last {self.of} batches beyond the noise band"


def _holds(flags: Sequence[bool], end: int, policy: Persistence) -> bool:
    window = flags[max(0, end - policy.batches + 1) : end + 1]
    return sum(window) >= policy.min_beyond_noise


def persistent_features(
    history: Sequence[Mapping[str, bool | None]],
    policy: Persistence | None = None,
    *,
    effects: Sequence[Mapping[str, float | None]] | None = None,
    floors: Mapping[str, float] | None = None,
) -> dict[str, PersistentFeature]:
    """Features beyond their noise band in at least ``min_beyond_noise`` of the last ``batches``
    entries of ``history`` (one mapping feature -> beyond_noise per batch, oldest first; a missing
    or null flag counts as not beyond).

    For each, ``since`` is where the current run began: walking back from the latest batch while the
    rule still holds, the first beyond-noise batch of the earliest window that satisfied it. The
    reason counts the beyond-noise batches from there ("persistent: 6 of the last 6 batches ...").

    With ``effects`` (per batch, aligned with ``history``: FeatureResult.effect) and ``floors``
    (FeatureResult.floor), the mean effect over the last ``batches`` batches must also reach the
    feature's floor: averaging N batches halves (N=4) the sampling error of one, which is what tells
    a modest shift (0.05 sd) from a negligible one (0.02 sd) at a few thousand rows per batch.
    """
    policy = policy or Persistence()
    if not history:
        return {}
    last = len(history) - 1
    names = sorted({name for batch in history for name in batch})
    out: dict[str, PersistentFeature] = {}
    for name in names:
        flags = [bool(batch.get(name)) for batch in history]
        if not _holds(flags, last, policy):
            continue
        if effects is not None and floors is not None and name in floors:
            recent = [e.get(name) for e in effects[max(0, len(effects) - policy.batches) :]]
            mean = sum(v or 0.0 for v in recent) / len(recent) if recent else 0.0
            if mean < floors[name]:
                continue
        start = last
        while start > 0 and _holds(flags, start - 1, policy):
            start -= 1
        window_start = max(0, start - policy.batches + 1)
        since = next(i for i in range(window_start, start + 1) if flags[i])
        out[name] = PersistentFeature(name, sum(flags[since:]), last - since + 1, since)
    return out


# --- the live path: evidence stored with the drift episode's observations ------------------------
class Evidence(BaseModel):
    """One feature in one batch, as the next batches' persistence reads it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    beyond: bool = False  # FeatureResult.beyond_noise
    effect: float | None = None  # FeatureResult.effect


class Run(BaseModel):
    """A feature persistent at one batch: the run of batches its reason counts, and where it began."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    beyond: int  # batches beyond the noise band since ``since``
    of: int  # batches since ``since``, this one included
    since: str  # event time of the run's first beyond-noise batch (ISO, UTC)
    data_from: str | None = None  # that batch's oldest row time
    now: bool = True  # beyond its band in this batch too: only then is it drift in this batch's verdict

    @property
    def reason(self) -> str:
        return PersistentFeature("", self.beyond, self.of, 0).reason


class _Scored(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def beyond_noise(self) -> bool: ...
    @property
    def effect(self) -> float | None: ...
    @property
    def floor(self) -> float | None: ...
    @property
    def noise_band(self) -> float | None: ...


def evidence_of(features: Iterable[_Scored]) -> dict[str, Evidence]:
    """The evidence worth storing of a batch's features (drift.FeatureResult): those with a noise
    band that are beyond it or whose effect reaches half their floor. A feature left out counts as
    not beyond, effect 0, which can only make persistence less likely (the book stays small however
    wide the model: a quiet feature stores nothing)."""
    out: dict[str, Evidence] = {}
    for f in features:
        if f.noise_band is None or f.effect is None:
            continue
        if f.beyond_noise or f.effect >= (f.floor or 0.0) / 2:
            out[f.name] = Evidence(beyond=f.beyond_noise, effect=round(f.effect, 6))
    return out


def persistent_at(
    recent: Sequence[Observation],
    current: Observation,
    policy: Persistence | None = None,
    *,
    floors: Mapping[str, float],
) -> dict[str, Run]:
    """Features persistent at ``current``: :func:`persistent_features` over the batches before it in
    batch order (event time, then arrival; an earlier run of the same batch is left out) plus
    itself. ``recent`` is what the drift episode keeps (at least ``policy.batches`` observations).

    A backfill of last month sits before everything kept, so only itself counts (no persistence);
    a late batch counts the batches before it in event time, not those that arrived before it. A
    run continues the previous batch's (its ``since``, its counts plus this batch); a new run begins
    at the first beyond-noise batch of the window that satisfied the rule. A run holds while the
    rule does, also through a batch inside the band (``now`` false: :func:`drift_reasons` leaves it
    out of that batch's verdict)."""
    policy = policy or Persistence()
    prior = sorted(
        (o for o in recent if o.batch_id != current.batch_id and o.order <= current.order),
        key=lambda o: o.order,
    )
    window = [*prior[-(policy.batches - 1) :], current] if policy.batches > 1 else [current]
    found = persistent_features(
        [{n: e.beyond for n, e in o.features.items()} for o in window],
        policy,
        effects=[{n: e.effect for n, e in o.features.items()} for o in window],
        floors=floors,
    )
    previous = prior[-1] if prior else None
    out: dict[str, Run] = {}
    for name, p in found.items():
        evidence = current.features.get(name)
        now = bool(evidence and evidence.beyond)
        before = previous.persistent.get(name) if previous is not None else None
        if before is not None:
            out[name] = before.model_copy(
                update={"beyond": before.beyond + now, "of": before.of + 1, "now": now}
            )
        else:
            first = window[p.since]
            out[name] = Run(
                beyond=p.beyond,
                of=p.of,
                since=first.event_time,
                data_from=first.data_from or first.event_time,
                now=now,
            )
    return out


def drift_reasons(runs: Mapping[str, Run]) -> dict[str, str]:
    """The runs that make their feature drift in this batch, with the reason for
    ``drift.mark_persistent``: those beyond their band in this batch too. A batch back inside its
    band is not drift however the rule counts the batches before it, so an episode closes when the
    shift ends (at a few hundred rows a batch's effect alone is too noisy to say so: the band is
    what tells)."""
    return {name: run.reason for name, run in runs.items() if run.now}

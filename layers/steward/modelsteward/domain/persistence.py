"""Persistence as evidence: a modest shift that stays beyond its noise band batch after batch is drift.

One batch beyond its noise band (``FeatureResult.beyond_noise``: raw score above the band, score at
least the floor) happens by chance about once in a hundred batches per feature; ``min_beyond_noise``
of the last ``batches`` batches (spec ``drift.persistence``, default 3 of 4) essentially never does
(4 x 0.01^3 = 4e-6 per feature and window). Pure: the caller (the batch episodes) supplies the
recent batches' flags in event-time order and marks the drift with ``drift.mark_persistent``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..spec import Persistence


@dataclass(frozen=True)
class PersistentFeature:
    name: str
    beyond: int  # batches beyond the noise band since ``since``
    of: int  # batches since ``since`` (up to the latest, inclusive)
    since: int  # index in the given history of the first beyond-noise batch of the episode

    @property
    def reason(self) -> str:
        return f"persistent: {self.beyond} of the last {self.of} batches beyond the noise band"


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

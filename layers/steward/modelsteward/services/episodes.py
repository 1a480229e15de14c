"""Alert episodes: each batch's verdicts folded into the model's episode book, mirrored into CloudWatch.

Every function that judges a batch (monitor_batch: drift, multivariate drift, quality, PII,
freshness; score_batch: the label-free estimate; evaluate_labels: realized performance;
check_window: a stalled feed) calls :func:`observe_batch` with one observation per signal. The book
(one item per model in the episodes table, written under a version condition, so concurrent batches never open
two episodes) decides with domain.episodes; then, for every observed signal:

* the ``EpisodeOpen`` metric (dims model, signal) is 1 while an episode is open, else 0 - the
  dashboard graph, and what the stack's alarm for the signal watches;
* the alarm ``<stack>-<model>-<signal>`` is set to ALARM / OK to match (SetAlarmState
  changes nothing when it already matches, so a retried run heals a lost update). CloudWatch then
  runs the alarm's actions: the alarms topic -> handle_alarm, which writes the one email of the
  opening (and starts a retrain when the policy says so) and the one recovery email of the closing.

An audit record (``episode.opened`` / ``episode.closed``) is appended once per transition.

Persistence lives here too: the drift observation of each batch carries its features' noise-band
evidence, the book keeps the last ``drift.persistence.batches`` of them in batch order, and
:func:`drift_persistence` reads them before the next batch's report is written, so a modest shift
that stays beyond its noise band becomes drift in that batch's verdict ("persistent: 6 of the last 6
batches beyond the noise band"), and its drift observation counts it. Batches judged concurrently
each see the batches whose runs were folded in before they read the book.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import metric_names
from ..domain.alarm_message import model_alarm_name
from ..domain.episodes import EpisodeBook, Observation, SignalEpisode, Transition, iso, observe
from ..domain.persistence import Evidence, Run, evidence_of, persistent_at
from ..errors import ConflictError, NotFound, StorageError
from ..spec import AlertPolicy, ModelSpec
from .context import Context

if TYPE_CHECKING:  # annotations only: nothing here needs the records at run time
    from ..domain.assessment_record import DriftResult
    from ..domain.report import BatchReport

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
#: signals whose alarm carries no action of its own: the composite data_drift alarm emails for them
COMPOSITE_CHILDREN = frozenset({"drift", "multivariate_drift"})
REASON_PREFIX = "Model Steward episode"


@dataclass(frozen=True)
class EpisodeChange:
    signal: str
    transition: Transition
    episode: SignalEpisode


def observation(
    ctx: Context,
    batch_id: str,
    *,
    breached: bool,
    value: float | None = None,
    threshold: float | None = None,
    event_time: dt.datetime | str | None = None,
    note: str = "",
    data_from: str | None = None,
    evidence: str = "",
    features: Mapping[str, Evidence] | None = None,
    persistent: Mapping[str, Run] | None = None,
) -> Observation:
    """One batch's verdict; its event time is the batch's newest row time when known, else now.
    ``features`` and ``persistent``: drift's persistence evidence (domain.episodes.Observation)."""
    now = iso(ctx.clock())
    when = event_time if isinstance(event_time, str) else iso(event_time) if event_time else now
    return Observation(
        batch_id=batch_id,
        event_time=when,
        arrived_at=now,
        breached=breached,
        value=value,
        threshold=threshold,
        note=note,
        data_from=data_from,
        evidence=evidence,
        features=dict(features or {}),
        persistent=dict(persistent or {}),
    )


def drift_persistence(
    ctx: Context,
    spec: ModelSpec,
    drift: DriftResult,
    *,
    batch_id: str,
    time_range: tuple[str | None, str | None],
) -> dict[str, Run]:
    """The features persistent at this batch (domain.persistence.persistent_at over the drift
    episode's kept observations, in batch order): mark them with drift.mark_persistent and pass them
    to :func:`report_observations`. Empty without an episodes table."""
    if ctx.episodes is None:
        return {}
    current = observation(
        ctx,
        batch_id,
        breached=False,
        event_time=time_range[1],
        data_from=time_range[0],
        features=evidence_of(drift.features),
    )
    floors = {f.name: f.floor for f in drift.features if f.floor is not None}
    kept = episode_book(ctx, spec.name).get("drift").recent
    return persistent_at(kept, current, spec.drift.persistence, floors=floors)


def report_observations(
    ctx: Context, report: BatchReport, *, persistent: Mapping[str, Run] | None = None
) -> dict[str, Observation]:
    """An accepted batch's verdicts: drift, multivariate drift, quality, PII, bias, a fresh feed.
    ``persistent``: the features :func:`drift_persistence` found (their runs go with the drift
    observation, for the next batch's persistence)."""

    def obs(breached: bool, value: float | None = None, threshold: float | None = None) -> Observation:
        return observation(
            ctx,
            report.batch_id,
            breached=breached,
            value=value,
            threshold=threshold,
            event_time=report.time_max,
            data_from=report.time_min,
        )

    drift = report.dataset_drift  # the importance-weighted share of drifted inputs (prediction drift is
    # reported per batch but opens no episode alone: a model's outputs follow its inputs); features
    # persistent at this batch are drifted in it (drift.mark_persistent), so the share counts them
    out = {
        "drift": obs(drift.drifted, drift.share, drift.threshold).model_copy(
            update={"features": evidence_of(report.features), "persistent": dict(persistent or {})}
        ),
        "quality": obs(bool(report.quality), float(len(report.quality)), 0.0),
        "pii": obs(bool(report.pii.findings), float(sum(f.count for f in report.pii.findings)), 0.0),
        # freshness is about arrival: a backfilled batch from last month still proves the feed runs
        "freshness": observation(ctx, report.batch_id, breached=False, value=0.0),
    }
    mv = report.multivariate
    if mv is not None and mv.auc is not None:
        out["multivariate_drift"] = obs(mv.drifted, mv.auc, mv.threshold)
    if report.bias is not None:  # the spec commits to a prediction-only fairness bound
        parity = report.bias.values.get("demographic_parity_difference")
        out["bias"] = obs(report.bias.breach, parity, report.bias.bounds.get("demographic_parity_difference"))
    return out


def realized_bias_observation(
    ctx: Context,
    batch_id: str,
    fairness: Mapping[str, Any] | None,
    time_range: tuple[str | None, str | None] = (None, None),
) -> Observation | None:
    """The labelled champion rows' realized group metrics against the committed bounds
    (domain.label_join.realized_fairness). None when nothing could be judged (no bound, groups too
    small, attribute absent): such a batch is evidence neither way, so it neither opens nor closes.

    The value is the worst committed difference (the ratio when only a ratio is committed)."""
    if not fairness or fairness.get("verdict") not in ("held", "breached"):
        return None
    bounds = {str(k): float(v) for k, v in (fairness.get("bounds") or {}).items()}
    values = fairness.get("values") or {}
    name = next((k for k in bounds if k != "disparate_impact_ratio"), next(iter(bounds), None))
    value = values.get(name) if name else None
    return observation(
        ctx,
        batch_id,
        breached=bool(fairness.get("breach")),
        value=float(value) if value is not None else None,
        threshold=bounds.get(name) if name else None,
        note=f"the committed bound on {name}" if name else "",
        event_time=time_range[1],
        data_from=time_range[0],
        evidence=fairness_evidence(fairness),
    )


def fairness_evidence(fairness: Mapping[str, Any]) -> str:
    """Group-level figures of a realized fairness section as one line (group names, rates: no rows)."""
    parts = []
    for attribute, groups in sorted((fairness.get("groups") or {}).items()):
        rates = [
            f"{g} {float(d['selection_rate']):.3g}"
            for g, d in sorted(groups.items())
            if isinstance(d, Mapping) and d.get("selection_rate") is not None
        ]
        if rates:
            parts.append(f"selection rate by {attribute}: {', '.join(rates)}")
    bounds = fairness.get("bounds") or {}
    for name, value in (fairness.get("values") or {}).items():
        if value is not None and name in bounds:
            parts.append(f"{name.replace('_', ' ')} {float(value):.3g} (bound {float(bounds[name]):g})")
    return "; ".join(parts)


def performance_observation(
    ctx: Context,
    spec: ModelSpec,
    signal: str,
    batch_id: str,
    *,
    drop: float | None,
    rows: int,
    version_row: Mapping[str, Any] | None,
    time_range: tuple[str | None, str | None] = (None, None),
) -> Observation | None:
    """A drop of the primary metric against the threshold the version earned (domain.performance_bands).
    ``time_range``: (oldest, newest) event time of the rows it was measured on, when known."""
    from ..domain.performance_thresholds import MetricNoise, drop_threshold

    if drop is None:
        return None
    estimated = signal == "estimated_drop"
    alert = spec.alerts.estimated_drop if estimated else spec.alerts.realized_drop
    noise = MetricNoise.from_row((version_row or {}).get("estimate_noise" if estimated else "metric_noise"))
    threshold, how = drop_threshold(alert, noise, rows, against_validation=not estimated)
    return observation(
        ctx,
        batch_id,
        breached=drop >= threshold,
        value=round(drop, 6),
        threshold=round(threshold, 6),
        note=how,
        event_time=time_range[1],
        data_from=time_range[0],
    )


def observe_batch(
    ctx: Context,
    model: str,
    observations: Mapping[str, Observation],
    *,
    spec: ModelSpec | None = None,
) -> list[EpisodeChange]:
    """Fold the observations in (conditional write, retried), emit the metrics, mirror the alarms."""
    if ctx.episodes is None or not observations:
        return []
    policy = spec.alerts if spec is not None else AlertPolicy()
    keep = {"drift": spec.drift.persistence.batches} if spec is not None else {}
    book, changes = _fold(ctx, model, observations, policy, keep)
    for signal in observations:
        episode = book.get(signal)
        ctx.metrics.put(
            metric_names.EPISODE_OPEN,
            1.0 if episode.open else 0.0,
            "None",
            {"model": model, "signal": signal},
        )
    for change in changes:
        _record(ctx, model, change)
    for signal in observations:
        _mirror(ctx, model, book.get(signal))
    return changes


def episode_book(ctx: Context, model: str) -> EpisodeBook:
    """The model's current book (empty when the function has no episodes table)."""
    if ctx.episodes is None:
        return EpisodeBook(model=model)
    return EpisodeBook.load(model, ctx.episodes.get(model))


def _fold(
    ctx: Context,
    model: str,
    observations: Mapping[str, Observation],
    policy: AlertPolicy,
    keep: Mapping[str, int],
) -> tuple[EpisodeBook, list[EpisodeChange]]:
    assert ctx.episodes is not None
    for _ in range(MAX_ATTEMPTS):
        book = episode_book(ctx, model)
        signals = dict(book.signals)
        changes: list[EpisodeChange] = []
        changed = False
        for signal, obs in observations.items():
            before = book.get(signal)
            after, transition = observe(before, obs, policy.rule(signal), keep=keep.get(signal, 0))
            if after is not before:
                changed = True
            signals[signal] = after
            if transition is not None:
                changes.append(EpisodeChange(signal, transition, after))
        updated = book.model_copy(update={"signals": signals})
        if not changed:  # every observation was already folded in (a redelivery or a retry)
            return updated, []
        try:
            ctx.episodes.put(
                model,
                updated.model_dump(mode="json", exclude={"doc_version"}),
                expected_version=book.doc_version,
            )
        except ConflictError:
            continue  # another batch wrote first: re-read and fold again
        return updated.model_copy(update={"doc_version": book.doc_version + 1}), changes
    raise ConflictError(f"the alert episodes of {model} kept changing; the function is retried")


def _record(ctx: Context, model: str, change: EpisodeChange) -> None:
    ep = change.episode
    if change.transition == "opened":
        reason = (
            f"{ep.signal} episode opened: {ep.breaching_batches} of the last {ep.batches_seen} batches "
            f"breached (since {ep.since})"
        )
    else:
        reason = f"{ep.signal} episode closed after {ep.batches_seen} batches: {ep.close_reason}"
    ctx.record_once(
        f"episode.{change.transition}",
        {"model": model, "episode": ep.episode_id or ""},
        model=model,
        reason=reason,
        details={"episode": ep.story()},
    )
    log.info(
        "alert episode %s",
        change.transition,
        extra={"model": model, "signal": ep.signal, "episode": ep.episode_id},
    )


def _mirror(ctx: Context, model: str, episode: SignalEpisode) -> None:
    """Set the signal's alarm to the episode's state (no-op when it already is)."""
    if ctx.alarm_states is None:
        return
    stack = ctx.settings.stack_name or f"model-steward-{ctx.settings.stage}"
    name = model_alarm_name(stack, model, episode.signal)
    if episode.open:
        state = "ALARM"
        reason = (
            f"{REASON_PREFIX} {episode.episode_id} open: {episode.breaching_batches} of "
            f"{episode.batches_seen} batches breached since {episode.since}"
        )
    else:
        state = "OK"
        reason = f"{REASON_PREFIX} {episode.episode_id or episode.signal} closed" + (
            f": {episode.close_reason}" if episode.close_reason else ""
        )
    try:
        ctx.alarm_states.set_state(name, state, reason, {"episode": episode.story()})
    except NotFound:
        log.info("no alarm %s in this stack (model not in MonitoredModels)", name)
    except StorageError as exc:  # the book is right; the next batch (or the alarm's own metric) heals it
        log.warning("could not mirror episode into alarm %s: %s", name, exc.message)


def story_of(ctx: Context, model: str, signal: str) -> SignalEpisode | None:
    """The signal's episode (open or last closed) for an email; None when there never was one."""
    try:
        episode = episode_book(ctx, model).get(signal)
    except StorageError as exc:
        log.warning("could not read the alert episodes of %s: %s", model, exc.message)
        return None
    return episode if episode.episode_id else None


def stories(ctx: Context, model: str, signals: list[str]) -> dict[str, Any]:
    """Stories of several signals (the composite's children), open ones only."""
    out: dict[str, Any] = {}
    for signal in signals:
        ep = story_of(ctx, model, signal)
        if ep is not None and ep.open:
            out[signal] = ep
    return out

"""What the suite does about an alarm: episodes, de-duplication, cooldown. Pure: no I/O, no clock.

An **episode** is one stay of one alarm in ALARM: it opens with the transition INTO ALARM (its id
is the alarm name plus that StateChangeTime) and closes with the transition to OK. Everything is
decided per episode:

* one email when it opens, one short note when it closes (never for INSUFFICIENT_DATA);
* at most one retrain request, and only when the model's spec lists the signal's group in
  ``retrain.on_alarms`` and the cooldown (``retrain.cooldown_hours`` since the last retrain an
  alarm started; the first training does not count) has passed;
* a second delivery of the same transition changes nothing (the recorded decision is replayed).

Episodes live on the model's registry STATE row (``alarm_episodes``: alarm name -> episode), written
with a condition on the row's version, so two concurrent deliveries cannot both start a retrain.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..spec import RetrainPolicy

DecisionKind = Literal[
    "retrain", "cooldown", "not_configured", "never", "no_spec", "ignored", "no_training_data"
]
Mail = Literal["alarm", "recovery", "none"]

#: Alarm signal -> the ``retrain.on_alarms`` group that may retrain on it (None: retraining never helps).
RETRAIN_GROUPS: dict[str, str | None] = {
    "drift": "drift",
    "multivariate_drift": "drift",
    "data_drift": "drift",
    "quality": "quality",
    "realized_drop": "performance",
    "estimated_drop": "estimated_performance",
    "pii": None,
    "latency": None,
    "scoring_errors": None,
    "freshness": None,
    "bias": None,
    "realized_bias": None,
    "attribution_drift": None,
}

#: Why retraining is never the answer to these signals (said in the email).
NEVER_RETRAIN = {
    "pii": "personal data in a batch is fixed where the data is produced, not by retraining",
    "latency": "slow scoring is an infrastructure or model-size problem, not a data problem",
    "scoring_errors": "rows the model cannot score point at bad input or a broken artifact",
    "freshness": "no new batches means no new data to train on",
    "bias": "the same data would teach the same bias, so a person decides; the gate still refuses any "
    "challenger that breaks a committed bound",
    "realized_bias": "labels that carry the same bias would teach it again, so a person decides; the gate "
    "still refuses any challenger that breaks a committed bound",
    "attribution_drift": "a change in what the model relies on is a question for a person (an upstream "
    "change, a leaking proxy, a new population) before any retrain; the drift and performance "
    "signals retrain when the data calls for it",
}


class Episode(BaseModel):
    """One stay of one alarm in ALARM, as recorded on the model's STATE row."""

    model_config = ConfigDict(extra="ignore")

    id: str
    alarm: str
    signal: str
    since: str
    decision: DecisionKind
    summary: str
    retrain_requested_at: str | None = None
    retrain_invoked: bool = False
    closed_at: str | None = None


class Decision(BaseModel):
    """The policy's answer for one ALARM transition."""

    model_config = ConfigDict(extra="forbid")

    kind: DecisionKind
    episode_id: str
    summary: str = Field(description="one sentence for the email and the audit record")
    retrain: bool = False
    replayed: bool = Field(False, description="this episode was already decided (a repeated delivery)")
    last_retrain_at: str | None = None
    next_allowed_at: str | None = None
    group: str | None = None


def no_training_data(model: str) -> str:
    """What the owner of a model the suite cannot retrain reads instead of "retrain started"."""
    return (
        f"{model} has no training data (nothing under training/{model}/ and no labeled pool), so the "
        "suite cannot retrain it: retrain the model where it is served and upload its new reference to "
        f"reference/{model}/, or upload labeled training data to training/{model}/ so the suite can "
        "train a challenger"
    )


def episode_id(alarm: str, since: dt.datetime | str) -> str:
    """``<alarm name>@<UTC time it went into ALARM>``: stable across repeated deliveries."""
    moment = since if isinstance(since, str) else iso(since)
    return f"{alarm}@{moment}"


def iso(moment: dt.datetime) -> str:
    value = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")


def parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def dedupe_key(alarm: str, state_change_time: str, new_state: str) -> dict[str, str]:
    """The idempotency key of one delivery: the same transition delivered twice is one."""
    return {"alarm": alarm, "changed_at": state_change_time, "state": new_state}


def mail_for(new_state: str, old_state: str | None) -> Mail:
    """ALARM -> the alarm email; OK after ALARM -> the recovery note; anything else -> nothing."""
    if new_state == "ALARM":
        return "alarm"
    if new_state == "OK" and old_state == "ALARM":
        return "recovery"
    return "none"


def episodes_of(state: Mapping[str, Any]) -> dict[str, Episode]:
    """The ``alarm_episodes`` map of a STATE row (malformed entries are dropped, never fatal)."""
    raw = state.get("alarm_episodes") or {}
    out: dict[str, Episode] = {}
    if isinstance(raw, Mapping):
        for alarm, value in raw.items():
            try:
                out[str(alarm)] = Episode.model_validate(value)
            except ValueError:
                continue
    return out


def last_retrain(state: Mapping[str, Any]) -> dt.datetime | None:
    """The last retrain an alarm started: the cooldown counts from it, not from the first training
    (a model onboarded an hour ago may retrain on its first drift episode)."""
    return parse_time(state.get("last_retrain_requested_at"))


# long: one ladder of early returns, a Decision per rung, in the order the module docstring lists
def decide(
    *,
    alarm: str,
    signal: str,
    since: dt.datetime,
    now: dt.datetime,
    state: Mapping[str, Any],
    policy: RetrainPolicy | None,
    spec_problem: str | None = None,
    has_training_data: bool = True,
) -> Decision:
    """The decision for an alarm that went into ALARM at ``since`` (see the module docstring).

    ``policy`` is the spec's retrain policy (None with ``spec_problem`` saying why there is none).
    """
    eid = episode_id(alarm, since)
    recorded = episodes_of(state).get(alarm)
    if recorded is not None and recorded.id == eid:
        return Decision(
            kind=recorded.decision,
            episode_id=eid,
            summary=recorded.summary,
            retrain=recorded.decision == "retrain",
            replayed=True,
            group=RETRAIN_GROUPS.get(signal),
        )
    group = RETRAIN_GROUPS.get(signal)
    if signal in NEVER_RETRAIN:
        return Decision(
            kind="never",
            episode_id=eid,
            group=None,
            summary=f"none (retraining does not fix this: {NEVER_RETRAIN[signal]})",
        )
    if policy is None:
        why = spec_problem or "the model has no spec"
        return Decision(kind="no_spec", episode_id=eid, group=group, summary=f"none ({why})")
    if group is None:
        return Decision(
            kind="not_configured",
            episode_id=eid,
            group=None,
            summary=f"none (signal not configured to retrain: '{signal}' has no retrain group)",
        )
    if group not in policy.on_alarms:
        listed = ", ".join(policy.on_alarms) or "nothing"
        return Decision(
            kind="not_configured",
            episode_id=eid,
            group=group,
            summary=f"none (signal not configured to retrain: retrain.on_alarms lists {listed}, not {group})",
        )
    if not has_training_data:  # never promise a retrain the suite cannot run
        model = str(state.get("model") or "the model")
        return Decision(
            kind="no_training_data", episode_id=eid, group=group, summary=f"none ({no_training_data(model)})"
        )
    last = last_retrain(state)
    if last is not None and policy.cooldown_hours > 0:
        allowed = last + dt.timedelta(hours=policy.cooldown_hours)
        if now < allowed:
            return Decision(
                kind="cooldown",
                episode_id=eid,
                group=group,
                last_retrain_at=iso(last),
                next_allowed_at=iso(allowed),
                summary=f"suppressed by cooldown (last retrain at {iso(last)}, "
                f"next allowed at {iso(allowed)})",
            )
    return Decision(
        kind="retrain",
        episode_id=eid,
        group=group,
        retrain=True,
        last_retrain_at=iso(last) if last else None,
        summary=f"retrain started (retrain.on_alarms includes {group})",
    )


def record_decision(
    state: Mapping[str, Any],
    *,
    alarm: str,
    signal: str,
    since: dt.datetime,
    decision: Decision,
    now: dt.datetime,
) -> dict[str, Any]:
    """The STATE changes that record an ALARM decision (episode opened; retrain request stamped)."""
    episodes = {name: ep.model_dump() for name, ep in episodes_of(state).items()}
    episode = Episode(
        id=decision.episode_id,
        alarm=alarm,
        signal=signal,
        since=iso(since),
        decision=decision.kind,
        summary=decision.summary,
        retrain_requested_at=iso(now) if decision.retrain else None,
    )
    episodes[alarm] = episode.model_dump()
    changes: dict[str, Any] = {"alarm_episodes": episodes}
    if decision.retrain:
        changes["last_retrain_requested_at"] = iso(now)
        changes["last_retrain_trigger"] = f"alarm:{alarm}"
        changes["last_retrain_episode"] = decision.episode_id
    return changes


def mark_invoked(state: Mapping[str, Any], alarm: str, episode: str) -> dict[str, Any] | None:
    """STATE changes noting that train_model was invoked for the episode (None if already noted)."""
    episodes = episodes_of(state)
    current = episodes.get(alarm)
    if current is None or current.id != episode or current.retrain_invoked:
        return None
    updated = {name: ep.model_dump() for name, ep in episodes.items()}
    updated[alarm] = current.model_copy(update={"retrain_invoked": True}).model_dump()
    return {"alarm_episodes": updated}


def close_episode(
    state: Mapping[str, Any], *, alarm: str, at: dt.datetime
) -> tuple[dict[str, Any] | None, Episode | None]:
    """(STATE changes, the closed episode) for an OK transition; (None, None) when none was open."""
    episodes = episodes_of(state)
    current = episodes.get(alarm)
    if current is None or current.closed_at is not None:
        return None, current
    closed = current.model_copy(update={"closed_at": iso(at)})
    updated = {name: ep.model_dump() for name, ep in episodes.items()}
    updated[alarm] = closed.model_dump()
    return {"alarm_episodes": updated}, closed


def duration_text(start: dt.datetime, end: dt.datetime) -> str:
    """'2 h 15 min', '3 days 4 h', '45 min', '< 1 min'."""
    seconds = max(0, int((end - start).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min" if minutes else "< 1 min"


def pending_retrain_request(state: Mapping[str, Any], labels_batch: str) -> dict[str, Any] | None:
    """The retrain request evaluate_labels sends when labels arrive for a model whose episode's
    retrain is waiting for them (a new episode key per label file, so it is not taken for a repeat)."""
    pending = state.get("pending_retrain")
    if not isinstance(pending, Mapping) or not pending.get("data_since"):
        return None
    return {
        "action": "retrain",
        "model": state.get("model"),
        "trigger": pending.get("trigger") or "labels",
        "reason": f"{pending.get('reason') or 'retrain requested'} (labels arrived: {labels_batch})",
        "episode": f"{pending.get('episode')}+labels:{labels_batch}",
        "data_since": pending["data_since"],
    }

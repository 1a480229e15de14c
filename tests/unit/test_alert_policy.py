"""The alert policy: episodes, one retrain per episode, cooldown, which signals retrain at all."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from modelsteward.domain.alarm_message import SIGNALS
from modelsteward.domain.alert_policy import (
    NEVER_RETRAIN,
    RETRAIN_GROUPS,
    close_episode,
    decide,
    dedupe_key,
    duration_text,
    episode_id,
    episodes_of,
    last_retrain,
    mail_for,
    mark_invoked,
    record_decision,
)
from modelsteward.spec import RetrainPolicy

ALARM = "model-steward-prod-credit-default-data_drift"
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
POLICY = RetrainPolicy(cooldown_hours=24, on_alarms=["drift", "performance"])


def _decide(
    state: dict[str, Any] | None = None,
    *,
    signal: str = "data_drift",
    since: dt.datetime = T0,
    now: dt.datetime | None = None,
    policy: RetrainPolicy | None = POLICY,
    alarm: str = ALARM,
    problem: str | None = None,
) -> Any:
    return decide(
        alarm=alarm,
        signal=signal,
        since=since,
        now=now or since + dt.timedelta(seconds=5),
        state=state or {},
        policy=policy,
        spec_problem=problem,
    )


def test_every_template_signal_has_a_retrain_group_or_a_reason_never_to_retrain() -> None:
    assert set(RETRAIN_GROUPS) == set(SIGNALS)
    for signal, group in RETRAIN_GROUPS.items():
        assert (group is None) == (signal in NEVER_RETRAIN), signal


def test_a_configured_signal_without_recent_retrain_starts_one() -> None:
    decision = _decide()
    assert (decision.kind, decision.retrain, decision.group) == ("retrain", True, "drift")
    assert decision.episode_id == f"{ALARM}@2026-03-01T12:00:00+00:00"
    assert decision.summary.startswith("retrain started")


def test_cooldown_suppresses_and_says_when_the_next_retrain_is_allowed() -> None:
    state = {"last_retrain_requested_at": "2026-03-01T02:00:00+00:00"}
    decision = _decide(state)
    assert (decision.kind, decision.retrain) == ("cooldown", False)
    assert decision.last_retrain_at == "2026-03-01T02:00:00+00:00"
    assert decision.next_allowed_at == "2026-03-02T02:00:00+00:00"
    assert decision.summary == (
        "suppressed by cooldown (last retrain at 2026-03-01T02:00:00+00:00, "
        "next allowed at 2026-03-02T02:00:00+00:00)"
    )


def test_the_first_training_does_not_start_a_cooldown() -> None:
    """v1 trained an hour ago: its first drift episode may retrain (issue 15)."""
    state = {"last_retrain_at": "2026-03-01T11:00:00+00:00"}
    assert last_retrain(state) is None
    assert _decide(state).kind == "retrain"


def test_cooldown_counts_from_the_last_retrain_an_alarm_started() -> None:
    state = {
        "last_retrain_at": "2026-02-01T00:00:00+00:00",
        "last_retrain_requested_at": "2026-03-01T11:00:00Z",
    }
    assert last_retrain(state) == dt.datetime(2026, 3, 1, 11, tzinfo=dt.UTC)
    assert _decide(state).kind == "cooldown"
    after = _decide(state, since=T0 + dt.timedelta(hours=23, minutes=1))
    assert after.kind == "retrain"


def test_zero_cooldown_never_suppresses() -> None:
    policy = RetrainPolicy(cooldown_hours=0, on_alarms=["drift"])
    assert _decide({"last_retrain_requested_at": T0.isoformat()}, policy=policy).kind == "retrain"


def test_a_signal_whose_group_is_not_in_on_alarms_does_not_retrain() -> None:
    decision = _decide(signal="estimated_drop")
    assert (decision.kind, decision.retrain) == ("not_configured", False)
    assert decision.summary.startswith("none (signal not configured to retrain")
    assert "estimated_performance" in decision.summary


@pytest.mark.parametrize("signal", sorted(NEVER_RETRAIN))
def test_signals_retraining_cannot_fix_never_retrain(signal: str) -> None:
    decision = _decide(
        signal=signal,
        policy=RetrainPolicy(
            cooldown_hours=0, on_alarms=["drift", "quality", "performance", "estimated_performance"]
        ),
    )
    assert (decision.kind, decision.retrain) == ("never", False)
    assert NEVER_RETRAIN[signal] in decision.summary


def test_without_a_spec_nothing_is_retrained_and_the_reason_is_given() -> None:
    decision = _decide(policy=None, problem="the model has no spec")
    assert (decision.kind, decision.retrain, decision.summary) == (
        "no_spec",
        False,
        "none (the model has no spec)",
    )


def test_the_same_episode_decided_twice_replays_the_recorded_decision() -> None:
    first = _decide()
    state = record_decision({}, alarm=ALARM, signal="data_drift", since=T0, decision=first, now=T0)
    again = _decide(state, now=T0 + dt.timedelta(minutes=10))
    assert again.replayed and again.kind == "retrain" and again.episode_id == first.episode_id
    assert state["last_retrain_requested_at"] == "2026-03-01T12:00:00+00:00"
    assert state["last_retrain_episode"] == first.episode_id


def test_a_new_episode_of_the_same_alarm_is_decided_afresh_and_cooled_down() -> None:
    first = _decide()
    state = record_decision({}, alarm=ALARM, signal="data_drift", since=T0, decision=first, now=T0)
    changes, _ = close_episode(state, alarm=ALARM, at=T0 + dt.timedelta(hours=1))
    assert changes is not None
    state = {**state, **changes}
    second = _decide(state, since=T0 + dt.timedelta(hours=3))
    assert not second.replayed and second.kind == "cooldown"
    later = _decide(state, since=T0 + dt.timedelta(days=2))
    assert later.kind == "retrain" and later.episode_id != first.episode_id


def test_one_retrain_per_root_cause_across_alarms_of_one_model() -> None:
    """data_drift and estimated_drop fire together: the second is cooled down by the first's request."""
    policy = RetrainPolicy(cooldown_hours=6, on_alarms=["drift", "estimated_performance"])
    first = _decide(policy=policy)
    state = record_decision({}, alarm=ALARM, signal="data_drift", since=T0, decision=first, now=T0)
    other = _decide(
        state,
        alarm="model-steward-prod-credit-default-estimated_drop",
        signal="estimated_drop",
        since=T0 + dt.timedelta(minutes=5),
        policy=policy,
    )
    assert (first.kind, other.kind) == ("retrain", "cooldown")


def test_recording_keeps_the_other_alarms_episodes() -> None:
    first = _decide()
    state = record_decision({}, alarm=ALARM, signal="data_drift", since=T0, decision=first, now=T0)
    quality = _decide(state, alarm="q", signal="quality")
    state = {
        **state,
        **record_decision(state, alarm="q", signal="quality", since=T0, decision=quality, now=T0),
    }
    assert set(episodes_of(state)) == {ALARM, "q"}
    assert episodes_of(state)["q"].decision == "not_configured"
    assert "last_retrain_requested_at" in state  # from the first decision, not overwritten


def test_marking_the_retrain_invoked_happens_once_per_episode() -> None:
    first = _decide()
    state = record_decision({}, alarm=ALARM, signal="data_drift", since=T0, decision=first, now=T0)
    changes = mark_invoked(state, ALARM, first.episode_id)
    assert changes is not None and episodes_of(changes)[ALARM].retrain_invoked
    assert mark_invoked({**state, **changes}, ALARM, first.episode_id) is None
    assert mark_invoked(state, ALARM, "some-other-episode") is None


def test_closing_an_episode_twice_or_without_one_changes_nothing() -> None:
    first = _decide()
    state = record_decision({}, alarm=ALARM, signal="data_drift", since=T0, decision=first, now=T0)
    changes, closed = close_episode(state, alarm=ALARM, at=T0 + dt.timedelta(hours=2))
    assert changes is not None and closed is not None
    assert (closed.since, closed.closed_at) == ("2026-03-01T12:00:00+00:00", "2026-03-01T14:00:00+00:00")
    assert close_episode({**state, **changes}, alarm=ALARM, at=T0 + dt.timedelta(hours=3))[0] is None
    assert close_episode({}, alarm=ALARM, at=T0) == (None, None)


def test_malformed_episodes_on_the_state_row_are_dropped_not_fatal() -> None:
    state = {
        "alarm_episodes": {
            "good": {
                "id": "g@1",
                "alarm": "good",
                "signal": "drift",
                "since": "x",
                "decision": "never",
                "summary": "s",
            },
            "bad": {"id": 3},
            "worse": "text",
        }
    }
    assert set(episodes_of(state)) == {"good"}
    assert episodes_of({"alarm_episodes": "nonsense"}) == {}


@pytest.mark.parametrize(
    ("new", "old", "mail"),
    [
        ("ALARM", "OK", "alarm"),
        ("ALARM", "INSUFFICIENT_DATA", "alarm"),
        ("OK", "ALARM", "recovery"),
        ("OK", "INSUFFICIENT_DATA", "none"),
        ("INSUFFICIENT_DATA", "ALARM", "none"),
        ("INSUFFICIENT_DATA", "OK", "none"),
    ],
)
def test_which_transitions_email(new: str, old: str, mail: str) -> None:
    assert mail_for(new, old) == mail


def test_dedupe_keys_separate_transitions_and_join_repeats() -> None:
    a = dedupe_key(ALARM, "2026-03-01T12:00:00.000+0000", "ALARM")
    assert a == dedupe_key(ALARM, "2026-03-01T12:00:00.000+0000", "ALARM")
    assert a != dedupe_key(ALARM, "2026-03-01T12:00:00.000+0000", "OK")
    assert a != dedupe_key(ALARM, "2026-03-01T12:05:00.000+0000", "ALARM")


def test_episode_ids_are_stable_for_the_same_moment() -> None:
    assert episode_id("a", T0) == episode_id("a", T0.astimezone(dt.timezone(dt.timedelta(hours=2))))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (30, "< 1 min"),
        (45 * 60, "45 min"),
        (2 * 3600 + 15 * 60, "2 h 15 min"),
        (3600, "1 h"),
        (3 * 86400 + 4 * 3600, "3 days 4 h"),
        (86400, "1 day"),
    ],
)
def test_durations_read_naturally(seconds: int, text: str) -> None:
    assert duration_text(T0, T0 + dt.timedelta(seconds=seconds)) == text

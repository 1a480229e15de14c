"""Episodes decided from batches (domain.episodes): M of the last N open, K clean close, any cadence."""

from __future__ import annotations

import datetime as dt

import pytest

from modelsteward.domain.episodes import EpisodeBook, Observation, SignalEpisode, iso, observe
from modelsteward.spec import AlertPolicy, EpisodeRule, parse_spec

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
RULE = EpisodeRule(breaches=2, of_last=3, clean_to_close=2)


def obs(
    i: int,
    breached: bool,
    *,
    step: dt.timedelta = dt.timedelta(seconds=5),
    value: float | None = None,
    event: dt.datetime | None = None,
) -> Observation:
    at = T0 + i * step
    return Observation(
        batch_id=f"b{i:03d}",
        event_time=iso(event or at),
        arrived_at=iso(at),
        breached=breached,
        value=value if value is not None else (0.6 if breached else 0.1),
        threshold=0.3,
    )


def run(stream: list[Observation], rule: EpisodeRule = RULE) -> tuple[SignalEpisode, list[tuple[str, str]]]:
    state = SignalEpisode(signal="drift")
    transitions: list[tuple[str, str]] = []
    for o in stream:
        state, t = observe(state, o, rule)
        if t:
            transitions.append((t, o.batch_id))
    return state, transitions


@pytest.mark.parametrize("step", [dt.timedelta(seconds=5), dt.timedelta(days=1)], ids=["burst", "daily"])
def test_the_same_batches_open_one_episode_on_the_same_batch_at_any_cadence(step: dt.timedelta) -> None:
    stream = [obs(i, breached=i >= 6, step=step) for i in range(1, 11)]
    state, transitions = run(stream)
    assert transitions == [("opened", "b007")]  # 2 of the last 3: batches 6 and 7
    assert state.open and state.opened_by == "b007"
    assert state.since == stream[5].event_time  # the first breaching batch, not the one that tipped it
    assert state.batches_seen == 3 + 3  # the window that opened it, then batches 8-10
    assert state.breaching_batches == 2 + 3


def test_clean_batches_close_the_episode_after_k_in_a_row_and_a_new_breach_starts_a_new_one() -> None:
    stream = [obs(i, breached=bool(b)) for i, b in enumerate([1, 1, 0, 1, 0, 0, 0, 1, 1], start=1)]
    state, transitions = run(stream)
    assert transitions == [("opened", "b002"), ("closed", "b006"), ("opened", "b009")]
    assert state.episodes_opened == 2 and state.episode_id and state.episode_id.startswith("drift#2@")


def test_one_clean_batch_between_breaches_keeps_the_episode_open() -> None:
    _, transitions = run([obs(i, breached=bool(b)) for i, b in enumerate([1, 1, 0, 1, 0, 1, 0], start=1)])
    assert transitions == [("opened", "b002")]


def test_a_redelivered_batch_changes_nothing() -> None:
    state, _ = run([obs(1, True), obs(2, True)])
    again, transition = observe(state, obs(2, True), RULE)
    assert transition is None and again is state


def test_batches_are_ordered_by_event_time_not_arrival() -> None:
    """A backfill uploaded late sorts before the batches that happened after it."""
    late_old = obs(4, True, event=T0 - dt.timedelta(days=30))  # arrives last, happened a month ago
    state, transitions = run([obs(1, False), obs(2, False), obs(3, True), late_old])
    # in arrival order b003 and b004 would be 2 of the last 3; in event order b004 is the oldest
    assert [o.batch_id for o in state.recent] == ["b001", "b002", "b003"]
    assert transitions == []
    state, transitions = run([obs(1, False), obs(2, True), obs(3, True, event=T0 - dt.timedelta(seconds=1))])
    assert [o.batch_id for o in state.recent] == ["b003", "b001", "b002"] and transitions == [
        ("opened", "b003")
    ]


def test_the_worst_value_of_the_episode_is_kept() -> None:
    state, _ = run(
        [obs(1, True, value=0.4), obs(2, True, value=0.5), obs(3, True, value=0.9), obs(4, True, value=0.7)]
    )
    assert state.worst_value == 0.9 and state.worst_batch == "b003"


def test_a_one_of_one_rule_opens_on_the_first_breach() -> None:
    _, transitions = run(
        [obs(1, False), obs(2, True), obs(3, False)], EpisodeRule(breaches=1, of_last=1, clean_to_close=1)
    )
    assert transitions == [("opened", "b002"), ("closed", "b003")]


def test_the_spec_sets_each_signals_rule_and_refuses_an_impossible_one() -> None:
    base = "name: m\ntask: binary\ntarget: y\nfeatures: {numeric: [x]}\n"
    spec = parse_spec(base + "alerts:\n  drift: {breaches: 3, of_last: 5, clean_to_close: 4}\n")
    assert spec.alerts.rule("drift") == EpisodeRule(breaches=3, of_last=5, clean_to_close=4)
    assert AlertPolicy().rule("quality").breaches == 1 and AlertPolicy().rule("drift").of_last == 3
    with pytest.raises(Exception, match=r"alerts\.drift: breaches"):
        parse_spec(base + "alerts:\n  drift: {breaches: 4, of_last: 3}\n")


def test_a_book_round_trips_and_an_unreadable_one_starts_afresh() -> None:
    state, _ = run([obs(1, True), obs(2, True)])
    book = EpisodeBook(model="m", doc_version=3, signals={"drift": state})
    again = EpisodeBook.load("m", book.model_dump(mode="json"))
    assert again.get("drift") == state and again.open_signals() == ["drift"]
    broken = EpisodeBook.load("m", {"doc_version": 4, "signals": "not a map"})
    assert broken.doc_version == 4 and broken.open_signals() == []

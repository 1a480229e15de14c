"""Persistence in the live path: the evidence the drift episode keeps, read in batch order (issue 22)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from modelsteward.domain.episodes import Observation, SignalEpisode, observe
from modelsteward.domain.persistence import Evidence, Run, drift_reasons, evidence_of, persistent_at
from modelsteward.spec import EpisodeRule, Persistence

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
FLOORS = {"x": 0.035, "y": 0.035}
POLICY = Persistence()  # 3 of the last 4
RULE = EpisodeRule()  # 2 of the last 3, keeps 3 observations of its own


def at(minutes: float) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).isoformat(timespec="seconds")


def obs(
    i: int, *, beyond: bool, effect: float = 0.06, event: float | None = None, arrived: float | None = None
) -> Observation:
    return Observation(
        batch_id=f"b{i}",
        event_time=at(i * 60 if event is None else event),
        arrived_at=at(i * 60 if arrived is None else arrived),
        breached=False,
        data_from=at((i * 60 if event is None else event) - 30),
        features={"x": Evidence(beyond=beyond, effect=effect), "y": Evidence(beyond=False, effect=0.01)},
    )


def feed(flags: list[bool]) -> tuple[SignalEpisode, list[dict[str, Run]]]:
    """Batches in arrival order through the live loop: persistence, then the fold (keep = batches)."""
    episode = SignalEpisode(signal="drift")
    seen: list[dict[str, Run]] = []
    for i, flag in enumerate(flags):
        current = obs(i, beyond=flag)
        runs = persistent_at(episode.recent, current, POLICY, floors=FLOORS)
        current = current.model_copy(update={"persistent": runs, "breached": bool(drift_reasons(runs))})
        episode, _ = observe(episode, current, RULE, keep=POLICY.batches)
        seen.append(runs)
    return episode, seen


def test_a_run_is_counted_from_its_first_batch_however_short_the_kept_window() -> None:
    episode, seen = feed([False, True, True, True, True, True, True])
    assert [bool(r) for r in seen] == [False, False, False, True, True, True, True]
    assert len(episode.recent) == POLICY.batches  # what the book stores, not the whole history
    last = seen[-1]["x"]
    assert last.reason == "persistent: 6 of the last 6 batches beyond the noise band"
    assert last.since == at(60) and last.data_from == at(30)  # where the run (and the episode) began
    assert "y" not in seen[-1]
    # the episode opened (2 of 3 breaching) and dates itself from the run's first batch, not the opener
    assert episode.open and episode.since == at(60) and episode.data_from == at(30)


def test_a_batch_back_inside_its_band_is_not_drift_and_the_run_ends_with_the_rule() -> None:
    episode, seen = feed([True, True, True, False, False, True])
    assert [sorted(r) for r in seen] == [[], [], ["x"], ["x"], [], []]
    assert seen[3]["x"].reason == "persistent: 3 of the last 4 batches beyond the noise band"
    # the rule still counts 3 of 4 at the fourth batch, but that batch is inside its band: not drift
    assert [sorted(drift_reasons(r)) for r in seen] == [[], [], ["x"], [], [], []]
    assert not episode.recent[-3].breached


def test_a_run_carries_on_through_one_batch_inside_the_band() -> None:
    _, seen = feed([True, True, True, False, True, True])
    assert [sorted(drift_reasons(r)) for r in seen] == [[], [], ["x"], [], ["x"], ["x"]]
    assert seen[-1]["x"].reason == "persistent: 5 of the last 6 batches beyond the noise band"
    assert seen[-1]["x"].since == at(0)


def test_one_batch_in_a_hundred_beyond_its_band_never_persists() -> None:
    _, seen = feed([i % 3 == 0 for i in range(12)])  # 1 of every 3: never 3 of 4
    assert not any(seen)


def test_a_shift_beyond_its_band_is_not_persistent_while_its_mean_effect_is_under_the_floor() -> None:
    episode = SignalEpisode(signal="drift")
    for i in range(3):
        episode, _ = observe(episode, obs(i, beyond=True, effect=0.02), RULE, keep=4)
    assert persistent_at(episode.recent, obs(3, beyond=True, effect=0.02), POLICY, floors=FLOORS) == {}
    # the mean over the last 4 decides: (3 x 0.02 + 0.09) / 4 = 0.0375
    assert "x" in persistent_at(episode.recent, obs(3, beyond=True, effect=0.09), POLICY, floors=FLOORS)


def test_a_backfill_of_last_month_has_no_history_and_leaves_the_current_run_alone() -> None:
    episode = SignalEpisode(signal="drift")
    for i in range(4):
        current = obs(i, beyond=True)
        current = current.model_copy(
            update={"persistent": persistent_at(episode.recent, current, POLICY, floors=FLOORS)}
        )
        episode, _ = observe(episode, current, RULE, keep=4)
    old = obs(9, beyond=True, event=-30 * 24 * 60, arrived=5 * 60)
    assert persistent_at(episode.recent, old, POLICY, floors=FLOORS) == {}
    after, transition = observe(episode, old, RULE, keep=4)
    assert transition is None and old not in after.recent
    nxt = obs(5, beyond=True)
    assert persistent_at(after.recent, nxt, POLICY, floors=FLOORS)["x"].of == 5  # b1..b5: the run goes on


def test_a_late_batch_counts_the_batches_before_it_in_event_time_not_in_arrival() -> None:
    episode = SignalEpisode(signal="drift")
    # b0, b1 beyond; b3 (clean) arrives before b2
    for current in (obs(0, beyond=True), obs(1, beyond=True), obs(3, beyond=False)):
        episode, _ = observe(episode, current, RULE, keep=4)
    late = obs(2, beyond=True, arrived=4 * 60)
    runs = persistent_at(episode.recent, late, POLICY, floors=FLOORS)
    # b0, b1, b2; not b3, which arrived before b2 but happened after it
    assert runs["x"].reason == "persistent: 3 of the last 3 batches beyond the noise band"


def test_a_burst_in_one_minute_is_ordered_by_event_time_and_a_redelivery_counts_once() -> None:
    episode = SignalEpisode(signal="drift")
    burst = [obs(i, beyond=True, event=i / 10, arrived=i / 10) for i in range(3)]  # 6 s apart
    for current in burst[:2]:
        episode, _ = observe(episode, current, RULE, keep=4)
    # a retry of b1 (already folded in) sees b0 only besides itself: 2 of 2, not persistent
    assert persistent_at(episode.recent, burst[1], POLICY, floors=FLOORS) == {}
    assert persistent_at(episode.recent, burst[2], POLICY, floors=FLOORS)["x"].beyond == 3


def test_evidence_keeps_features_with_a_band_that_are_beyond_it_or_near_their_floor() -> None:
    def f(name: str, beyond: bool, effect: float | None, band: float | None = 0.04) -> SimpleNamespace:
        return SimpleNamespace(name=name, beyond_noise=beyond, effect=effect, floor=0.035, noise_band=band)

    scored = [f("a", True, 0.05), f("b", False, 0.02), f("c", False, 0.01), f("d", False, 0.5, None)]
    kept = evidence_of([*scored, f("e", False, None)])
    assert kept == {"a": Evidence(beyond=True, effect=0.05), "b": Evidence(beyond=False, effect=0.02)}

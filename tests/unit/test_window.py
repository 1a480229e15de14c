"""Windows of batches: boundaries, membership by event time, volume against history, freshness."""

from __future__ import annotations

import datetime as dt

import pytest

from modelsteward.domain.window import (
    BatchTimes,
    freshness_finding,
    hours_since,
    in_window,
    last_complete,
    newest,
    parse_moment,
    volume_check,
    window_at,
    windows_between,
)
from modelsteward.errors import InvalidInput

UTC = dt.UTC


def at(day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)  # 2026-03-02 is a Monday


@pytest.mark.parametrize(
    ("kind", "moment", "start", "label"),
    [
        ("hour", at(4, 13, 59), at(4, 13), "2026-03-04T13"),
        ("day", at(4, 13, 59), at(4), "2026-03-04"),
        ("week", at(4, 13, 59), at(2), "2026-03-02"),
        ("week", at(2), at(2), "2026-03-02"),
        ("week", at(1, 23, 59), dt.datetime(2026, 2, 23, tzinfo=UTC), "2026-02-23"),
    ],
)
def test_windows_are_half_open_and_weeks_start_on_monday(
    kind: str, moment: dt.datetime, start: dt.datetime, label: str
) -> None:
    window = window_at(moment, kind)  # type: ignore[arg-type]
    assert (window.start, window.label) == (start, label)
    assert window.contains(window.start) and not window.contains(window.end)


def test_the_last_complete_window_has_ended_at_now() -> None:
    assert last_complete(at(4, 0, 30), "day").start == at(3)
    assert last_complete(at(4, 0, 0), "day").start == at(3)
    assert last_complete(at(4, 13, 5), "hour").start == at(4, 12)
    assert last_complete(at(4, 13, 5), "hour").previous().start == at(4, 11)


def test_windows_between_cover_the_range_and_reject_an_empty_one() -> None:
    days = windows_between(at(1, 6), at(4), "day")
    assert [w.label for w in days] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert [w.label for w in windows_between(at(1), at(1, 1), "day")] == ["2026-03-01"]
    with pytest.raises(InvalidInput, match="must be after"):
        windows_between(at(4), at(1), "day")


def test_batches_belong_where_their_data_is_not_where_they_arrived() -> None:
    late = BatchTimes("late", created_at=at(5, 9), event_time=at(3, 23, 50), rows=100)
    no_clock = BatchTimes("no-timestamps", created_at=at(3, 10), event_time=None, rows=50)
    today = BatchTimes("today", created_at=at(4, 1), event_time=at(4, 0, 30), rows=10)
    chosen = in_window([today, late, no_clock], window_at(at(3), "day"))
    assert [b.batch_id for b in chosen] == ["no-timestamps", "late"]
    assert newest([today, late, no_clock]) == late, "freshness follows arrival"
    assert newest([]) is None


def test_a_volume_drop_against_the_median_of_previous_windows_is_a_finding() -> None:
    check, finding = volume_check(300, [1000, 1200, 0, 1100, 900])
    assert check.median == 1000 and check.ratio == pytest.approx(0.3)
    assert finding is not None and finding.check == "volume_drop" and finding.severity == "warn"
    assert "30% of the median of the previous 5 windows (1000 rows)" in finding.message
    assert volume_check(0, [100, 100, 100])[1].message.startswith("no rows")  # type: ignore[union-attr]


def test_normal_volume_short_history_and_spikes() -> None:
    assert volume_check(950, [1000, 1200, 1100])[1] is None
    assert volume_check(10, [1000, 1000])[1] is None, "too little history to judge"
    assert volume_check(10, [0, 0, 0])[1] is None, "no history with data"
    spike = volume_check(5000, [1000, 1000, 1000])[1]
    assert spike is not None and (spike.check, spike.severity) == ("volume_spike", "info")


def test_freshness() -> None:
    assert hours_since(at(4, 12), at(4, 0)) == 12
    assert freshness_finding(12, 24) is None
    stale = freshness_finding(30.5, 24)
    assert stale is not None and stale.check == "stale_feed" and "30.5 h old" in stale.message
    assert freshness_finding(None, 24).message == "no batch has ever been accepted for this model"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-04", at(4)),
        ("2026-03-04T05:00:00Z", at(4, 5)),
        ("2026-03-04T07:00:00+02:00", at(4, 5)),
        ("2026-03-04T05:00", at(4, 5)),
    ],
)
def test_moments_parse_as_utc(text: str, expected: dt.datetime) -> None:
    assert parse_moment(text) == expected


def test_a_bad_moment_names_the_field() -> None:
    with pytest.raises(InvalidInput, match="--since 'last tuesday'"):
        parse_moment("last tuesday", "--since")

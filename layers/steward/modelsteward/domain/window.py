"""Windows of batches: which batches a window holds, its volume against history, freshness, its report.

A window is an hour, a day or an ISO week (Monday 00:00 UTC), half-open ``[start, end)``. A batch
belongs to the window that contains its **event time**: the newest timestamp in its rows (the
profile's ``time_max``) when the spec has a timestamp column, else the time it was monitored
(``created_at``). Event time, not arrival time, so a backfill of months of history uploaded today
lands in the right days, and a batch that arrives late still counts where its data belongs (the
scheduled check re-examines the previous window, see services.check_window).

Light on purpose (no numpy): handle_alarm uses the batch times too. The window report, which
needs the drift results, is domain.window_report.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import InvalidInput

WindowKind = Literal["hour", "day", "week"]
WINDOW_KINDS: tuple[WindowKind, ...] = ("hour", "day", "week")

VOLUME_HISTORY = 7  # previous windows the row count is compared with
VOLUME_MIN_HISTORY = 3  # fewer previous windows with data: no volume verdict
VOLUME_DROP_RATIO = 0.5  # rows below half the median of the previous windows: a finding
VOLUME_SPIKE_RATIO = 3.0


def _utc(moment: dt.datetime) -> dt.datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def length(kind: WindowKind) -> dt.timedelta:
    return {"hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1), "week": dt.timedelta(weeks=1)}[kind]


def floor(moment: dt.datetime, kind: WindowKind) -> dt.datetime:
    """Start of the window containing ``moment`` (UTC; weeks start on Monday)."""
    m = _utc(moment)
    if kind == "hour":
        return m.replace(minute=0, second=0, microsecond=0)
    day = m.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if kind == "day" else day - dt.timedelta(days=day.weekday())


@dataclass(frozen=True)
class Window:
    kind: WindowKind
    start: dt.datetime
    end: dt.datetime

    @property
    def label(self) -> str:
        """The S3-friendly start: ``2026-01-05`` (day, week) or ``2026-01-05T13`` (hour)."""
        return self.start.strftime("%Y-%m-%dT%H" if self.kind == "hour" else "%Y-%m-%d")

    def contains(self, moment: dt.datetime) -> bool:
        return self.start <= _utc(moment) < self.end

    def previous(self, count: int = 1) -> Window:
        return window_at(self.start - count * length(self.kind), self.kind)

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "start": self.start.isoformat(), "end": self.end.isoformat()}


def window_at(moment: dt.datetime, kind: WindowKind) -> Window:
    start = floor(moment, kind)
    return Window(kind, start, start + length(kind))


def last_complete(now: dt.datetime, kind: WindowKind) -> Window:
    """The newest window that has ended at ``now``."""
    return window_at(floor(now, kind) - length(kind), kind)


def windows_between(since: dt.datetime, until: dt.datetime, kind: WindowKind) -> list[Window]:
    """Windows from the one containing ``since`` up to (not including) the one starting at ``until``."""
    if _utc(until) <= _utc(since):
        raise InvalidInput(
            f"--until ({until.isoformat()}) must be after --since ({since.isoformat()})", code="bad_range"
        )
    out: list[Window] = []
    current = window_at(since, kind)
    while current.start < _utc(until):
        out.append(current)
        current = window_at(current.end, kind)
    return out


def parse_kind(value: str | None, default: WindowKind) -> WindowKind:
    if value is None or value == "":
        return default
    if value not in WINDOW_KINDS:
        raise InvalidInput(f"window '{value}' is not one of {', '.join(WINDOW_KINDS)}", code="bad_window")
    return value


def parse_moment(value: str | dt.datetime, what: str = "start") -> dt.datetime:
    """ISO 8601 date or date-time (naive = UTC); InvalidInput names the field."""
    if isinstance(value, dt.datetime):
        return _utc(value)
    text = str(value).strip()
    try:
        if len(text) == 10:
            return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
        return _utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError as exc:
        raise InvalidInput(f"{what} '{value}' is not an ISO 8601 date or time", code="bad_time") from exc


# --- batches in time --------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchTimes:
    """What a window needs to know about an accepted batch (from the batch index, without reads)."""

    batch_id: str
    created_at: dt.datetime
    event_time: dt.datetime | None
    rows: int

    @property
    def time(self) -> dt.datetime:
        return self.event_time or self.created_at


def in_window(batches: Iterable[BatchTimes], window: Window) -> list[BatchTimes]:
    chosen = [b for b in batches if window.contains(b.time)]
    return sorted(chosen, key=lambda b: (b.time, b.batch_id))


def newest(batches: Iterable[BatchTimes]) -> BatchTimes | None:
    """The batch monitored last (arrival order: what freshness is about)."""
    return max(batches, key=lambda b: (b.created_at, b.batch_id), default=None)


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    check: Literal["volume_drop", "volume_spike", "no_batches", "stale_feed", "other_baseline"]
    severity: Literal["info", "warn"]
    message: str
    value: float | None = None
    threshold: float | None = None


class VolumeCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: int
    history: list[int] = Field(description="rows of the previous windows, oldest first")
    median: float | None = None
    ratio: float | None = Field(None, description="rows / median of the previous windows")


def volume_check(
    rows: int,
    history: Sequence[int],
    *,
    drop_ratio: float = VOLUME_DROP_RATIO,
    spike_ratio: float = VOLUME_SPIKE_RATIO,
    min_history: int = VOLUME_MIN_HISTORY,
) -> tuple[VolumeCheck, Finding | None]:
    """Rows of the window against the median of the previous windows (robust to one odd window)."""
    usable = list(history)
    if len(usable) < min_history or not any(usable):
        return VolumeCheck(rows=rows, history=usable), None
    median = float(statistics.median(usable))
    ratio = rows / median if median > 0 else None
    check = VolumeCheck(rows=rows, history=usable, median=median, ratio=ratio)
    if ratio is None:
        return check, None
    if ratio < drop_ratio:
        what = "no rows" if rows == 0 else f"{rows} rows"
        return check, Finding(
            check="volume_drop",
            severity="warn",
            value=ratio,
            threshold=drop_ratio,
            message=f"{what} in this window, {ratio:.0%} of the median of the previous {len(usable)} "
            f"windows ({median:g} rows): a partial feed, a filter upstream or batches refused",
        )
    if ratio > spike_ratio:
        return check, Finding(
            check="volume_spike",
            severity="info",
            value=ratio,
            threshold=spike_ratio,
            message=f"{rows} rows, {ratio:.1f} times the median of the previous {len(usable)} windows "
            f"({median:g} rows): duplicated uploads or a backfill?",
        )
    return check, None


def hours_since(now: dt.datetime, moment: dt.datetime | None) -> float | None:
    if moment is None:
        return None
    return max(0.0, (_utc(now) - _utc(moment)).total_seconds() / 3600.0)


def freshness_finding(hours: float | None, limit_hours: float) -> Finding | None:
    if hours is None:
        return Finding(
            check="stale_feed",
            severity="warn",
            threshold=limit_hours,
            message="no batch has ever been accepted for this model",
        )
    if hours > limit_hours:
        return Finding(
            check="stale_feed",
            severity="warn",
            value=round(hours, 2),
            threshold=limit_hours,
            message=f"the newest accepted batch is {hours:.1f} h old, more than governance.freshness_hours "
            f"({limit_hours:g} h)",
        )
    return None

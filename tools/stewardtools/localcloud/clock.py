"""The local cloud's clock: lets tests and the demo make hours pass in milliseconds.

It drives metric timestamps (EMF lines replayed into CloudWatch), alarm evaluation and, through
``modelsteward.clock.set_clock``, the handlers' own notion of now (cooldowns, windows, audit
stamps), so everything moves together with ``advance``.

* frozen (tests, demo): ``now`` stays put until ``advance`` moves it, so evaluations are
  deterministic.
* running (``steward local up``): ``now`` is the real time plus whatever was advanced.
"""

from __future__ import annotations

import datetime as dt
import threading


def real_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SimulatedClock:
    def __init__(self, start: dt.datetime | None = None, *, frozen: bool = True) -> None:
        begin = start or real_now()
        self._frozen = frozen
        self._start = begin if begin.tzinfo else begin.replace(tzinfo=dt.UTC)
        self._offset = self._start - real_now()
        self._lock = threading.Lock()

    @property
    def frozen(self) -> bool:
        return self._frozen

    def now(self) -> dt.datetime:
        with self._lock:
            return self._start if self._frozen else real_now() + self._offset

    def advance(self, *, minutes: float = 0.0, seconds: float = 0.0, hours: float = 0.0) -> dt.datetime:
        """Move time forward (never backward) and return the new ``now``."""
        step = dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)
        if step < dt.timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._start += step
            self._offset += step
        return self.now()

    def simulated(self, real_moment: dt.datetime) -> dt.datetime:
        """Map a real timestamp (e.g. an EMF line's) to simulated time, never past ``now``."""
        moment = real_moment if real_moment.tzinfo else real_moment.replace(tzinfo=dt.UTC)
        current = self.now()
        if self._frozen:
            return min(current, moment + (current - real_now()))
        return min(current, moment + self._offset)

"""The suite's one time source.

Everything that stamps or compares times (audit records, cooldowns, windows, registry decisions)
calls ``utcnow()``. The local cloud points it at its simulated clock so a demo or test can let
hours pass in seconds; in Lambda it is the wall clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

_override: Callable[[], dt.datetime] | None = None


def utcnow() -> dt.datetime:
    return _override() if _override is not None else dt.datetime.now(dt.UTC)


def set_clock(source: Callable[[], dt.datetime] | None) -> None:
    """Use ``source`` as the time of the suite (None restores the wall clock)."""
    global _override
    _override = source

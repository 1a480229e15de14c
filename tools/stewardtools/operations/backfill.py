"""Backfill: window results for any past range, from the stored batch profiles (never raw data).

``steward backfill MODEL --since ISO --until ISO [--window day]`` walks every window of the range
through the same check the hourly schedule runs (services.check_window), writes each window's
report and records ``window.checked``. It emits no CloudWatch metric (a metric for a past window
would land at today's timestamp) and sends no email (a backfill is looked at, not alarmed on).
Months take seconds: one listing of the batch index, then only the profiles of each window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from modelsteward.domain.window import Window, WindowKind, windows_between
from modelsteward.services.batch_index import BatchIndex
from modelsteward.services.check_window import check_model_window
from modelsteward.services.context import Context
from modelsteward.services.specs import load_spec

MAX_WINDOWS = 5000  # a typo in --since must not start a week-long loop


def backfill(
    ctx: Context,
    model: str,
    *,
    since: dt.datetime,
    until: dt.datetime,
    window: WindowKind | None = None,
    progress: Callable[[int, int, Window, dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Check every ``window`` (default: the spec's) from the one containing ``since`` to ``until``."""
    from modelsteward.errors import InvalidInput

    spec, _ = load_spec(ctx, model)
    kind: WindowKind = window or spec.window
    windows = windows_between(since, until, kind)
    if len(windows) > MAX_WINDOWS:
        raise InvalidInput(
            f"{len(windows)} {kind} windows between {since.date()} and {until.date()}: at most {MAX_WINDOWS} "
            "per run; use a larger --window or a shorter range",
            code="too_many_windows",
        )
    entries = BatchIndex(ctx, ctx.settings.artifacts_bucket, model).sync(write=True)
    now = ctx.clock()
    results = []
    for i, current in enumerate(windows, start=1):
        result = check_model_window(ctx, spec, entries, current, now=now, emit_metrics=False, notify=False)
        results.append(result)
        if progress is not None:
            progress(i, len(windows), current, result)
    return results

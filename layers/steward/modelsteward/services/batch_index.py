"""The batch index: one empty marker per accepted batch whose *name* says when and how big it was.

    reports/<model>/_index/<YYYY-MM-DD>/<created>~<event>~<rows>~<batch_id>

``created`` is when monitor_batch wrote the report (``YYYYmmddTHHMMSSZ``; the folder is its day),
``event`` the newest timestamp in the batch's rows (or ``-`` without a timestamp column), ``rows``
the accepted rows. One listing of ``_index/`` therefore answers "which batches fall in this
window", "how many rows did the previous windows have" and "when did the last batch arrive"
without reading a single report; only the profiles of the window being checked are read.

Who writes markers: :func:`record_batch` (for monitor_batch to call after its report.json), and
:meth:`BatchIndex.sync`, which indexes every batch that has a report.json but no marker yet (one
read of its report, once). So the index is complete whichever runs first, and a missing marker
never hides a batch. The markers are tiny JSON bodies too, for a person browsing the bucket.
Reports are read with their model (domain.report.BatchReport); one that does not parse is skipped
with a warning, as an unreadable one always was.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .. import layout
from ..domain.window import BatchTimes
from ..errors import NotFound
from ..ports import ObjectRef
from .context import Context

if TYPE_CHECKING:  # parsed on first read: handle_alarm imports this module on every cold start
    from ..domain.report import BatchReport

log = logging.getLogger(__name__)

SEP = "~"
_STAMP = "%Y%m%dT%H%M%SZ"
REPORT_FILE = "report.json"
PROFILE_FILE = "profile.json"


def _utc(moment: dt.datetime) -> dt.datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def parse_time(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        return _utc(dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None


def entry_name(times: BatchTimes) -> str:
    event = _utc(times.event_time).strftime(_STAMP) if times.event_time else "-"
    return SEP.join((_utc(times.created_at).strftime(_STAMP), event, str(int(times.rows)), times.batch_id))


def entry_key(model: str, times: BatchTimes) -> str:
    return layout.batch_index_key(model, _utc(times.created_at).strftime("%Y-%m-%d"), entry_name(times))


def parse_entry(key: str) -> BatchTimes | None:
    """The marker's times, or None for a key that is not a marker (never fatal)."""
    name = key.rsplit("/", 1)[-1]
    parts = name.split(SEP, 3)
    if len(parts) != 4:
        return None
    created, event, rows, batch_id = parts
    try:
        return BatchTimes(
            batch_id=batch_id,
            created_at=dt.datetime.strptime(created, _STAMP).replace(tzinfo=dt.UTC),
            event_time=None if event == "-" else dt.datetime.strptime(event, _STAMP).replace(tzinfo=dt.UTC),
            rows=int(rows),
        )
    except ValueError:
        return None


def times_of_report(report: BatchReport) -> BatchTimes | None:
    """Index times from a batch report; None if its created_at is not a time."""
    created = parse_time(report.created_at)
    if created is None or not report.batch_id:
        return None
    return BatchTimes(
        batch_id=report.batch_id,
        created_at=created,
        event_time=parse_time(report.time_max),
        rows=report.rows,
    )


def report_key(model: str, batch_id: str) -> str:
    return layout.batch_report_prefix(model, batch_id) + REPORT_FILE


def profile_key(model: str, batch_id: str) -> str:
    return layout.batch_report_prefix(model, batch_id) + PROFILE_FILE


def record_batch(ctx: Context, report: BatchReport, *, bucket: str | None = None) -> ObjectRef | None:
    """Write the marker of an accepted batch (monitor_batch calls this after report.json).
    Returns the marker's ref (None when the report's created_at is not a time)."""
    times = times_of_report(report)
    if times is None:
        return None
    return write_marker(ctx, report.model, times, verdict=report.verdict, bucket=bucket)


def write_marker(
    ctx: Context, model: str, times: BatchTimes, *, verdict: str | None, bucket: str | None = None
) -> ObjectRef:
    """The marker itself: its name carries ``times``; its small body repeats them for a person."""
    target = bucket or ctx.settings.artifacts_bucket
    body = {
        "batch_id": times.batch_id,
        "created_at": times.created_at.isoformat(),
        "event_time": times.event_time.isoformat() if times.event_time else None,
        "rows": times.rows,
        "verdict": verdict,
        "report": layout.s3_uri(target, report_key(model, times.batch_id)),
    }
    return ctx.store.put(
        target, entry_key(model, times), json.dumps(body).encode(), content_type="application/json"
    )


def forget_marker(ctx: Context, report: BatchReport, *, keep: str | None = None) -> str | None:
    """Delete the marker a previous report of a batch wrote (its version was superseded); returns
    the key deleted, None if that report had no marker or it is ``keep``."""
    times = times_of_report(report)
    if times is None:
        return None
    key = entry_key(report.model, times)
    if key == keep:
        return None
    try:
        ctx.store.delete(ctx.settings.artifacts_bucket, key)
    except NotFound:
        return None
    return key


class BatchIndex:
    """The index of one model in one bucket."""

    def __init__(self, ctx: Context, bucket: str, model: str) -> None:
        self.ctx = ctx
        self.bucket = bucket
        self.model = model

    def entries(self) -> list[BatchTimes]:
        """Every indexed batch (one listing; the newest marker wins if a batch was indexed twice)."""
        found: dict[str, BatchTimes] = {}
        for key in self.ctx.store.list_keys(self.bucket, layout.batch_index_prefix(self.model)):
            times = parse_entry(key)
            if times is not None:
                previous = found.get(times.batch_id)
                if previous is None or times.created_at >= previous.created_at:
                    found[times.batch_id] = times
        return sorted(found.values(), key=lambda t: (t.created_at, t.batch_id))

    def reported_batches(self) -> list[str]:
        """Batch ids with a report.json (written last by monitor_batch: the batch is complete)."""
        prefix = f"reports/{self.model}/batches/"
        ids = []
        for key in self.ctx.store.list_keys(self.bucket, prefix):
            rest = key[len(prefix) :]
            batch_id, _, name = rest.partition("/")
            if name == REPORT_FILE and batch_id:
                ids.append(batch_id)
        return sorted(set(ids))

    def sync(self, *, write: bool = True, max_reads: int | None = None) -> list[BatchTimes]:
        """Every accepted batch: indexed ones from the listing, the others from their report.json.

        ``write`` adds the missing markers (check_window; handle_alarm only reads). ``max_reads``
        bounds the reports read in one call (a light function's time budget); None = no bound.
        """
        indexed = {t.batch_id: t for t in self.entries()}
        missing = [b for b in self.reported_batches() if b not in indexed]
        if max_reads is not None and len(missing) > max_reads:
            log.warning(
                "batch index of %s: %d batches unindexed, reading the last %d",
                self.model,
                len(missing),
                max_reads,
            )
            missing = missing[-max_reads:]
        for batch_id in missing:
            report = self.read_report(batch_id)
            times = times_of_report(report) if report is not None else None
            if report is None or times is None:
                continue
            indexed[batch_id] = times
            if write:
                record_batch(self.ctx, report, bucket=self.bucket)
        return sorted(indexed.values(), key=lambda t: (t.created_at, t.batch_id))

    def read_report(self, batch_id: str) -> BatchReport | None:
        """The batch's report.json parsed with its model; None when absent or unreadable."""
        found = self.report_and_ref(batch_id)
        return found[0] if found is not None else None

    def report_and_ref(self, batch_id: str) -> tuple[BatchReport, ObjectRef] | None:
        """The report and the exact object version it was read from (for lineage and audit)."""
        from ..domain.report import BatchReport

        try:
            obj = self.ctx.store.get(self.bucket, report_key(self.model, batch_id))
        except NotFound:
            return None
        try:
            return BatchReport.from_json(obj.body), obj.ref
        except ValidationError as exc:  # not JSON, or a report of another schema
            log.warning(
                "unreadable report %s of %s: %d problem(s), first at %s",
                batch_id,
                self.model,
                exc.error_count(),
                ".".join(str(p) for p in exc.errors()[0]["loc"]) if exc.errors() else "?",
            )
            return None


def window_batches(entries: Iterable[BatchTimes], batch_ids: Iterable[str]) -> list[BatchTimes]:
    wanted = set(batch_ids)
    return [e for e in entries if e.batch_id in wanted]

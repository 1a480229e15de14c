"""check_window: merge the batch profiles of a window, test drift on the merge, check volume and freshness.

Requests (functions/check_window):

* ``{"action": "check_window"}`` - the hourly schedule: for every model with a spec, the last
  complete window of its ``spec.window`` (hour, day or ISO week, UTC) and the one before it (late
  batches), plus freshness (hours since the newest accepted batch);
* ``{"action": "check_window", "model": m, "window": "day", "start": ISO}`` - one window of one model
  (a window that has not ended yet is checked as ``partial``).

Which batches: the batch index (services.batch_index) lists every accepted batch with its event
time and rows, from one S3 listing; a batch belongs to the window containing its event time
(domain.window). Only the profiles of that window's batches are read, never raw data. Profiles
made against another baseline (the champion changed mid-window) are skipped and named.

Outputs per window: ``reports/<model>/windows/<window>/<start>/report.json`` + ``report.html``,
metrics ``WindowDriftedFeatureShare`` and ``WindowRows`` (latest window only), an audit record
``window.checked``, and an email when the merged window drifts or its volume dropped - unless a
drift alarm of the model is already in ALARM (its email said it) or this window was already
reported with drift. Idempotent per (model, window, start, batches, baseline, spec): a repeated
tick re-uses the stored result; a late batch changes the key and the window is recomputed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import layout, metric_names
from ..domain.alert_policy import RETRAIN_GROUPS, episodes_of, parse_time
from ..domain.assessment_record import DriftResult
from ..domain.baseline import Baseline, spec_fingerprint
from ..domain.drift import detect_drift
from ..domain.email import FeatureScore, WindowFacts, window_email
from ..domain.episodes import iso
from ..domain.profile import Profile, merge_profiles
from ..domain.window import (
    VOLUME_HISTORY,
    BatchTimes,
    Finding,
    Window,
    WindowKind,
    hours_since,
    in_window,
    last_complete,
    newest,
    parse_kind,
    parse_moment,
    volume_check,
    window_at,
)
from ..domain.window_report import SkippedBatch, WindowLineage, WindowReport, WindowSpan, window_verdict
from ..errors import InvalidInput, NotFound
from ..idempotency import run_once
from ..ports import ObjectRef
from ..spec import ModelSpec
from .batch_index import BatchIndex, profile_key
from .context import Context
from .episodes import episode_book, observation, observe_batch
from .pages import write_page
from .specs import load_spec
from .timeline import write_timeline

log = logging.getLogger(__name__)

FUNCTION = "check_window"
LATE_WINDOWS = 1  # the scheduled run re-checks this many windows before the last complete one
MAX_LINEAGE_INPUTS = 200  # profiles listed in the audit record (the report lists every batch id)
_MODEL = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_SPEC_KEY = re.compile(r"^specs/([a-z0-9][a-z0-9-]{0,62})/spec\.yaml$")


@dataclass(frozen=True)
class WindowRequest:
    model: str | None = None
    window: WindowKind | None = None
    start: dt.datetime | None = None


def parse_request(event: Mapping[str, Any]) -> WindowRequest:
    """The schedule payload or an explicit request; InvalidInput names the bad field."""
    if event.get("action") != "check_window":
        raise InvalidInput(
            f"check_window expects {{'action': 'check_window'}}, got action {event.get('action')!r}",
            code="bad_event",
        )
    model = event.get("model")
    if model is not None and not (isinstance(model, str) and _MODEL.fullmatch(model)):
        raise InvalidInput(f"model {model!r} is not a model name", code="bad_event")
    window = parse_kind(event.get("window"), "day") if event.get("window") else None
    start = parse_moment(event["start"], "start") if event.get("start") else None
    return WindowRequest(model=model, window=window, start=start)


def models_with_specs(ctx: Context) -> list[str]:
    found = (_SPEC_KEY.match(k) for k in ctx.store.list_keys(ctx.settings.data_bucket, "specs/"))
    return sorted({m.group(1) for m in found if m})


# --- the use case ------------------------------------------------------------------------------
def check_window(ctx: Context, request: WindowRequest) -> dict[str, Any]:
    """Check the requested (or the scheduled) windows of one or every model."""
    now = ctx.clock()
    models = [request.model] if request.model else models_with_specs(ctx)
    windows: list[dict[str, Any]] = []
    freshness: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for model in models:
        try:
            spec, _ = load_spec(ctx, model)
            entries = BatchIndex(ctx, ctx.settings.artifacts_bucket, model).sync(write=True)
            if request.start is None:
                freshness[model] = report_freshness(ctx, spec, entries, now)
            for window, latest in scheduled_windows(request, spec, now):
                windows.append(check_model_window(ctx, spec, entries, window, now=now, emit_metrics=latest))
            since = now - dt.timedelta(days=spec.retrain.training_window_days)  # evaluate_labels' window
            write_timeline(ctx, model, entries, labels_since=since)
        except InvalidInput as exc:  # no spec, bad spec, no baseline: say so, check the others
            skipped[model] = exc.message
            log.warning("check_window skipped %s: %s", model, exc.message)
    return {"status": "checked", "windows": windows, "freshness": freshness, "skipped": skipped}


def scheduled_windows(request: WindowRequest, spec: ModelSpec, now: dt.datetime) -> list[tuple[Window, bool]]:
    """(window, is the latest) pairs: the requested window, or the last complete ones."""
    kind: WindowKind = request.window or spec.window
    if request.start is not None:
        return [(window_at(request.start, kind), True)]
    latest = last_complete(now, kind)
    earlier = [latest.previous(i) for i in range(LATE_WINDOWS, 0, -1)]
    return [(w, False) for w in earlier] + [(latest, True)]


def report_freshness(
    ctx: Context, spec: ModelSpec, entries: Sequence[BatchTimes], now: dt.datetime
) -> dict[str, Any]:
    """Hours since the newest accepted batch - or, for a feed never connected, since the suite first
    watched the model - as a metric, and as the freshness episode's observation of this tick: a
    stalled feed opens one episode (one email), the next accepted batch closes it (one recovery)."""
    last = newest(entries)
    limit = spec.governance.freshness_hours
    watched = episode_book(ctx, spec.name).get("freshness").first_seen
    since = last.created_at if last else parse_time(watched) or now
    hours = hours_since(now, since) or 0.0
    if last is not None:
        ctx.metrics.put(metric_names.HOURS_SINCE_LAST_BATCH, round(hours, 3), "None", {"model": spec.name})
    stale = hours >= limit
    tick = observation(
        ctx,
        f"freshness-check@{iso(now)}",
        breached=stale,
        value=round(hours, 2),
        threshold=limit,
        note="no batch accepted yet" if last is None else "",
    )
    observe_batch(ctx, spec.name, {"freshness": tick}, spec=spec)
    return {
        "last_batch_at": last.created_at.isoformat() if last else None,
        "hours_since_last_batch": round(hours, 2) if last else None,
        "hours_without_batch": round(hours, 2),
        "stale": stale,
        "limit_hours": limit,
    }


def check_model_window(
    ctx: Context,
    spec: ModelSpec,
    entries: Sequence[BatchTimes],
    window: Window,
    *,
    now: dt.datetime,
    emit_metrics: bool = True,
    notify: bool = True,
) -> dict[str, Any]:
    """One window of one model, exactly once per (window, batches, baseline, spec)."""
    from .monitor_batch import load_baseline  # the same baseline choice as monitor_batch

    baseline, baseline_ref, model_version = load_baseline(ctx, spec)
    chosen = in_window(entries, window)
    partial = window.end > now
    key = {
        "model": spec.name,
        "window": window.kind,
        "start": window.label,
        "batches": _digest(b.batch_id for b in chosen),
        "baseline": baseline.fingerprint,
        "spec": spec_fingerprint(spec),
        "partial": partial,
        "effects": f"metrics={emit_metrics},notify={notify}",  # a backfill never hides a scheduled email
    }

    def work() -> dict[str, Any]:
        return _check(
            ctx,
            spec,
            entries,
            chosen,
            window,
            baseline,
            baseline_ref,
            model_version,
            now=now,
            partial=partial,
            emit_metrics=emit_metrics,
            notify=notify,
        )

    return run_once(FUNCTION, key, work)


def _digest(ids: Any) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:32]


def volume_history(entries: Sequence[BatchTimes], window: Window) -> list[int]:
    """Rows of up to VOLUME_HISTORY previous windows, oldest first, never before the first batch."""
    if not entries:
        return []
    first = min(b.time for b in entries)
    history = []
    for i in range(VOLUME_HISTORY, 0, -1):
        earlier = window.previous(i)
        if earlier.end <= first:
            continue
        history.append(sum(b.rows for b in in_window(entries, earlier)))
    return history


OTHER_BASELINE = "profiled against another baseline (the champion changed since)"


def _load_profiles(
    ctx: Context, bucket: str, model: str, chosen: Sequence[BatchTimes], baseline: Baseline
) -> tuple[list[Profile], list[ObjectRef], list[SkippedBatch]]:
    profiles: list[Profile] = []
    refs: list[ObjectRef] = []
    skipped: list[SkippedBatch] = []
    for batch in chosen:
        try:
            obj = ctx.store.get(bucket, profile_key(model, batch.batch_id))
            profile = Profile.from_json(obj.body)
        except NotFound:
            skipped.append(SkippedBatch(batch_id=batch.batch_id, reason="profile.json is missing"))
            continue
        except ValueError as exc:
            reason = f"unreadable profile: {str(exc)[:120]}"
            skipped.append(SkippedBatch(batch_id=batch.batch_id, reason=reason))
            continue
        if profile.baseline_fingerprint != baseline.fingerprint:
            skipped.append(
                SkippedBatch(
                    batch_id=batch.batch_id,
                    reason=OTHER_BASELINE,
                )
            )
            continue
        profiles.append(profile)
        refs.append(obj.ref)
    return profiles, refs, skipped


# long: one window: merge its profiles, test drift and volume, build the report and its metrics
def _check(
    ctx: Context,
    spec: ModelSpec,
    entries: Sequence[BatchTimes],
    chosen: Sequence[BatchTimes],
    window: Window,
    baseline: Baseline,
    baseline_ref: ObjectRef,
    model_version: int | None,
    *,
    now: dt.datetime,
    partial: bool,
    emit_metrics: bool,
    notify: bool,
) -> dict[str, Any]:
    model = spec.name
    bucket = ctx.settings.artifacts_bucket
    profiles, refs, skipped = _load_profiles(ctx, bucket, model, chosen, baseline)
    merged = merge_profiles(profiles) if profiles else None
    drift: DriftResult | None = detect_drift(baseline, merged, spec.drift) if merged is not None else None
    window_rows = sum(b.rows for b in chosen)  # the feed's volume, whatever baseline profiled it
    volume, volume_finding = volume_check(window_rows, volume_history(entries, window))
    findings: list[Finding] = [f for f in (volume_finding,) if f is not None]
    if not chosen and volume_finding is None:
        findings.append(
            Finding(
                check="no_batches", severity="info", message="no accepted batch has its data in this window"
            )
        )
    other_baseline = sum(s.reason == OTHER_BASELINE for s in skipped)
    if other_baseline:
        findings.append(
            Finding(
                check="other_baseline",
                severity="info",
                message=f"{other_baseline} batch(es) were profiled against another baseline and are not part "
                "of the merged drift test",
            )
        )
    rows = merged.rows if merged is not None else 0
    report = WindowReport(
        model=model,
        model_version=model_version,
        window=WindowSpan(**window.as_dict()),
        created_at=now.isoformat(timespec="seconds"),
        partial=partial,
        batches=len(profiles),
        batch_ids=[b for p in profiles for b in p.batch_ids],
        rows=rows,
        time_min=merged.time_min if merged else None,
        time_max=merged.time_max if merged else None,
        verdict=window_verdict(drift, rows, other_baseline=other_baseline),
        dataset_drift=drift.dataset if drift else None,
        features=drift.features if drift else [],
        findings=findings,
        volume=volume,
        skipped_batches=skipped,
        lineage=WindowLineage(
            baseline=baseline_ref.as_dict(),
            profiles=[r.as_dict() for r in refs[:MAX_LINEAGE_INPUTS]],
            profiles_total=len(refs),
        ),
    )
    prefix = layout.window_report_prefix(model, window.kind, window.label)
    previous = _previous_report(ctx, bucket, prefix + "report.json")
    json_ref = ctx.store.put(
        bucket, prefix + "report.json", report.to_json(indent=2).encode(), content_type="application/json"
    )
    from ..reporting.batch import render_window_report  # the page's charts load only here

    html_ref, _ = write_page(
        ctx,
        bucket,
        prefix + "report.html",
        lambda: render_window_report(report),
        kind="window_report",
        subject=f"{model} {window.kind} {window.label}",
        record=json_ref,
        model=model,
        model_version=model_version,
    )
    share = drift.dataset.share if drift else None
    ctx.record(
        "window.checked",
        model=model,
        model_version=model_version,
        reason=f"{window.kind} {window.label}: verdict {report.verdict}",
        inputs=[baseline_ref.as_dict(), *[r.as_dict() for r in refs[:MAX_LINEAGE_INPUTS]]],
        outputs=[json_ref.as_dict(), html_ref.as_dict()],
        details={
            "function": FUNCTION,
            "window": window.as_dict(),
            "partial": partial,
            "batches": len(profiles),
            "rows": rows,
            "verdict": report.verdict,
            "drifted_feature_share": share,
            "drifted_features": drift.dataset.drifted_features if drift else [],
            "findings": [f.check for f in findings],
            "skipped_batches": len(skipped),
        },
    )
    if emit_metrics:
        dims = {"model": model}
        ctx.metrics.put(metric_names.WINDOW_ROWS, window_rows, "Count", dims)
        if share is not None:
            ctx.metrics.put(metric_names.WINDOW_DRIFTED_FEATURE_SHARE, share, "None", dims)
    emailed = False
    if notify and not partial:
        emailed = _notify(ctx, report, window, previous, json_ref, html_ref)
    return {
        "model": model,
        "window": window.kind,
        "start": window.label,
        "partial": partial,
        "batches": len(profiles),
        "rows": rows,
        "verdict": report.verdict,
        "drifted_feature_share": share,
        "findings": [f.check for f in findings],
        "report_uri": json_ref.uri,
        "emailed": emailed,
    }


def _previous_report(ctx: Context, bucket: str, key: str) -> WindowReport | None:
    """The window's report from the previous check, None when there is none or it does not parse."""
    try:
        return WindowReport.from_json(ctx.store.get(bucket, key).body)
    except NotFound:
        return None
    except ValueError:  # pydantic's ValidationError: a report of another schema
        log.warning("previous window report unreadable", extra={"key": key})
        return None


def _drift_alarm_open(ctx: Context, model: str) -> bool:
    if ctx.registry is None:
        return False
    state = ctx.registry.get_model_state(model)
    episodes = episodes_of(state).values()
    return any(ep.closed_at is None and RETRAIN_GROUPS.get(ep.signal) == "drift" for ep in episodes)


def _notify(
    ctx: Context,
    report: WindowReport,
    window: Window,
    previous: WindowReport | None,
    json_ref: ObjectRef,
    html_ref: ObjectRef,
) -> bool:
    """Email a drifted window (unless a drift alarm already told people) or a volume drop, once."""
    if ctx.notifier is None:
        return False
    said_before = {f.check for f in previous.findings} if previous is not None else set()
    drift_news = report.verdict == "drift" and (previous is None or previous.verdict != "drift")
    if drift_news and _drift_alarm_open(ctx, report.model):
        drift_news = False  # the data_drift alarm's email already covers it
    volume = [f for f in report.findings if f.check == "volume_drop" and f.check not in said_before]
    if not drift_news and not volume:
        return False
    scored = [f for f in report.features if f.score is not None and f.kind != "label"]
    features = sorted(scored, key=lambda f: (not f.drifted, -(f.score or 0.0)))
    facts = WindowFacts(
        model=report.model,
        window_kind=window.kind,
        window_start=window.start,
        window_end=window.end,
        verdict=report.verdict,
        drift_news=drift_news,
        batches=report.batches,
        rows=report.rows,
        json_uri=json_ref.uri,
        html_uri=html_ref.uri,
        drifted_share=report.dataset_drift.share if report.dataset_drift else None,
        share_threshold=report.dataset_drift.threshold if report.dataset_drift else None,
        features=[FeatureScore(f.name, f.method, f.score, f.threshold, f.severity, f.kind) for f in features],
        findings=[f.message for f in volume],
    )
    title, body = window_email(facts)
    ctx.notifier.publish(title, body, {"model": report.model, "kind": "window"})
    return True

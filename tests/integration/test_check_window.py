"""check_window on moto: merged profiles catch slow drift no batch shows; volume, freshness, backfill."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import pytest
from alerting_fixtures import MODEL, T0, World, frame, load_handler, make_world

from modelsteward import layout, metric_names
from modelsteward.domain.window import BatchTimes
from modelsteward.errors import InvalidInput
from modelsteward.reporting import kit
from modelsteward.services.batch_index import BatchIndex, entry_key, write_marker
from modelsteward.services.check_window import WindowRequest, check_window, parse_request

if TYPE_CHECKING:
    from conftest import Cloud, FakeLambdaContext

DAY = dt.timedelta(days=1)


@pytest.fixture
def world(aws: Cloud) -> World:
    return make_world(aws)


def slow_drift(world: World, day: dt.datetime, batches: int = 20, rows: int = 60, shift: float = 0.8) -> None:
    """Small batches spread over ``day``, the population moving a little more in each."""
    for i in range(batches):
        start = day + dt.timedelta(hours=i * 24 / batches)
        step = shift * (i + 1) / batches * 2  # ends at 2*shift: the day's average is about ``shift``
        world.monitor(
            frame(rows, seed=1000 + i + int(day.timestamp()) % 997, shift=step, start=start),
            f"{day:%Y%m%d}-{i:02d}",
            at=start + dt.timedelta(hours=1),
        )


def window_report(world: World, start: str, kind: str = "day") -> dict[str, Any]:
    report: dict[str, Any] = world.aws.get_json(
        layout.window_report_prefix(MODEL, kind, start) + "report.json"
    )
    return report


def test_slow_drift_that_no_single_batch_shows_is_caught_by_the_merged_window(world: World) -> None:
    slow_drift(world, T0)
    for batch_id in world.batches:  # each batch alone: too few rows for any test
        report = world.report(batch_id)
        assert report["verdict"] == "ok"
        assert {f["severity"] for f in report["features"]} == {"insufficient_data"}

    summary = check_window(world.ctx, WindowRequest())  # clock: T0 + 1 day 1 h -> last complete day is T0
    latest = summary["windows"][-1]
    assert (latest["start"], latest["verdict"], latest["batches"], latest["rows"]) == (
        "2026-03-03",
        "drift",
        20,
        1200,
    )

    report = window_report(world, "2026-03-03")
    assert report["window"] == {
        "kind": "day",
        "start": "2026-03-03T00:00:00+00:00",
        "end": "2026-03-04T00:00:00+00:00",
    }
    assert report["dataset_drift"]["drifted"] and {"tenure", "spend"} <= set(
        report["dataset_drift"]["drifted_features"]
    )
    assert sorted(report["batch_ids"]) == sorted(world.batches)
    assert len(report["lineage"]["profiles"]) == 20
    html = world.aws.s3.get_object(
        Bucket=world.ctx.settings.artifacts_bucket,
        Key=layout.window_report_prefix(MODEL, "day", "2026-03-03") + "report.html",
    )
    assert b"Window drift" in html["Body"].read()

    ((share, dims),) = world.metrics(metric_names.WINDOW_DRIFTED_FEATURE_SHARE)
    assert share == pytest.approx(report["dataset_drift"]["share"]) and dims == {"model": MODEL}
    assert world.metrics(metric_names.WINDOW_ROWS) == [(1200.0, {"model": MODEL})]
    checked = [r for r in world.ctx.audit.records() if r["action"] == "window.checked"]
    assert [r["details"]["window"]["start"][:10] for r in checked] == ["2026-03-02", "2026-03-03"]
    assert checked[-1]["details"]["verdict"] == "drift"

    ((subject, body, _),) = world.notifier.messages
    assert subject == f"[model-steward] {MODEL}: window drift (day 2026-03-03)"
    assert "(20 batches, 1200 rows merged) has verdict drift" in body
    assert "window report (JSON): s3://" in body


def test_the_window_page_is_drawn_from_its_parsed_record_or_is_a_recorded_notice(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """report.json parses back into WindowReport and draws the stored page; a renderer bug leaves
    report.json, the email and the audit record intact, writes the notice and records page.failed."""
    import re

    import modelsteward.reporting.batch as batch_page
    from modelsteward.domain.window_report import WindowReport

    slow_drift(world, T0)
    check_window(world.ctx, WindowRequest())
    bucket, prefix = (
        world.ctx.settings.artifacts_bucket,
        layout.window_report_prefix(MODEL, "day", "2026-03-03"),
    )

    def stored(name: str) -> str:
        return str(world.aws.s3.get_object(Bucket=bucket, Key=prefix + name)["Body"].read().decode())

    report = WindowReport.from_json(stored("report.json"))
    assert report.to_json(indent=2) == stored("report.json")
    generated = re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")
    assert generated.sub("", batch_page.render_window_report(report)) == generated.sub(
        "", stored("report.html")
    )

    def broken(report: WindowReport) -> str:
        raise RuntimeError("no")

    monkeypatch.setattr(batch_page, "render_window_report", broken)
    world.clock.now += dt.timedelta(hours=1)
    world.monitor(frame(60, seed=5, shift=1.6, start=T0 + dt.timedelta(hours=23)), "late")  # recomputes T0
    summary = check_window(world.ctx, WindowRequest())
    assert summary["windows"][-1]["batches"] == 21
    assert WindowReport.from_json(stored("report.json")).batches == 21
    assert "could not be drawn (RuntimeError in modelsteward/services/check_window.py:" in stored(
        "report.html"
    )
    (failed,) = [r for r in world.ctx.audit.records() if r["action"] == "page.failed"]
    assert failed["details"]["page"] == "window_report" and failed["model"] == MODEL
    assert world.audit_actions[-2:] == ["page.failed", "window.checked"]


def test_a_repeated_tick_changes_nothing_and_a_late_batch_recomputes(world: World) -> None:
    slow_drift(world, T0, batches=10, rows=60)
    first = check_window(world.ctx, WindowRequest())
    audit_before = len(world.audit_actions)
    again = check_window(world.ctx, WindowRequest())
    assert again["windows"] == first["windows"]
    assert len(world.audit_actions) == audit_before, "the stored result is reused: nothing recorded twice"
    assert len(world.notifier.messages) == 1

    world.monitor(
        frame(60, seed=77, shift=1.6, start=T0 + dt.timedelta(hours=23)),
        "late",
        at=T0 + DAY + dt.timedelta(hours=2),
    )
    world.clock.now = T0 + DAY + dt.timedelta(hours=3)
    late = check_window(world.ctx, WindowRequest())["windows"][-1]
    assert (late["batches"], late["rows"]) == (11, 660)
    assert len(world.notifier.messages) == 1, "the window had drift already: no second email"


def test_a_healthy_window_is_ok_and_emails_nobody(world: World) -> None:
    for i in range(12):
        start = T0 + dt.timedelta(hours=2 * i)
        world.monitor(
            frame(60, seed=300 + i, start=start), f"healthy-{i}", at=start + dt.timedelta(minutes=5)
        )
    latest = check_window(world.ctx, WindowRequest())["windows"][-1]
    assert (latest["verdict"], latest["rows"], latest["findings"]) == ("ok", 720, [])
    assert world.notifier.messages == []


def test_a_volume_drop_against_previous_days_is_a_finding_and_an_email(world: World) -> None:
    index = BatchIndex(world.ctx, world.ctx.settings.artifacts_bucket, MODEL)
    for days_back in range(1, 8):  # a week of ~1000 rows a day (index markers: only rows are needed)
        day = T0 - days_back * DAY
        times = BatchTimes(
            batch_id=f"hist-{days_back}",
            created_at=day + dt.timedelta(hours=12),
            event_time=day + dt.timedelta(hours=11),
            rows=1000,
        )
        write_marker(world.ctx, MODEL, times, verdict=None)
    world.monitor(frame(120, seed=5, start=T0 + dt.timedelta(hours=3)), "thin", at=T0 + dt.timedelta(hours=4))
    assert len(index.sync(write=False)) == 8 and len(index.entries()) == 8  # monitor_batch indexed today's
    latest = check_window(world.ctx, WindowRequest())["windows"][-1]
    assert latest["findings"] == ["volume_drop"]
    report = window_report(world, "2026-03-03")
    assert report["volume"]["median"] == 1000 and report["volume"]["ratio"] == pytest.approx(0.12)
    ((subject, body, _),) = world.notifier.messages
    assert subject == f"[model-steward] {MODEL}: window findings (day 2026-03-03)"
    assert "120 rows in this window, 12% of the median of the previous 7 windows" in body


def test_freshness_is_the_hours_since_the_newest_accepted_batch(world: World) -> None:
    world.monitor(frame(50, seed=9, start=T0), "one", at=T0 + dt.timedelta(hours=2))
    world.clock.now = T0 + dt.timedelta(hours=32)
    summary = check_window(world.ctx, WindowRequest())
    fresh = summary["freshness"][MODEL]
    assert (fresh["hours_since_last_batch"], fresh["stale"], fresh["limit_hours"]) == (30.0, True, 24)
    assert world.metrics(metric_names.HOURS_SINCE_LAST_BATCH) == [(30.0, {"model": MODEL})]


def test_batches_monitored_before_the_index_existed_are_indexed_once(world: World) -> None:
    world.monitor(frame(50, seed=11, start=T0), "a", at=T0 + dt.timedelta(hours=1))
    index = BatchIndex(world.ctx, world.ctx.settings.artifacts_bucket, MODEL)
    written = index.entries()
    assert len(written) == 1, "monitor_batch indexes each accepted batch"
    # a batch monitored before the index existed: its marker is missing, sync restores it
    bucket = world.ctx.settings.artifacts_bucket
    world.ctx.store.s3.delete_object(Bucket=bucket, Key=entry_key(MODEL, written[0]))
    assert index.entries() == []
    entries = index.sync(write=True)
    assert [(e.batch_id, e.rows, e.event_time) for e in entries] == [
        (world.batches[0], 50, T0 + dt.timedelta(minutes=49))
    ]
    key = entry_key(MODEL, entries[0])
    marker = world.aws.get_json(key)
    assert marker["rows"] == 50 and marker["report"].endswith("/report.json")
    assert index.entries() == entries


def test_profiles_of_another_baseline_are_skipped_and_named(world: World) -> None:
    world.monitor(
        frame(150, seed=12, start=T0 + dt.timedelta(hours=1)), "kept", at=T0 + dt.timedelta(hours=2)
    )
    other = world.monitor(
        frame(150, seed=13, start=T0 + dt.timedelta(hours=3)), "other", at=T0 + dt.timedelta(hours=4)
    )
    key = layout.batch_report_prefix(MODEL, other["batch_id"]) + "profile.json"
    profile = world.aws.get_json(key)
    profile["baseline_fingerprint"] = "0" * 64
    world.aws.put(key, json.dumps(profile).encode(), bucket=world.ctx.settings.artifacts_bucket)
    latest = check_window(world.ctx, WindowRequest())["windows"][-1]
    assert (latest["batches"], latest["rows"]) == (1, 150)
    assert "other_baseline" in latest["findings"]
    report = window_report(world, "2026-03-03")
    assert report["skipped_batches"] == [
        {
            "batch_id": other["batch_id"],
            "reason": "profiled against another baseline (the champion changed since)",
        }
    ]


def test_a_window_whose_batches_all_met_another_baseline_says_so(world: World) -> None:
    hour = dt.timedelta(hours=1)
    only = world.monitor(frame(150, seed=14, start=T0 + hour), "old", at=T0 + 2 * hour)
    key = layout.batch_report_prefix(MODEL, only["batch_id"]) + "profile.json"
    profile = world.aws.get_json(key)
    profile["baseline_fingerprint"] = "0" * 64  # as when the champion changes after the batch
    world.aws.put(key, json.dumps(profile).encode(), bucket=world.ctx.settings.artifacts_bucket)
    latest = check_window(world.ctx, WindowRequest())["windows"][-1]
    assert (latest["verdict"], latest["batches"], latest["rows"]) == ("not_assessed", 0, 0)
    html = (
        world.aws.s3.get_object(
            Bucket=world.ctx.settings.artifacts_bucket,
            Key=layout.window_report_prefix(MODEL, "day", "2026-03-03") + "report.html",
        )["Body"]
        .read()
        .decode()
    )
    assert "Not assessed: every batch was profiled against another baseline" in html and "no_data" not in html
    assert "tested, of 150 received" in html  # the Rows tile no longer reads as an empty feed


def test_an_explicit_window_of_today_is_partial_and_never_emails(world: World) -> None:
    slow_drift(world, T0 + DAY, batches=10, rows=60)
    world.clock.now = T0 + DAY + dt.timedelta(hours=20)
    request = parse_request(
        {"action": "check_window", "model": MODEL, "window": "day", "start": "2026-03-04"}
    )
    (result,) = check_window(world.ctx, request)["windows"]
    assert (result["start"], result["partial"], result["verdict"]) == ("2026-03-04", True, "drift")
    assert world.notifier.messages == []


def test_models_without_a_spec_or_baseline_are_skipped_with_the_reason(world: World) -> None:
    world.aws.put(
        layout.spec_key("no-baseline"),
        json.dumps(
            {"name": "no-baseline", "task": "binary", "target": "y", "features": {"numeric": ["x"]}}
        ).encode(),
    )
    summary = check_window(world.ctx, WindowRequest())
    assert "no baseline for model 'no-baseline'" in summary["skipped"]["no-baseline"]
    assert MODEL not in summary["skipped"]
    assert "no spec" in check_window(world.ctx, WindowRequest(model="ghost"))["skipped"]["ghost"]


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        ({"action": "run_audit"}, "expects"),
        ({"action": "check_window", "window": "month"}, "month"),
        ({"action": "check_window", "start": "soon"}, "soon"),
        ({"action": "check_window", "model": "Bad Name"}, "Bad"),
    ],
)
def test_bad_requests_are_refused_with_the_reason(event: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        parse_request(event)


def test_the_handler_runs_the_schedule_and_flushes_metrics(
    world: World, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    slow_drift(world, T0, batches=4, rows=60)
    handler = load_handler("check_window")
    result = handler(
        {"action": "check_window", "model": MODEL, "window": "day", "start": "2026-03-03"}, lambda_context
    )
    assert result["ok"] and result["windows"][0]["rows"] == 240
    assert '"WindowRows"' in capsys.readouterr().out, "EMF line printed"
    assert handler({"action": "nope"}, lambda_context) == {
        "ok": False,
        "error": "bad_event",
        "message": "check_window expects {'action': 'check_window'}, got action 'nope'",
    }


def test_backfill_walks_every_window_without_metrics_or_email(world: World) -> None:
    from stewardtools.operations.backfill import backfill

    for d in range(3):
        slow_drift(world, T0 + d * DAY, batches=4, rows=60, shift=0.0 if d < 2 else 1.5)
    world.clock.now = T0 + 10 * DAY
    world.ctx.metrics.points.clear()  # monitor_batch's
    seen: list[tuple[int, int, str]] = []
    results = backfill(
        world.ctx,
        MODEL,
        since=T0 - DAY,
        until=T0 + 3 * DAY,
        window="day",
        progress=lambda i, n, w, r: seen.append((i, n, w.label)),
    )
    assert seen == [(1, 4, "2026-03-02"), (2, 4, "2026-03-03"), (3, 4, "2026-03-04"), (4, 4, "2026-03-05")]
    assert [(r["rows"], r["verdict"]) for r in results] == [
        (0, "no_data"),
        (240, "ok"),
        (240, "ok"),
        (240, "drift"),
    ]
    assert world.ctx.metrics.points == [] and world.notifier.messages == []
    assert window_report(world, "2026-03-05")["verdict"] == "drift"
    weeks = backfill(world.ctx, MODEL, since=T0, until=T0 + 3 * DAY, window="week")
    assert [(r["start"], r["rows"]) for r in weeks] == [("2026-03-02", 720)]


def test_steward_backfill_prints_one_line_per_window_and_exits_1_on_drift(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from stewardtools.cli.main import main

    slow_drift(world, T0, batches=4, rows=60, shift=1.5)
    code = main(["backfill", MODEL, "--since", "2026-03-02", "--until", "2026-03-04", "--stack", ""])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[0].startswith("[1/2] 2026-03-02") and "verdict no_data" in lines[0]
    assert lines[1].startswith("[2/2] 2026-03-03") and "rows      240" in lines[1]
    assert "verdict drift" in lines[1]
    assert lines[2] == (
        f"2 windows checked: 1 drifted, 1 with drift or findings; reports under reports/{MODEL}/windows/"
    )
    assert main(["backfill", MODEL, "--since", "2026-03-04", "--until", "2026-03-02", "--stack", ""]) == 2
    assert "must be after" in capsys.readouterr().err


def test_the_timeline_is_a_typed_record_written_and_read_by_the_same_code(world: World) -> None:
    """check_window draws reports/<model>/timeline.html from a DriftTimeline it keeps in timeline.json:
    the points of real monitor_batch reports, the raw score beside the noise-corrected one, nothing
    rewritten on a repeated tick, and a timeline.json of the untyped version still read (its points
    kept, not re-read from the reports)."""
    from modelsteward.domain.timeline import DriftTimeline
    from modelsteward.services.timeline import timeline_key, timeline_points_key

    for i in range(3):
        start = T0 + dt.timedelta(hours=4 * i)
        world.monitor(frame(400, seed=500 + i, start=start), f"tl-{i}", at=start + dt.timedelta(minutes=5))
    check_window(world.ctx, WindowRequest())
    bucket = world.ctx.settings.artifacts_bucket

    def read(key: str) -> bytes:
        return bytes(world.aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    stored = read(timeline_points_key(MODEL))
    assert json.loads(stored)["schema_version"] == "1"
    timeline = DriftTimeline.model_validate_json(stored)
    assert timeline.model == MODEL and [p.batch_id for p in timeline.points] == list(world.batches)
    latest = timeline.points[-1]
    report = world.report(latest.batch_id)
    by_name = {f["name"]: f for f in report["features"]}
    for feature in latest.features:
        assert feature.raw_score == by_name[feature.name]["raw_score"] is not None
        assert feature.score == by_name[feature.name]["score"]
    page = read(timeline_key(MODEL)).decode()
    assert f"raw {kit.fmt_number(latest.features[0].raw_score)}" in page

    versions = world.aws.s3.list_object_versions(Bucket=bucket, Prefix=f"reports/{MODEL}/timeline.")
    check_window(world.ctx, WindowRequest())  # nothing new: nothing rewritten
    again = world.aws.s3.list_object_versions(Bucket=bucket, Prefix=f"reports/{MODEL}/timeline.")
    assert len(again["Versions"]) == len(versions["Versions"])

    # the list of points the untyped version wrote: read as points, one of them marked to show it is
    # reused rather than re-read from its report
    legacy = [p.model_dump(mode="json", exclude_unset=True) for p in timeline.points]
    legacy[0]["verdict"] = "quality"
    world.aws.s3.put_object(Bucket=bucket, Key=timeline_points_key(MODEL), Body=json.dumps(legacy).encode())
    world.monitor(
        frame(400, seed=599, start=T0 + dt.timedelta(hours=13)), "tl-new", at=T0 + dt.timedelta(hours=14)
    )
    check_window(world.ctx, WindowRequest())
    redrawn = DriftTimeline.model_validate_json(read(timeline_points_key(MODEL)))
    assert [p.batch_id for p in redrawn.points] == [*world.batches]
    assert redrawn.points[0].verdict == "quality"  # kept from timeline.json, not re-read

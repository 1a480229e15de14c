"""Alerts on the local cloud, driven like a user: upload batches, let (simulated) time pass, read the email.

Episodes are decided from the batches (M of the last N breach -> open, K clean -> closed), not by
CloudWatch periods, so the same rule holds for any cadence. One module cloud, one trained champion,
scenarios in order (each leaves the episodes closed again):

1. a one-off drifted batch between healthy ones stays quiet (2 of the last 3);
2. a burst: 10 batches within one minute, batches 6-10 drifted -> exactly one drift email with the
   episode's story, one retrain request; clean batches -> one recovery email, no second episode;
3. a daily cadence: one batch a simulated day, drifted from day 3 -> the episode opens on day 4,
   the day the 2-of-3 rule says, and its email arrives that day;
4. a feed that stalls after running, and one that was never connected: one email each when
   check_window's tick finds them stale, one recovery when batches come back - and nothing
   "recovers" that was never announced;
5. slow drift over many small batches: each batch passes alone, check_window's merged day drifts;
6. a failed check_window event waits in the dead-letter queue until `steward replay` re-runs it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from stewardtools.datasets import credit_default
from stewardtools.localcloud.deploy import DEFAULT_STACK_NAME, LocalCloud
from stewardtools.localcloud.outbox import OutboxMessage

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
MODEL = "credit-default"
QUIET = "quiet-feed"  # onboarded from a reference upload, then silent: a feed never connected
STAGE = "local"
BURST_STEP = dt.timedelta(seconds=5)


def alarm(signal: str, model: str = MODEL) -> str:
    return f"{DEFAULT_STACK_NAME}-{model}-{signal}"  # alarm names start with the stack's name


@pytest.fixture(scope="module")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """This module's cloud alarms on two models: the trained one and the one whose feed never starts."""
    state = tmp_path_factory.mktemp("alerting-cloud")
    with LocalCloud(template=TEMPLATE, models=[MODEL, QUIET], state_dir=state) as cloud:
        yield cloud


class Feed:
    """Uploads batches to the local cloud and reads what people received."""

    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self.count = 0

    def batch(
        self,
        *,
        drift: float = 0.0,
        rows: int = 400,
        start: dt.datetime | None = None,
        span_hours: float = 1.0,
        model: str = MODEL,
    ) -> str:
        self.count += 1
        data = credit_default(
            rows,
            seed=500 + self.count,
            drift=drift,
            labeled=False,
            start=pd.Timestamp(start)
            if start
            else pd.Timestamp(self.cloud.now) - pd.Timedelta(hours=span_hours),
            span_hours=span_hours,
        )
        data["prediction"] = "0"
        data["timestamp"] = data["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        key = f"inference/{model}/batch-{self.count:03d}.csv"
        self.cloud.upload(key, data.to_csv(index=False))
        run = self.cloud.invocations_of("monitor_batch")[-1]
        assert run.ok and run.result["batches"][0]["status"] == "accepted", run.error_message or run.result
        self.cloud.wait_idle()
        return str(run.result["batches"][0]["batch_id"])

    def burst(self, drifts: list[float]) -> list[str]:
        ids = []
        for drift in drifts:
            ids.append(self.batch(drift=drift))
            self.cloud.advance(seconds=BURST_STEP.total_seconds())
        return ids

    def mails(self, since: int = 0) -> list[OutboxMessage]:
        """What handle_alarm and check_window sent people (the notifications topic)."""
        topic = self.cloud.outputs["NotificationsTopicArn"]
        return [m for m in self.cloud.outbox_messages()[since:] if m.topic_arn == topic]

    def subjects(self, since: int = 0, about: str = "") -> list[str]:
        return [m.subject for m in self.mails(since) if about in m.subject]

    def sent(self) -> int:
        return len(self.cloud.outbox_messages())

    def retrains(self, since: int = 0) -> list[Any]:
        return [
            r for r in self.cloud.invocations_of("train_model")[since:] if r.event.get("action") == "retrain"
        ]


@pytest.fixture(scope="module")
def feed(local_cloud: LocalCloud) -> Iterator[Feed]:
    """The model onboarded and trained (its champion has a baseline and a card)."""
    spec = yaml.safe_load((REPO / "examples" / "specs" / f"{MODEL}.yaml").read_text())
    spec["probability_column"] = None  # the batches carry predictions only
    local_cloud.upload(f"specs/{MODEL}/spec.yaml", yaml.safe_dump(spec))
    training = credit_default(3000, seed=1)
    training["timestamp"] = training["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    local_cloud.upload(f"training/{MODEL}/train.csv", training.to_csv(index=False))
    run = local_cloud.invocations_of("train_model")[-1]
    assert run.ok and run.result["results"][0]["outcome"] == "promote", run.error_message or run.result
    yield Feed(local_cloud)


def test_a_one_off_drifted_batch_between_healthy_ones_sends_nothing(feed: Feed) -> None:
    before = feed.sent()
    feed.burst([0.0, 1.0, 0.0, 0.0, 0.0])
    assert feed.cloud.alarm_state(alarm("data_drift")) != "ALARM"
    assert feed.subjects(before, "drift") == []


@pytest.fixture(scope="module")
def burst(feed: Feed) -> dict[str, Any]:
    """10 batches within one minute (5 s apart), the last five clearly drifted."""
    before, runs_before = feed.sent(), len(feed.cloud.invocations_of("train_model"))
    started = feed.cloud.now
    ids = feed.burst([0.0] * 5 + [1.0] * 5)
    assert feed.cloud.now - started < dt.timedelta(minutes=1)
    return {"before": before, "ids": ids, "runs_before": runs_before}


def test_a_burst_opens_one_drift_episode_one_email_and_one_retrain(feed: Feed, burst: dict[str, Any]) -> None:
    mails = [m for m in feed.mails(burst["before"]) if "drift" in m.subject]
    assert [m.subject for m in mails] == [f"[model-steward] {MODEL}: data_drift ALARM"]
    body = mails[0].body
    assert mails[0].to == "ops@example.com"
    assert "THE EPISODE (decided from the batches, in batch order)" in body
    # batches 6 and 7 are 2 of the last 3: the seventh batch opened it
    assert f"opened when 2 of the last 3 batches breached (batch {burst['ids'][6]})" in body
    assert "the alarm mirrors the episode: it is in ALARM while the episode is open" in body
    assert "Retrain started (retrain.on_alarms includes drift)." in body
    section = body.split("TOP DRIFTED FEATURES")[1].split("WHAT THE SUITE DID")[0]
    assert next(line.split()[-1] for line in section.splitlines()[1:] if line.strip()) == "drift"
    retrains = feed.retrains(burst["runs_before"])
    assert [r.event["trigger"] for r in retrains] == [f"alarm:{alarm('data_drift')}"], (
        "one retrain per episode"
    )
    assert feed.cloud.alarm_state(alarm("drift")) == "ALARM"
    # CloudWatch's own evaluation of EpisodeOpen agrees with the episode: no flip, no second email
    feed.cloud.advance(minutes=2)
    before = feed.sent()
    feed.cloud.evaluate_alarms()
    assert feed.cloud.alarm_state(alarm("data_drift")) == "ALARM" and feed.subjects(before) == []


def test_clean_batches_close_the_episode_with_one_recovery_email(feed: Feed, burst: dict[str, Any]) -> None:
    before, runs = feed.sent(), len(feed.cloud.invocations_of("train_model"))
    feed.burst([0.0, 0.0, 0.0, 0.0])
    assert feed.subjects(before, "drift") == [f"[model-steward] {MODEL}: data_drift OK (recovered)"]
    note = next(m for m in feed.mails(before) if "drift" in m.subject).body
    assert "THE EPISODE" in note and "closed by batch" in note and "2 clean batches in a row" in note
    assert feed.cloud.alarm_state(alarm("data_drift")) == "OK" and feed.retrains(runs) == []
    feed.cloud.advance(minutes=2)
    feed.cloud.evaluate_alarms()
    assert feed.subjects(before, "drift") == [f"[model-steward] {MODEL}: data_drift OK (recovered)"]


def test_one_batch_a_day_opens_the_episode_on_the_day_the_rule_says(feed: Feed) -> None:
    before = feed.sent()
    opened_on = None
    for day in range(1, 8):
        feed.batch(drift=1.0 if 3 <= day <= 5 else 0.0, span_hours=20)
        if opened_on is None and feed.subjects(before, "data_drift ALARM"):
            opened_on = day
            (mail,) = [m for m in feed.mails(before) if "data_drift ALARM" in m.subject]
            assert mail.sent_at.date() == feed.cloud.now.date(), "the email arrives the day it opens"
        feed.cloud.advance(hours=24)
    assert opened_on == 4  # days 3 and 4 are 2 of the last 3
    assert feed.subjects(before, "drift") == [
        f"[model-steward] {MODEL}: data_drift ALARM",
        f"[model-steward] {MODEL}: data_drift OK (recovered)",  # days 6 and 7 clean
    ]


def _tick(feed: Feed) -> None:
    feed.cloud.fire_schedule("check_window")
    feed.cloud.wait_idle()


def test_a_feed_that_stalls_and_one_never_connected_each_email_once_and_recover_once(feed: Feed) -> None:
    # the quiet model is onboarded from a reference upload (monitored, trained elsewhere)
    spec = yaml.safe_load((REPO / "examples" / "specs" / f"{MODEL}.yaml").read_text())
    spec.update(name=QUIET, probability_column=None)
    feed.cloud.upload(f"specs/{QUIET}/spec.yaml", yaml.safe_dump(spec))
    reference = credit_default(1500, seed=77)
    reference["prediction"] = "0"
    reference["timestamp"] = reference["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    feed.cloud.upload(f"reference/{QUIET}/reference.csv", reference.to_csv(index=False))
    assert feed.cloud.invocations_of("create_baseline")[-1].ok
    feed.batch()  # the trained model's feed is running
    before = feed.sent()
    _tick(feed)  # the first look at both feeds: fresh, and nothing to recover
    assert feed.subjects(before, "freshness") == []

    feed.cloud.advance(hours=23)
    _tick(feed)
    assert feed.subjects(before, "freshness") == [], "a quiet night is not a stalled feed"
    feed.cloud.advance(hours=2)
    _tick(feed)
    _tick(feed)  # a second tick while stale: the episode is open, nobody is told twice
    stalled = sorted(feed.subjects(before, "freshness"))
    assert stalled == [
        f"[model-steward] {MODEL}: freshness ALARM",
        f"[model-steward] {QUIET}: freshness ALARM",
    ]
    mail = next(m for m in feed.mails(before) if m.subject.startswith(f"[model-steward] {QUIET}"))
    assert "no batch accepted yet" in mail.body
    assert "None (retraining does not fix this: no new batches means no new data to train on)." in mail.body
    assert "TOP DRIFTED FEATURES" not in mail.body, "a stalled feed is not about drift"

    feed.batch()
    feed.batch(model=QUIET)
    recovered = sorted(s for s in feed.subjects(before, "freshness") if "OK" in s)
    assert recovered == [
        f"[model-steward] {MODEL}: freshness OK (recovered)",
        f"[model-steward] {QUIET}: freshness OK (recovered)",
    ]
    assert len(feed.subjects(before, "freshness")) == 4


def test_slow_drift_in_small_batches_is_caught_by_the_window_check(feed: Feed) -> None:
    day = dt.datetime(2026, 2, 10, tzinfo=dt.UTC)
    s3, artifacts = feed.cloud.client("s3"), feed.cloud.outputs["ArtifactsBucketName"]
    batch_ids = []
    for i in range(12):  # the population moves a little more every 2 hours; 90 rows per batch
        batch_ids.append(
            feed.batch(drift=0.1 * (i + 1), rows=90, start=day + dt.timedelta(hours=2 * i), span_hours=1.5)
        )
    for batch_id in batch_ids:
        report = json.loads(
            s3.get_object(Bucket=artifacts, Key=f"reports/{MODEL}/batches/{batch_id}/report.json")[
                "Body"
            ].read()
        )
        assert not report["dataset_drift"]["drifted"], "each small batch passes on its own"
        assert {f["severity"] for f in report["features"]} == {"insufficient_data"}
    before = feed.sent()
    run = feed.cloud.invoke(
        "check_window", {"action": "check_window", "model": MODEL, "window": "day", "start": "2026-02-10"}
    )
    assert run.ok, run.error_message
    (window,) = run.result["windows"]
    assert (window["verdict"], window["batches"], window["rows"], window["partial"]) == (
        "drift",
        12,
        1080,
        False,
    )
    report = json.loads(
        s3.get_object(Bucket=artifacts, Key=f"reports/{MODEL}/windows/day/2026-02-10/report.json")[
            "Body"
        ].read()
    )
    assert report["dataset_drift"]["drifted"] and sorted(report["batch_ids"]) == sorted(batch_ids)
    (mail,) = feed.mails(before)
    assert mail.subject == f"[model-steward] {MODEL}: window drift (day 2026-02-10)"
    assert "(12 batches, 1080 rows merged) has verdict drift" in mail.body


def test_a_failed_event_waits_in_the_dead_letter_queue_until_replayed(
    feed: Feed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from stewardtools.cli.main import main

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "app.py").write_text("def handler(event, context):\n    raise RuntimeError('disk full')\n")
    event = {"action": "check_window", "model": MODEL, "window": "day", "start": "2026-02-11"}
    with feed.cloud.code_override("check_window", broken):
        feed.cloud.client("lambda").invoke(
            FunctionName=feed.cloud.function_name("check_window"),
            InvocationType="Event",
            Payload=json.dumps(event).encode(),
        )
    assert feed.cloud.invocations_of("check_window")[-1].sent_to == feed.cloud.outputs["DeadLetterQueueArn"]
    capsys.readouterr()
    assert main(["replay", "--stack", feed.cloud.stack_name]) == 0  # the real handler is back
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("replayed")]
    assert (
        len(lines) == 1
        and "check_window" in lines[0]
        and "action check_window (model=credit-default" in lines[0]
    )
    assert "failed before: RuntimeError" in lines[0]
    replayed = feed.cloud.invocations_of("check_window")[-1]
    assert replayed.ok and replayed.event == event
    assert main(["replay", "--stack", feed.cloud.stack_name]) == 0
    assert "the dead-letter queue is empty" in capsys.readouterr().out

"""Alerts on the local cloud, driven like a user: upload batches, let (simulated) time pass, read the email.

One module cloud, one trained champion, scenarios in order (each leaves the alarms OK again):

1. a one-off drifted batch between healthy ones stays quiet (2-of-3 de-noising);
2. persistent drift: exactly one email, with the evidence, and one retrain request;
3. the model recovers: one short recovery note;
4. the feed stalls: the freshness alarm emails (missing data is breaching);
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

from modelsteward.datasets import credit_default
from modelsteward.localcloud.deploy import DEFAULT_STACK_NAME, LocalCloud
from modelsteward.localcloud.outbox import OutboxMessage

REPO = Path(__file__).resolve().parents[2]
MODEL = "credit-default"  # the model the e2e conftest's local_cloud deploys alarms for
STAGE = "local"
PERIOD = dt.timedelta(minutes=5)  # the template's MonitoringPeriodSeconds default


def alarm(signal: str) -> str:
    return f"{DEFAULT_STACK_NAME}-{MODEL}-{signal}"  # alarm names start with the stack's name


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
    ) -> str:
        self.count += 1
        data = credit_default(
            rows,
            seed=500 + self.count,
            drift=drift,
            labeled=False,
            start=pd.Timestamp(start) if start else None,
            span_hours=span_hours,
        )
        data["prediction"] = "0"
        data["timestamp"] = data["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        key = f"inference/{MODEL}/batch-{self.count:03d}.csv"
        self.cloud.upload(key, data.to_csv(index=False))
        run = self.cloud.invocations_of("monitor_batch")[-1]
        assert run.ok and run.result["batches"][0]["status"] == "accepted", run.error_message or run.result
        return str(run.result["batches"][0]["batch_id"])

    def period(self, *, drift: float = 0.0) -> list[tuple[str, str]]:
        """One alarm period: a batch, alarms evaluated, then time moves on."""
        self.batch(drift=drift)
        changes = [(c.alarm_name, c.new_state) for c in self.cloud.evaluate_alarms()]
        self.cloud.advance(minutes=PERIOD.total_seconds() / 60)
        return changes

    def mails(self, since: int = 0) -> list[OutboxMessage]:
        """What handle_alarm and check_window sent people (the notifications topic)."""
        topic = self.cloud.outputs["NotificationsTopicArn"]
        return [m for m in self.cloud.outbox_messages()[since:] if m.topic_arn == topic]

    def sent(self) -> int:
        return len(self.cloud.outbox_messages())


@pytest.fixture(scope="module")
def feed(local_cloud: LocalCloud) -> Iterator[Feed]:
    """The model onboarded and trained (its champion has a baseline and a card)."""
    spec = yaml.safe_load((REPO / "examples" / "specs" / f"{MODEL}.yaml").read_text())
    spec["probability_column"] = None  # the batches carry predictions only
    spec["retrain"]["cooldown_hours"] = 0  # the first training just happened: no cooldown in the way
    local_cloud.upload(f"specs/{MODEL}/spec.yaml", yaml.safe_dump(spec))
    training = credit_default(3000, seed=1)
    training["timestamp"] = training["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    local_cloud.upload(f"training/{MODEL}/train.csv", training.to_csv(index=False))
    run = local_cloud.invocations_of("train_model")[-1]
    assert run.ok and run.result["results"][0]["outcome"] == "promote", run.error_message or run.result
    yield Feed(local_cloud)


def test_a_one_off_drifted_batch_between_healthy_ones_sends_nothing(feed: Feed) -> None:
    before = feed.sent()
    changes = feed.period() + feed.period(drift=1.0) + feed.period() + feed.period() + feed.period()
    assert not [c for c in changes if c[0] in (alarm("drift"), alarm("data_drift"))], changes
    assert feed.cloud.alarm_state(alarm("data_drift")) == "OK"
    subjects = [m.subject for m in feed.mails(before)]
    assert not [s for s in subjects if "drift" in s], subjects


@pytest.fixture(scope="module")
def drift_episode(feed: Feed) -> dict[str, Any]:
    """Drifted batches for four periods in a row (after the blip scenario has settled)."""
    before, runs_before = feed.sent(), len(feed.cloud.invocations_of("train_model"))
    changes = [c for _ in range(4) for c in feed.period(drift=1.0)]
    return {
        "before": before,
        "changes": changes,
        "train_runs": feed.cloud.invocations_of("train_model")[runs_before:],
    }


def test_persistent_drift_sends_exactly_one_email_with_the_evidence(
    feed: Feed, drift_episode: dict[str, Any]
) -> None:
    assert (alarm("data_drift"), "ALARM") in drift_episode["changes"]
    alarm_mails = [m for m in feed.mails(drift_episode["before"]) if m.subject.endswith("ALARM")]
    assert [m.subject for m in alarm_mails] == [f"[model-steward] {MODEL}: data_drift ALARM"]
    (mail,) = alarm_mails
    body = mail.body
    assert mail.to == "ops@example.com"
    assert f"Model {MODEL} (stage {STAGE}): data_drift is in ALARM since" in body
    assert alarm("drift") in body
    assert (
        "DriftedFeatureShare (Maximum per 5-minute period) >= 0.3 in at least 2 of the last 3 periods" in body
    )
    assert "values CloudWatch saw (newest first): " in body
    section = body.split("TOP DRIFTED FEATURES")[1].split("WHAT THE SUITE DID")[0]
    top = [line.split() for line in section.splitlines()[1:] if line.strip()]
    assert len(top) == 5 and top[0][-1] == "drift"
    artifacts = feed.cloud.outputs["ArtifactsBucketName"]
    objects = (feed.cloud.state_dir / "objects").resolve()  # local cloud: links are files (links.py)
    assert f"batch report (HTML): {objects}/{artifacts}/reports/{MODEL}/batches/" in body
    card = f"{objects}/{artifacts}/models/{MODEL}/v0001/card/card.html"
    assert f"champion model card v1: {card}" in body and Path(card).is_file(), "the outbox copied it"
    assert "Retrain started (retrain.on_alarms includes drift)." in body

    retrains = [r for r in drift_episode["train_runs"] if r.event.get("action") == "retrain"]
    assert [r.event["trigger"] for r in retrains] == [f"alarm:{alarm('data_drift')}"], (
        "one retrain per episode"
    )
    assert retrains[0].ok


def test_the_recovered_model_sends_one_short_note(feed: Feed, drift_episode: dict[str, Any]) -> None:
    before = feed.sent()
    changes = [c for _ in range(3) for c in feed.period()]
    assert (alarm("data_drift"), "OK") in changes
    notes = [m for m in feed.mails(before) if "data_drift" in m.subject]
    assert [m.subject for m in notes] == [f"[model-steward] {MODEL}: data_drift OK (recovered)"]
    assert "in ALARM (since" in notes[0].body and len(notes[0].body.splitlines()) < 10


def test_a_stalled_feed_alarms_and_a_new_batch_recovers_it(feed: Feed) -> None:
    before = feed.sent()
    feed.cloud.advance(hours=23)
    assert feed.cloud.evaluate_alarms() == [], "a quiet night is not a stalled feed"
    # 24 empty hours, plus the 2 extra periods CloudWatch keeps in the evaluation range when data is
    # missing: the last accepted batch has left the range
    feed.cloud.advance(hours=4)
    changes = feed.cloud.evaluate_alarms()
    assert (alarm("freshness"), "ALARM") in [(c.alarm_name, c.new_state) for c in changes]
    (mail,) = [m for m in feed.mails(before) if "freshness" in m.subject]
    assert mail.subject == f"[model-steward] {MODEL}: freshness ALARM"
    assert "BatchAccepted (Sum per 1-hour period) < 1 in each of the last 24 periods" in mail.body
    assert "missing data: periods without data count as breaching" in mail.body
    assert "None (retraining does not fix this: no new batches means no new data to train on)." in mail.body
    assert "TOP DRIFTED FEATURES" not in mail.body, "a stalled feed is not about drift"

    feed.batch()
    assert (alarm("freshness"), "OK") in [(c.alarm_name, c.new_state) for c in feed.cloud.evaluate_alarms()]
    assert feed.mails(before)[-1].subject == f"[model-steward] {MODEL}: freshness OK (recovered)"


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
    from modelsteward.cli.main import main

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

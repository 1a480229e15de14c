"""Persistence on the local cloud (issue 22): a modest shift that stays is drift, a negligible one never.

A model served elsewhere, onboarded from a reference upload of 30,000 rows (its baseline learns each
feature's noise band), then monitored through S3 puts of 5,000-row batches, as a user would:

1. six batches with a negligible shift (0.02 sd) in ``g_neg``: no feature is ever flagged, no email;
2. a burst of six batches within one minute with a modest shift (0.07 sd) in ``x_shift`` as well:
   its score stays under the 0.1 threshold, but it is beyond its noise band batch after batch, so the
   verdicts mark it drift for persistence ("persistent: 6 of the last 6 batches beyond the noise
   band"), the drift episode opens and exactly one email tells the owner, with the reason;
3. a backfill of last month with the same shift has no history before it: never persistent, and
   the open episode sends nothing more.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from stewardtools.localcloud.deploy import LocalCloud

MODEL = "steady-shift"
ROWS = 5_000
SPEC = f"""name: {MODEL}
task: regression
target: outcome
id_column: id
timestamp_column: timestamp
prediction_column: prediction
primary_metric: rmse
estimator:
  class_path: sklearn.ensemble.HistGradientBoostingRegressor
features:
  numeric: [x_shift, x_quiet, g_neg]
pii:
  action: allow
"""


def frame(
    n: int,
    seed: int,
    start: dt.datetime,
    *,
    shift: float = 0.0,
    negligible: float = 0.0,
    span_seconds: int = 3600,
) -> pd.DataFrame:
    """Rows of the model's inputs; ``shift`` / ``negligible``: mean shifts in standard deviations."""
    rng = np.random.default_rng(seed)
    stamps = [start + dt.timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, span_seconds, n))]
    return pd.DataFrame(
        {
            "id": [f"r{seed}-{i}" for i in range(n)],
            "timestamp": [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in stamps],
            "x_shift": rng.normal(10 + shift * 2, 2, n).round(5),
            "x_quiet": rng.normal(0, 1, n).round(5),
            "g_neg": rng.normal(negligible * 3, 3, n).round(5),
            "prediction": rng.normal(5, 1, n).round(5),
            "outcome": rng.normal(5, 1, n).round(5),
        }
    )


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    with LocalCloud(models=[MODEL], state_dir=tmp_path_factory.mktemp("persistence")) as c:
        c.upload(f"specs/{MODEL}/spec.yaml", SPEC)
        reference = frame(30_000, 1, c.now - dt.timedelta(days=40), span_seconds=10 * 86_400)
        c.upload(f"reference/{MODEL}/reference.csv", reference.to_csv(index=False))
        c.wait_idle()
        assert c.invocations_of("create_baseline")[-1].ok
        yield c


class Batches:
    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud, self.count = cloud, 0
        self.s3, self.bucket = cloud.client("s3"), cloud.outputs["ArtifactsBucketName"]

    def upload(self, start: dt.datetime, span_seconds: int, **shifts: float) -> dict[str, Any]:
        """One batch through an S3 put; returns its report.json."""
        self.count += 1
        rows = frame(ROWS, 100 + self.count, start, span_seconds=span_seconds, **shifts)
        self.cloud.upload(
            f"inference/{MODEL}/b{self.count:02d}.csv", rows.drop(columns=["outcome"]).to_csv(index=False)
        )
        self.cloud.wait_idle()
        run = self.cloud.invocations_of("monitor_batch")[-1]
        assert run.ok and run.result["batches"][0]["status"] == "accepted", run.error_message or run.result
        key = f"reports/{MODEL}/batches/{run.result['batches'][0]['batch_id']}/report.json"
        return dict(json.loads(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()))

    def mails(self, since: int) -> list[str]:
        topic = self.cloud.outputs["NotificationsTopicArn"]
        return [m.subject for m in self.cloud.outbox_messages()[since:] if m.topic_arn == topic]


def feature(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in report["features"] if f["name"] == name)


@pytest.fixture(scope="module")
def batches(cloud: LocalCloud) -> Batches:
    return Batches(cloud)


def test_a_negligible_shift_is_never_flagged_however_often_it_repeats(batches: Batches) -> None:
    before = len(batches.cloud.outbox_messages())
    for _ in range(6):
        batches.cloud.advance(hours=1)
        report = batches.upload(batches.cloud.now - dt.timedelta(hours=1), 3600, negligible=0.02)
        assert report["verdict"] == "ok", [(f["name"], f["drift_reason"]) for f in report["features"]]
        assert not any(f["drifted"] for f in report["features"])
    assert batches.mails(before) == []


def test_a_modest_persistent_shift_opens_the_drift_episode_with_one_email_and_the_reason(
    batches: Batches,
) -> None:
    cloud = batches.cloud
    before, started = len(cloud.outbox_messages()), cloud.now
    reports = []
    for _ in range(6):  # a burst: six batches of 10 s of rows each, one minute in all
        cloud.advance(seconds=10)
        reports.append(batches.upload(cloud.now - dt.timedelta(seconds=10), 10, shift=0.07, negligible=0.02))
    assert cloud.now - started <= dt.timedelta(minutes=1)
    shifted = [feature(r, "x_shift") for r in reports]
    assert all(f["score"] < f["threshold"] for f in shifted), "under the fixed threshold every time"
    assert all(f["beyond_noise"] for f in shifted)
    reasons = [f["drift_reason"] for f in shifted]
    assert reasons[2:] == [
        f"persistent: {k} of the last {k} batches beyond the noise band" for k in (3, 4, 5, 6)
    ]
    assert all(
        r["verdict"] == "drift" and r["dataset_drift"]["drifted_features"] == ["x_shift"] for r in reports[2:]
    )
    assert not any(feature(r, "g_neg")["drifted"] or feature(r, "x_quiet")["drifted"] for r in reports)
    # the HTML report shows the evidence next to the score: raw score, noise band, floor, the reason
    html = (
        batches.s3.get_object(
            Bucket=batches.bucket, Key=f"reports/{MODEL}/batches/{reports[-1]['batch_id']}/report.html"
        )["Body"]
        .read()
        .decode()
    )
    assert "persistent: 6 of the last 6 batches beyond the noise band" in html and "noise band" in html

    assert cloud.alarm_state(f"{cloud.stack_name}-{MODEL}-drift") == "ALARM"
    mails = [
        m for m in cloud.outbox_messages()[before:] if m.topic_arn == cloud.outputs["NotificationsTopicArn"]
    ]
    assert [m.subject for m in mails] == [f"[model-steward] {MODEL}: data_drift ALARM"]
    assert "why: persistent: " in mails[0].body and "x_shift" in mails[0].body
    # the episode dates from where the run began (the first shifted batch), not the batch that opened it
    assert f"first breaching batch's data from {reports[0]['time_max']}" in mails[0].body


def test_a_backfill_of_last_month_is_never_persistent_and_sends_nothing(batches: Batches) -> None:
    cloud = batches.cloud
    before = len(cloud.outbox_messages())
    report = batches.upload(cloud.now - dt.timedelta(days=30), 3600, shift=0.07)
    assert not str(feature(report, "x_shift")["drift_reason"] or "").startswith("persistent:")
    assert batches.mails(before) == []
    assert cloud.alarm_state(f"{cloud.stack_name}-{MODEL}-drift") == "ALARM"  # the episode stays open

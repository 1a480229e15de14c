"""Performance episodes on the local cloud: thresholds the model earns, from the estimate and from labels.

A credit-default model (primary metric accuracy) is trained on 20,000 rows; its holdout gives the
spread of accuracy and of the label-free estimate at the holdout's size, scaled to each batch. Then,
driven through S3 uploads like a user: 20 stable batches of 5,000 rows (scored, then labeled) open no
performance episode; batches from a shifted population that costs the model about 3 points of
accuracy open one from the estimate before their labels arrive, and one from realized metrics once
they do.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from stewardtools.datasets import credit_default
from stewardtools.localcloud.deploy import LocalCloud

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
MODEL = "credit-default"
ROWS = 5000
STABLE = 20
DEGRADED_DRIFT = 0.2  # measured: the model loses 2.8-3.9 points of accuracy on these rows


def _csv(frame: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue().encode()


@pytest.fixture(scope="module")
def cloud(local_cloud: LocalCloud) -> Iterator[LocalCloud]:
    spec = yaml.safe_load((REPO / "examples" / "specs" / f"{MODEL}.yaml").read_text())
    spec["primary_metric"] = "accuracy"
    spec["retrain"]["on_alarms"] = []  # the alerts themselves are under test, not retraining
    local_cloud.upload(f"specs/{MODEL}/spec.yaml", yaml.safe_dump(spec))
    training = credit_default(
        20_000, seed=1, start=local_cloud.now - pd.Timedelta(days=30), span_hours=24 * 29
    )
    local_cloud.upload(f"training/{MODEL}/train.csv", _csv(training))
    local_cloud.wait_idle()
    yield local_cloud


def _batch(cloud: LocalCloud, name: str, seed: int, drift: float, *, labels: bool) -> pd.DataFrame:
    frame = credit_default(ROWS, seed=seed, drift=drift, start=cloud.now, span_hours=0.5)
    cloud.upload(f"scoring/{MODEL}/{name}.csv", _csv(frame.drop(columns=["default"])))
    cloud.wait_idle()
    if labels:
        cloud.upload(f"labels/{MODEL}/{name}.csv", _csv(frame[["id", "default"]]))
        cloud.wait_idle()
    cloud.advance(hours=1)
    return frame


def _performance_mails(cloud: LocalCloud, since: int) -> list[str]:
    topic = cloud.outputs["NotificationsTopicArn"]
    return [
        m.subject
        for m in cloud.outbox_messages()[since:]
        if m.topic_arn == topic and ("estimated_drop" in m.subject or "realized_drop" in m.subject)
    ]


@pytest.fixture(scope="module")
def stable(cloud: LocalCloud) -> dict[str, Any]:
    before = len(cloud.outbox_messages())
    for i in range(STABLE):
        _batch(cloud, f"stable-{i + 1:02d}", seed=1000 + i, drift=0.0, labels=True)
    return {"mails": _performance_mails(cloud, before)}


def test_twenty_stable_batches_open_no_performance_episode(cloud: LocalCloud, stable: dict[str, Any]) -> None:
    assert stable["mails"] == []
    for signal in ("estimated_drop", "realized_drop"):
        assert cloud.alarm_state(f"{cloud.stack_name}-{MODEL}-{signal}") != "ALARM"


def test_a_three_point_accuracy_drop_opens_episodes_from_the_estimate_then_from_labels(
    cloud: LocalCloud, stable: dict[str, Any]
) -> None:
    before = len(cloud.outbox_messages())
    degraded = [
        _batch(cloud, f"degraded-{i + 1}", seed=2000 + i, drift=DEGRADED_DRIFT, labels=False)
        for i in range(3)
    ]
    assert _performance_mails(cloud, before) == [f"[model-steward] {MODEL}: estimated_drop ALARM"], (
        "the estimate speaks before any label"
    )
    mail = next(m for m in cloud.outbox_messages()[before:] if "estimated_drop ALARM" in m.subject)
    assert "threshold: 3 sd of the accuracy drop at 5000 rows" in mail.body  # earned, not 0.05
    for i, frame in enumerate(degraded):
        cloud.upload(f"labels/{MODEL}/degraded-{i + 1}.csv", _csv(frame[["id", "default"]]))
        cloud.wait_idle()
    assert _performance_mails(cloud, before) == [
        f"[model-steward] {MODEL}: estimated_drop ALARM",
        f"[model-steward] {MODEL}: realized_drop ALARM",
    ]

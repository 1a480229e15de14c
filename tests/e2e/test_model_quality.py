"""Model quality on the local cloud: scoring and labels reach CloudWatch; a degraded model emails.

Drives the deployed template like a user: onboard the spec, upload training data, then scoring
batches and their labels; reads the metrics back from (local) CloudWatch by name and dimension.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from cloud_metrics import datapoints

from stewardtools.cli.main import main as steward
from stewardtools.datasets import generate
from stewardtools.localcloud.deploy import LocalCloud

MODEL = "credit-default"
SPEC = Path(__file__).resolve().parents[2] / "examples" / "specs" / f"{MODEL}.yaml"


def _csv(frame: Any) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue().encode()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with LocalCloud(models=[MODEL], state_dir=tmp_path_factory.mktemp("quality")) as c:
        assert steward(["models", "onboard", str(SPEC), "--stack", c.stack_name]) == 0
        c.upload(f"training/{MODEL}/train.csv", _csv(generate(MODEL, 6000, seed=1, start=c.now)))
        c.wait_idle()
        yield c


def _values(cloud: LocalCloud, name: str, dims: dict[str, str]) -> list[float]:
    return [p["Maximum"] for p in datapoints(cloud, name, dims)]


def test_scoring_labels_and_estimates_reach_cloudwatch(cloud: LocalCloud) -> None:
    batch = generate(MODEL, 3000, seed=10, start=cloud.now, span_hours=1)
    cloud.upload(f"scoring/{MODEL}/b1.csv", _csv(batch.drop(columns=["default"])))
    cloud.wait_idle()
    cloud.upload(f"labels/{MODEL}/b1.csv", _csv(batch[["id", "default"]]))
    cloud.wait_idle()
    model = {"model": MODEL}
    for name in ("ScoringThroughput", "ScoringLatencyP95", "ScoringPeakMemory", "ModelLoadTime", "CpuTime"):
        assert [v for v in _values(cloud, name, model) if v > 0], name
    assert _values(cloud, "EstimatedPrimaryMetric", model)
    realized = _values(cloud, "RealizedPrimaryMetric", model)
    assert realized and 0.6 < realized[0] <= 1.0
    assert _values(cloud, "RealizedPrimaryMetric", {"model": MODEL, "variant": "champion"}) == realized
    assert _values(cloud, "LabelsMatched", model) == [3000.0]


def test_a_retrain_that_is_not_better_is_rejected_with_its_evidence(cloud: LocalCloud) -> None:
    from stewardtools.operations.context import cli_context

    ctx = cli_context(cloud.stack_name, actor="test")
    assert ctx.registry is not None and ctx.audit is not None
    champion = ctx.registry.get_model_state(MODEL)["champion"]
    assert steward(["models", "retrain", MODEL, "--reason", "manual check", "--stack", cloud.stack_name]) == 0
    cloud.wait_idle()
    latest = max(ctx.registry.list_versions(MODEL), key=lambda r: int(r["version"]))
    assert int(latest["version"]) == int(champion) + 1
    assert latest["status"] == "Rejected" and latest["gate"]["outcome"] == "reject"
    assert ctx.registry.get_model_state(MODEL)["champion"] == champion  # the champion keeps serving
    actions = [r["action"] for r in ctx.audit.records() if r.get("model_version") == latest["version"]]
    assert "gate.decision" in actions and "model.rejected" in actions
    assert any(f"v{latest['version']}: rejected" in m.subject for m in cloud.outbox_messages())


def test_a_degraded_model_alarms_and_emails(cloud: LocalCloud) -> None:
    before = {m.subject for m in cloud.outbox_messages()}
    # the first test's batch spans the next hour and episodes order batches by event time: labels
    # of an older period than the newest labelled one are history, not news (docs/alerts.md)
    cloud.advance(minutes=65)
    for i in range(3):  # concept drift: the model's ranking quality falls on labeled data
        batch = generate(MODEL, 3000, seed=20 + i, drift=2.0, start=cloud.now, span_hours=0.05)
        cloud.upload(f"scoring/{MODEL}/bad-{i}.csv", _csv(batch.drop(columns=["default"])))
        cloud.wait_idle()
        cloud.upload(f"labels/{MODEL}/bad-{i}.csv", _csv(batch[["id", "default"]]))
        cloud.wait_idle()
        cloud.advance(minutes=5)
        cloud.evaluate_alarms()
    drop = _values(cloud, "RealizedPrimaryMetricDrop", {"model": MODEL})
    assert drop and max(drop) >= 0.05
    new = [m for m in cloud.outbox_messages() if m.subject not in before]
    assert any("realized_drop ALARM" in m.subject for m in new), [m.subject for m in new]

"""Bring your own model on the local cloud, driven through S3 uploads only.

A binary classifier served elsewhere: onboarding checks its labeled reference, 10 inference batches
and 10 label files give realized metrics equal to scikit-learn's for every batch and a label-free
estimate for every batch. The same run from SageMaker Model Monitor capture and ground-truth files
(CSV and JSON content types, base64 and plain) gives the same verdicts. Multiclass and regression
models served elsewhere get their realized metrics too.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from byom_data import capture_lines, csv_bytes, ground_truth_lines, rows, sklearn_metrics, spec_yaml

from modelsteward import layout
from stewardtools.cli.main import main as steward
from stewardtools.localcloud.deploy import LocalCloud

BATCHES, ROWS = 10, 500
STYLES = [("text/csv", False), ("text/csv", True), ("application/json", False), ("application/json", True)]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with LocalCloud(models=["flat-bin"], state_dir=tmp_path_factory.mktemp("byom")) as c:
        yield c


def _json(cloud: LocalCloud, key: str) -> Any:
    body = cloud.client("s3").get_object(Bucket=cloud.outputs["ArtifactsBucketName"], Key=key)["Body"].read()
    return json.loads(body)


def _reports(cloud: LocalCloud, model: str) -> dict[str, dict[str, Any]]:
    """batch_id -> report.json of every accepted batch of the model."""
    s3 = cloud.client("s3")
    bucket = cloud.outputs["ArtifactsBucketName"]
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=f"reports/{model}/batches/"
        )
        for o in page.get("Contents", [])
        if o["Key"].endswith("/report.json")
    ]
    return {k.split("/")[3]: _json(cloud, k) for k in keys}


def _onboard(cloud: LocalCloud, tmp: Path, name: str, task: str) -> str:
    spec = tmp / f"{name}.yaml"
    spec.write_bytes(spec_yaml(name, task))
    reference = tmp / f"{name}-reference.csv"
    reference.write_bytes(csv_bytes(rows(task, 3000, seed=1, start=cloud.now - dt.timedelta(days=30))))
    args = ["models", "onboard", str(spec), "--reference", str(reference), "--upload-reference"]
    assert steward([*args, "--stack", cloud.stack_name]) == 0
    cloud.wait_idle()
    return name


def _batches(cloud: LocalCloud, task: str) -> list[Any]:
    return [
        rows(task, ROWS, seed=500 + i, start=cloud.now + dt.timedelta(hours=i), shift=0.1 * i)
        for i in range(BATCHES)
    ]


def test_binary_byom_flat_tables_and_sagemaker_files_give_the_same_verdicts(
    cloud: LocalCloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flat, cap = (
        _onboard(cloud, tmp_path, "flat-bin", "binary"),
        _onboard(cloud, tmp_path, "cap-bin", "binary"),
    )
    out = capsys.readouterr().out
    assert "monitor a model served elsewhere" in out and "label-free estimates: yes" in out
    frames = _batches(cloud, "binary")
    for i, frame in enumerate(frames):
        content_type, b64 = STYLES[i % len(STYLES)]
        cloud.upload(f"inference/{flat}/batch-{i:02d}.csv", csv_bytes(frame.drop(columns=["outcome"])))
        hour = cloud.now + dt.timedelta(hours=i)
        cloud.upload(
            f"inference/{cap}/my-endpoint/AllTraffic/{hour:%Y/%m/%d/%H}/capture-{i:02d}.jsonl",
            capture_lines(frame, content_type=content_type, base64_encoded=b64, inference_id=i % 3 == 0),
        )
    cloud.wait_idle()
    for i, frame in enumerate(frames):
        cloud.upload(f"labels/{flat}/labels-{i:02d}.csv", csv_bytes(frame[["id", "timestamp", "outcome"]]))
        cloud.upload(
            f"labels/{cap}/my-endpoint/AllTraffic/gt-{i:02d}.jsonl",
            ground_truth_lines(frame, base64_encoded=i % 2 == 1),
        )
    cloud.wait_idle()

    flat_reports, cap_reports = _reports(cloud, flat), _reports(cloud, cap)
    assert len(flat_reports) == len(cap_reports) == BATCHES
    by_stem = {bid.rsplit("-", 1)[0]: bid for bid in flat_reports}
    cap_by_stem = {bid.rsplit("-", 1)[0]: bid for bid in cap_reports}
    for i, frame in enumerate(frames):
        fb, cb = by_stem[f"batch-{i:02d}"], cap_by_stem[f"capture-{i:02d}"]
        assert flat_reports[fb]["verdict"] == cap_reports[cb]["verdict"], i
        expected = sklearn_metrics("binary", frame)
        for model, batch_id in ((flat, fb), (cap, cb)):
            realized = _json(cloud, layout.batch_realized_key(model, batch_id))
            assert realized["rows_labeled"] == ROWS
            for metric, value in expected.items():
                assert realized["metrics"][metric] == pytest.approx(value, abs=1e-9), (model, i, metric)
            estimated = _json(cloud, layout.estimated_performance_key(model, batch_id))
            roc = estimated["overall"]["estimate"]["metrics"]["roc_auc"]
            assert roc["lower"] <= roc["value"] <= roc["upper"]
        flat_est = _json(cloud, layout.estimated_performance_key(flat, fb))["overall"]["estimate"]["metrics"]
        cap_est = _json(cloud, layout.estimated_performance_key(cap, cb))["overall"]["estimate"]["metrics"]
        assert cap_est["roc_auc"]["value"] == pytest.approx(flat_est["roc_auc"]["value"])

    cw = cloud.client("cloudwatch")
    for name in ("EstimatedPrimaryMetric", "RealizedPrimaryMetric", "RealizedPrimaryMetricDrop"):
        stats = cw.get_metric_statistics(
            Namespace="ModelSteward",
            MetricName=name,
            Dimensions=[{"Name": "model", "Value": flat}],
            StartTime=cloud.now - dt.timedelta(days=365),
            EndTime=cloud.now + dt.timedelta(days=365),
            Period=60,
            Statistics=["SampleCount"],
        )
        assert sum(p["SampleCount"] for p in stats["Datapoints"]) >= BATCHES, name


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_multiclass_and_regression_byom_get_realized_metrics(
    cloud: LocalCloud, tmp_path: Path, task: str
) -> None:
    name = _onboard(cloud, tmp_path, f"{task[:5]}-own", task)
    frames = _batches(cloud, task)[:3]
    for i, frame in enumerate(frames):
        cloud.upload(f"inference/{name}/b{i}.csv", csv_bytes(frame.drop(columns=["outcome"])))
    cloud.wait_idle()
    for i, frame in enumerate(frames):
        cloud.upload(f"labels/{name}/l{i}.csv", csv_bytes(frame[["id", "outcome"]]))
    cloud.wait_idle()
    reports = _reports(cloud, name)
    stems = {bid.rsplit("-", 1)[0]: bid for bid in reports}
    for i, frame in enumerate(frames):
        realized = _json(cloud, layout.batch_realized_key(name, stems[f"b{i}"]))
        for metric, value in sklearn_metrics(task, frame).items():
            assert realized["metrics"][metric] == pytest.approx(value, abs=1e-9), (i, metric)

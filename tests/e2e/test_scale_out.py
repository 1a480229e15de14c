"""Scale-out on the local cloud: a batch above ScaleOutBytes runs the real state machine definition.

The cloud is deployed with ScaleOutBytes/ScaleOutChunkBytes lowered (template parameters), so a
30k-row CSV (~2.5 MB) goes monitor_batch -> plan_chunks -> Distributed Map of profile_chunk ->
finish_large_batch. Its report must equal what the single-function path computes on the same
bytes (assess_batch on the whole table), and a failing chunk must fail the run with a recorded
reason and no report.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from modelsteward import layout
from modelsteward.domain.baseline import Baseline
from modelsteward.domain.contract import conform
from modelsteward.domain.ingest import read_table
from modelsteward.services.assessment import assess_batch, screen_pii
from modelsteward.spec import parse_spec
from stewardtools.datasets import credit_default
from stewardtools.localcloud.deploy import LocalCloud

REPO = Path(__file__).resolve().parents[2]
MODEL = "credit-default"
SCALE_OUT_BYTES = 200_000
CHUNK_BYTES = 500_000

FAILING_HANDLER = """
def handler(event, context):
    raise RuntimeError("disk on fire (injected by the test)")
"""


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    state = tmp_path_factory.mktemp("scale-out-cloud")
    parameters = {"ScaleOutBytes": str(SCALE_OUT_BYTES), "ScaleOutChunkBytes": str(CHUNK_BYTES)}
    with LocalCloud(models=[MODEL], state_dir=state, parameters=parameters) as local:
        spec = yaml.safe_load((REPO / "examples" / "specs" / f"{MODEL}.yaml").read_text())
        spec["probability_column"] = None
        local.upload(f"specs/{MODEL}/spec.yaml", yaml.safe_dump(spec))
        reference = _csv(credit_default(3000, seed=1))
        local.upload(f"reference/{MODEL}/reference.csv", reference)
        run = local.invocations_of("create_baseline")[-1]
        assert run.ok, run.error_message or run.result
        yield local


def _csv(frame: pd.DataFrame) -> bytes:
    frame = frame.copy()
    frame["timestamp"] = frame["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    if "prediction" not in frame:
        frame["prediction"] = "0"
    text: str = frame.to_csv(index=False)  # pandas ships no type hints
    return text.encode()


def _get_json(cloud: LocalCloud, bucket: str, key: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(cloud.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    return doc


def _keys(cloud: LocalCloud, bucket: str, prefix: str) -> list[str]:
    pages = cloud.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def _single_path_report(cloud: LocalCloud, body: bytes, batch_id: str) -> dict[str, Any]:
    """What monitor_batch computes in one run on the same bytes (same spec, same baseline)."""
    artifacts = cloud.outputs["ArtifactsBucketName"]
    spec_text = (
        cloud.client("s3").get_object(Bucket=cloud.data_bucket, Key=layout.spec_key(MODEL))["Body"].read()
    )
    spec = parse_spec(spec_text.decode())
    baseline = Baseline.from_json(
        cloud.client("s3")
        .get_object(Bucket=artifacts, Key=layout.reference_baseline_prefix(MODEL) + "baseline.json")["Body"]
        .read()
    )
    conformed = conform(read_table(body, "big.csv"), spec, role="inference")
    table, _ = screen_pii(None, conformed.table, spec)
    assessment = assess_batch(table, baseline, spec, batch_id=batch_id, findings=conformed.findings)
    return {
        "rows": table.num_rows,
        "features": {f.name: (f.score, f.severity, f.raw_score) for f in assessment.drift.features},
        "share": assessment.drift.dataset.share,
        "dataset_drifted": assessment.drift.dataset.drifted,
        "auc": assessment.multivariate.auc if assessment.multivariate else None,
        "quality": sorted(v.check for v in assessment.quality.violations),
        "profile": assessment.profile,
    }


@pytest.mark.parametrize("drift", [0.0, 0.6])
def test_large_batch_report_equals_the_single_function_report(cloud: LocalCloud, drift: float) -> None:
    body = _csv(credit_default(30_000, seed=11 if drift else 12, drift=drift, labeled=False))
    assert len(body) > SCALE_OUT_BYTES
    name = f"big-{int(drift * 10)}.csv"
    cloud.upload(f"inference/{MODEL}/{name}", body)

    monitor = cloud.invocations_of("monitor_batch")[-1]
    assert monitor.ok and monitor.result["batches"][0]["status"] == "scaled_out", monitor.result
    batch_id = monitor.result["batches"][0]["batch_id"]
    (run,) = [r for r in cloud.state_machines.runs if r.name.startswith("mb-")][-1:]
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    execution = cloud.client("stepfunctions").describe_execution(
        executionArn=monitor.result["batches"][0]["execution_arn"]
    )
    assert execution["status"] == "SUCCEEDED"
    chunks = [i for i in cloud.invocations_of("profile_chunk") if i.event["run"]["batch_id"] == batch_id]
    assert len(chunks) >= 4 and all(i.ok for i in chunks)

    artifacts = cloud.outputs["ArtifactsBucketName"]
    report = _get_json(cloud, artifacts, layout.batch_report_prefix(MODEL, batch_id) + "report.json")
    single = _single_path_report(cloud, body, batch_id)
    assert report["rows"] == single["rows"] == 30_000
    features = {f["name"]: (f["score"], f["severity"], f["raw_score"]) for f in report["features"]}
    assert features.keys() == single["features"].keys()
    for name_, (score, severity, raw) in features.items():
        s_score, s_severity, s_raw = single["features"][name_]
        assert severity == s_severity, name_
        # counts and moments merge exactly; the mean position of values inside each fine-grid bin
        # is rounded to POSITION_DECIMALS per profile, so distances agree to ~1e-6, not to the bit
        assert score == pytest.approx(s_score, rel=1e-4, abs=1e-6), name_
        assert raw == pytest.approx(s_raw, rel=1e-4, abs=1e-6), name_
    assert report["dataset_drift"]["share"] == pytest.approx(single["share"], rel=1e-9)
    assert report["dataset_drift"]["drifted"] == single["dataset_drifted"]
    assert sorted(v["check"] for v in report["quality"]) == single["quality"]
    # the multivariate check samples 2000 rows: a different uniform sample of the same batch
    assert report["multivariate"]["auc"] == pytest.approx(single["auc"], abs=0.05)
    expected_verdict = "drift" if single["dataset_drifted"] or report["multivariate"]["drifted"] else "ok"
    if single["quality"]:
        expected_verdict = "drift+quality" if expected_verdict == "drift" else "quality"
    assert report["verdict"] == expected_verdict
    assert (report["verdict"] != "ok") == bool(drift)
    # the merged profile is the single run's profile (counts and moments merge exactly)
    profile = _get_json(cloud, artifacts, layout.batch_report_prefix(MODEL, batch_id) + "profile.json")
    for column, col in single["profile"].columns.items():
        merged = profile["columns"][column]
        assert merged["count"] == col.count and merged["missing"] == col.missing, column
        if col.data_type == "numeric":
            assert merged["grid_counts"] == col.grid_counts, column
            assert merged["mean"] == pytest.approx(col.mean, rel=1e-12), column
            assert merged["m2"] == pytest.approx(col.m2, rel=1e-9), column
        else:
            assert merged["counts"] == col.counts, column
    actions = [r["action"] for r in _audit(cloud) if r.get("details", {}).get("batch_id") == batch_id]
    assert actions[:1] == ["batch.scaled_out"] and "drift.verdict" in actions
    # every chunk worked from the spec and baseline versions the run pinned, which the report names
    pins = {(i.event["run"]["spec"]["version_id"], i.event["run"]["baseline"]["version_id"]) for i in chunks}
    assert pins == {(report["lineage"]["spec"]["version_id"], report["lineage"]["baseline"]["version_id"])}


def _audit(cloud: LocalCloud) -> list[dict[str, Any]]:
    table = cloud.outputs["AuditTableName"]
    items = cloud.client("dynamodb").scan(TableName=table)["Items"]
    from boto3.dynamodb.types import TypeDeserializer

    des = TypeDeserializer()
    rows = [{k: des.deserialize(v) for k, v in item.items()} for item in items]
    rows.sort(key=lambda r: int(r["sk"]))
    out = []
    for row in rows:
        record = row.get("record") or row.get("event") or row
        if isinstance(record, str):
            record = json.loads(record)
        out.append(record)
    return out


def test_a_corrupt_chunk_quarantines_the_batch_without_a_report(cloud: LocalCloud) -> None:
    text = _csv(credit_default(30_000, seed=13, labeled=False)).decode()
    lines = text.splitlines(keepends=True)
    lines[20_000] = ",".join(["x"] * 40) + "\n"  # 40 fields where the header has about a dozen
    cloud.upload(f"inference/{MODEL}/corrupt.csv", "".join(lines).encode())
    monitor = cloud.invocations_of("monitor_batch")[-1]
    batch_id = monitor.result["batches"][0]["batch_id"]
    finish = cloud.invocations_of("finish_large_batch")[-1]
    assert finish.ok and finish.result["status"] == "quarantined", finish.result
    reason = _get_json(cloud, cloud.data_bucket, layout.quarantine_prefix(MODEL, batch_id) + "reason.json")
    assert reason["code"] == "parse_error"
    assert "chunk " in reason["message"] and "line" in reason["message"]
    artifacts = cloud.outputs["ArtifactsBucketName"]
    assert not [
        k for k in _keys(cloud, artifacts, layout.batch_report_prefix(MODEL, batch_id)) if "chunks/" not in k
    ]


def test_a_failing_chunk_fails_the_run_with_a_recorded_reason(cloud: LocalCloud, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(FAILING_HANDLER, encoding="utf-8")
    body = _csv(credit_default(30_000, seed=14, labeled=False))
    with cloud.code_override("profile_chunk", tmp_path):
        cloud.upload(f"inference/{MODEL}/doomed.csv", body)
    monitor = cloud.invocations_of("monitor_batch")[-1]
    batch_id = monitor.result["batches"][0]["batch_id"]
    run = cloud.state_machines.runs[-1]
    assert run.status == "FAILED" and run.error == "LargeBatchFailed"
    assert any(e.get("caught") == "States.ExceedToleratedFailureThreshold" for e in run.events)
    execution = cloud.client("stepfunctions").describe_execution(
        executionArn=monitor.result["batches"][0]["execution_arn"]
    )
    assert execution["status"] == "FAILED"
    reason = _get_json(cloud, cloud.data_bucket, layout.quarantine_prefix(MODEL, batch_id) + "reason.json")
    assert reason["code"] == "scale_out_failed"
    assert "disk on fire" in reason["message"] and "no verdict" in reason["message"]
    artifacts = cloud.outputs["ArtifactsBucketName"]
    assert not _keys(cloud, artifacts, layout.batch_report_prefix(MODEL, batch_id) + "report")
    quarantined = [r for r in _audit(cloud) if r.get("action") == "batch.quarantined"]
    assert quarantined and quarantined[-1]["details"]["code"] == "scale_out_failed"


def test_a_small_batch_stays_on_the_single_function_path(cloud: LocalCloud) -> None:
    body = _csv(credit_default(1_000, seed=15, labeled=False))
    assert len(body) < SCALE_OUT_BYTES
    cloud.upload(f"inference/{MODEL}/small.csv", body)
    monitor = cloud.invocations_of("monitor_batch")[-1]
    assert monitor.result["batches"][0]["status"] == "accepted"


def test_a_new_baseline_during_the_run_does_not_change_the_runs_baseline(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    # last in the module: it replaces the reference baseline the other tests use
    pinned_before = _baseline_version(cloud)
    rebuilt = tmp_path / "rebuilt.csv"
    rebuilt.write_bytes(_csv(credit_default(3000, seed=2, drift=1.0)))
    code = tmp_path / "finish"
    code.mkdir()
    (code / "app.py").write_text(
        REBUILD_THEN_FINISH.format(
            real=REPO / "functions" / "finish_large_batch" / "app.py",
            bucket=cloud.data_bucket,
            key=f"reference/{MODEL}/reference.csv",
            body=rebuilt,
        ),
        encoding="utf-8",
    )
    with cloud.code_override("finish_large_batch", code):
        cloud.upload(f"inference/{MODEL}/pinned.csv", _csv(credit_default(30_000, seed=16, labeled=False)))
    assert _baseline_version(cloud) != pinned_before  # the reference was rebuilt before finish ran
    monitor = cloud.invocations_of("monitor_batch")[-1]
    batch_id = monitor.result["batches"][0]["batch_id"]
    artifacts = cloud.outputs["ArtifactsBucketName"]
    report = _get_json(cloud, artifacts, layout.batch_report_prefix(MODEL, batch_id) + "report.json")
    assert report["lineage"]["baseline"]["version_id"] == pinned_before
    assert report["verdict"] == "ok"  # against the pinned baseline; against the drifted rebuild: drift


REBUILD_THEN_FINISH = """
import importlib.util

import boto3

_spec = importlib.util.spec_from_file_location("real_finish", "{real}")
real = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(real)


def handler(event, context):
    with open("{body}", "rb") as body:  # a new reference while the Map ran: a new baseline version
        boto3.client("s3").put_object(Bucket="{bucket}", Key="{key}", Body=body.read())
    return real.handler(event, context)
"""


def _baseline_version(cloud: LocalCloud) -> str:
    head = cloud.client("s3").head_object(
        Bucket=cloud.outputs["ArtifactsBucketName"],
        Key=layout.reference_baseline_prefix(MODEL) + "baseline.json",
    )
    return str(head["VersionId"])

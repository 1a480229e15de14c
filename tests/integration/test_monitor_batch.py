"""monitor_batch on moto: reports, metrics, audit, exactly-once, and quarantine of every kind of bad input."""

from __future__ import annotations

import importlib.util
import io
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from lambda_context import Handler
from memory_ports import RegistryStub

from modelsteward import layout
from modelsteward.domain.baseline_builder import build_baseline
from modelsteward.errors import StorageError
from modelsteward.events import s3_uploads
from modelsteward.ports import ObjectRef
from modelsteward.services.create_baseline import write_baseline
from modelsteward.services.monitor_batch import monitor_batch
from modelsteward.spec import parse_spec

if TYPE_CHECKING:
    from conftest import Cloud, FakeLambdaContext, RecordingContext

DATA_BUCKET = "steward-data"  # the buckets the `aws` fixture creates (tests/integration/conftest.py)
ARTIFACTS_BUCKET = "steward-artifacts"
ROOT = Path(__file__).resolve().parents[2]

SPEC_YAML = """
name: credit
task: binary
target: default
probability_column: score
features:
  numeric: [income, age]
  categorical: [region]
"""


def frame(n: int, seed: int, *, income_shift: float = 0.0, region: Any = None) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "id": [f"{seed}-{i}" for i in range(n)],
            "timestamp": pa.array(np.datetime64("2026-01-01T00:00") + np.arange(n).astype("timedelta64[s]")),
            "income": rng.normal(50 + income_shift, 10, n),
            "age": rng.normal(40, 8, n).round(),
            "region": region if region is not None else rng.choice(["north", "south", "east"], n),
            "prediction": rng.choice(["0", "1"], n),
            "score": rng.random(n),
        }
    )


def parquet(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def spec_yaml(**extra: str) -> bytes:
    return (SPEC_YAML + "".join(f"{k}:\n{v}\n" for k, v in extra.items())).encode()


@pytest.fixture
def onboarded(aws: Cloud, context: RecordingContext) -> Cloud:
    """The credit model with a spec and a reference baseline (bring-your-own-model path)."""
    aws.put("specs/credit/spec.yaml", spec_yaml())
    spec = parse_spec(SPEC_YAML)
    baseline = build_baseline(frame(6_000, 0), spec)
    write_baseline(context, "credit", baseline, layout.reference_baseline_prefix("credit"))
    return aws


def monitor(context: RecordingContext, aws: Cloud, key: str, body: bytes) -> dict[str, Any]:
    return monitor_batch(context, s3_uploads(aws.put(key, body))[0])


def metric(context: RecordingContext, name: str, **dims: str) -> list[float]:
    return [
        v
        for n, v, _, d in context.metrics.points
        if n == name and all(d.get(k) == x for k, x in dims.items())
    ]


def reason(aws: Cloud, summary: dict[str, Any]) -> tuple[dict[str, Any], str]:
    key = summary["reason_uri"].split(f"{DATA_BUCKET}/", 1)[1]
    text_key = key.replace("reason.json", "reason.txt")
    text = aws.s3.get_object(Bucket=DATA_BUCKET, Key=text_key)["Body"].read().decode()
    return aws.get_json(key, bucket=DATA_BUCKET), text


# --- accepted batches -----------------------------------------------------------------------
def test_a_drifted_batch_gets_report_profile_violations_metrics_and_audit(
    onboarded: Cloud, context: RecordingContext
) -> None:
    aws = onboarded
    summary = monitor(
        context, aws, "inference/credit/2026-01-02.parquet", parquet(frame(4_000, 1, income_shift=5))
    )
    assert summary["status"] == "accepted" and summary["verdict"] == "drift"
    prefix = layout.batch_report_prefix("credit", summary["batch_id"])
    assert aws.keys(prefix, ARTIFACTS_BUCKET) == sorted(
        prefix + n for n in ("report.json", "report.html", "profile.json", "constraint_violations.json")
    )
    report = aws.get_json(prefix + "report.json")
    income = next(f for f in report["features"] if f["name"] == "income")
    assert income["drifted"] and income["severity"] == "drift"
    assert not any(f["drifted"] for f in report["features"] if f["name"] != "income")
    assert report["source"]["version_id"] and report["source"]["sha256"]
    assert report["time_min"] == "2026-01-01T00:00:00+00:00"
    assert report["lineage"]["baseline"]["uri"].endswith("models/credit/reference/baseline/baseline.json")
    assert report["timings"]["processing_ms"] > 0 and report["timings"]["peak_memory_mb"] > 0
    violations = aws.get_json(prefix + "constraint_violations.json")["violations"]
    assert {"feature_name": "income", "constraint_check_type": "baseline_drift_check"}.items() <= violations[
        0
    ].items()
    assert aws.get_json(prefix + "profile.json")["rows"] == 4_000
    html = aws.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key=prefix + "report.html")["Body"].read().decode()
    assert "<html" in html.lower() and "income" in html

    assert metric(context, "BatchRows", model="credit") == [4_000]
    assert metric(context, "BatchAccepted", model="credit") == [1]
    assert metric(context, "DatasetDrift", model="credit") == [1]
    assert metric(context, "DriftedFeatureShare", model="credit") == [pytest.approx(1 / 3)]
    assert metric(context, "FeatureDriftScore", model="credit", feature="income")[0] > 0.1
    assert len(metric(context, "MultivariateDriftAuc", model="credit")) == 1

    accepted, verdict = context.audit.events
    assert (accepted["action"], verdict["action"]) == ("batch.accepted", "drift.verdict")
    assert accepted["inputs"][0]["uri"] == f"s3://{DATA_BUCKET}/inference/credit/2026-01-02.parquet"
    assert accepted["inputs"][0]["sha256"] == report["source"]["sha256"]
    outputs = {o["uri"].rsplit("/", 1)[1]: o for o in accepted["outputs"]}
    assert set(outputs) == {"report.json", "report.html", "profile.json", "constraint_violations.json"}
    assert all(o["version_id"] for o in outputs.values())
    assert accepted["details"]["pii_findings"] == 0
    assert verdict["details"]["drifted_features"] == ["income"]


def test_report_json_round_trips_through_its_model_to_the_stored_page(
    onboarded: Cloud, context: RecordingContext
) -> None:
    """writer -> report.json -> BatchReport -> page, on a real run: the JSON is exactly what the
    model writes back (no field lost or guessed), and the stored page is what the parsed record draws."""
    from modelsteward.domain.report import BatchReport
    from modelsteward.reporting.batch import render_batch_report
    from modelsteward.services.batch_index import BatchIndex

    summary = monitor(
        context, onboarded, "inference/credit/2026-01-02.parquet", parquet(frame(4_000, 1, income_shift=5))
    )
    prefix = layout.batch_report_prefix("credit", summary["batch_id"])
    body = (
        onboarded.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key=prefix + "report.json")["Body"].read().decode()
    )
    report = BatchReport.model_validate_json(body)
    assert report.to_json(indent=2) == body
    assert BatchIndex(context, ARTIFACTS_BUCKET, "credit").read_report(summary["batch_id"]) == report
    stored = (
        onboarded.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key=prefix + "report.html")["Body"].read().decode()
    )
    generated = re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")
    assert generated.sub("", render_batch_report(report)) == generated.sub("", stored)
    assert report.verdict == summary["verdict"] == "drift" and "income" in stored


def test_a_page_that_cannot_be_drawn_costs_neither_the_record_nor_the_run(
    onboarded: Cloud,
    context: RecordingContext,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A renderer bug: report.json, the index, the audit and the metrics are all there; report.html
    is a notice pointing at the record (nothing of the record in it); page.failed is recorded and
    an ERROR logged, naming the error type and where, never its message (it could quote data)."""
    import modelsteward.reporting.batch as batch_page
    from modelsteward.domain.report import BatchReport
    from modelsteward.services.batch_index import BatchIndex

    def broken(report: BatchReport) -> str:
        raise ValueError(f"cannot draw {report.features[0].name}")

    monkeypatch.setattr(batch_page, "render_batch_report", broken)
    summary = monitor(
        context, onboarded, "inference/credit/2026-01-02.parquet", parquet(frame(4_000, 1, income_shift=5))
    )
    assert summary["status"] == "accepted" and summary["verdict"] == "drift"
    prefix = layout.batch_report_prefix("credit", summary["batch_id"])
    report = BatchIndex(context, ARTIFACTS_BUCKET, "credit").read_report(summary["batch_id"])
    assert report is not None and report.verdict == "drift"
    page = (
        onboarded.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key=prefix + "report.html")["Body"].read().decode()
    )
    assert "could not be drawn (ValueError in modelsteward/services/monitor_batch.py:" in page
    assert f"s3://{ARTIFACTS_BUCKET}/{prefix}report.json" in page
    assert "income" not in page and "cannot draw" not in page
    assert context.audit.actions() == ["page.failed", "batch.accepted", "drift.verdict"]
    failed = context.audit.events[0]
    assert (failed["model"], failed["details"]["page"], failed["details"]["error"]) == (
        "credit",
        "batch_report",
        "ValueError",
    )
    assert {o["uri"].rsplit("/", 1)[1] for o in failed["outputs"]} == {"report.json", "report.html"}
    assert "cannot draw" not in json.dumps(failed)
    (logged,) = [r for r in caplog.records if r.getMessage() == "page not drawn"]
    assert logged.levelname == "ERROR" and logged.__dict__["error"] == "ValueError"
    assert "cannot draw" not in json.dumps(logged.__dict__, default=str)
    assert metric(context, "BatchAccepted", model="credit") == [1]


def test_a_clean_batch_is_ok(onboarded: Cloud, context: RecordingContext) -> None:
    summary = monitor(context, onboarded, "inference/credit/ok.parquet", parquet(frame(3_000, 2)))
    assert summary["verdict"] == "ok"
    assert metric(context, "DatasetDrift", model="credit") == [0]
    assert metric(context, "QualityViolations", model="credit") == [0]


def test_the_same_object_delivered_twice_is_processed_once(
    onboarded: Cloud, context: RecordingContext
) -> None:
    upload = s3_uploads(onboarded.put("inference/credit/dup.parquet", parquet(frame(1_000, 3))))[0]
    first = monitor_batch(context, upload)
    second = monitor_batch(context, upload)
    assert first == second
    assert context.audit.actions().count("batch.accepted") == 1
    assert metric(context, "BatchAccepted", model="credit") == [1]


def test_a_crash_before_the_audit_record_is_redone_on_retry(
    onboarded: Cloud, context: RecordingContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = s3_uploads(onboarded.put("inference/credit/retry.parquet", parquet(frame(1_000, 4))))[0]
    real_put = context.store.put

    def failing_put(bucket: str, key: str, body: bytes, **kw: Any) -> ObjectRef:
        if key.endswith("report.json"):
            raise StorageError("throttled")
        return real_put(bucket, key, body, **kw)

    monkeypatch.setattr(context.store, "put", failing_put)
    with pytest.raises(StorageError):
        monitor_batch(context, upload)
    assert context.audit.events == []  # no record for a half-written batch
    monkeypatch.setattr(context.store, "put", real_put)
    assert monitor_batch(context, upload)["status"] == "accepted"
    assert context.audit.actions() == ["batch.accepted", "drift.verdict"]


class FakeRegistry(RegistryStub):
    """Just enough of the Registry port for monitor_batch: the champion row of each model."""

    def __init__(self, champions: dict[str, dict[str, Any]]) -> None:
        self.champions = champions

    def champion(self, model: str) -> dict[str, Any] | None:
        return self.champions.get(model)


def test_the_champions_baseline_wins(onboarded: Cloud, context: RecordingContext) -> None:
    spec = parse_spec(SPEC_YAML)
    champion_baseline = build_baseline(frame(3_000, 9, income_shift=5), spec, model_version=4)
    refs = write_baseline(context, "credit", champion_baseline, layout.baseline_prefix("credit", 4))
    context.registry = FakeRegistry({"credit": {"version": 4, "baseline_uri": refs["baseline"].uri}})
    summary = monitor(
        context, onboarded, "inference/credit/c.parquet", parquet(frame(3_000, 5, income_shift=5))
    )
    assert summary["model_version"] == 4 and summary["verdict"] == "ok"
    report = onboarded.get_json(summary["report_uri"].split(f"{ARTIFACTS_BUCKET}/", 1)[1])
    assert report["model_version"] == 4
    assert report["lineage"]["baseline"]["uri"] == refs["baseline"].uri


def test_pii_is_redacted_before_anything_is_kept(aws: Cloud, context: RecordingContext) -> None:
    aws.put("specs/credit/spec.yaml", spec_yaml(pii="  action: redact"))
    spec = parse_spec(spec_yaml(pii="  action: redact"))
    write_baseline(
        context, "credit", build_baseline(frame(3_000, 0), spec), layout.reference_baseline_prefix("credit")
    )
    emails = pa.array([f"person{i}@example.com" for i in range(2_000)])
    summary = monitor(context, aws, "inference/credit/pii.parquet", parquet(frame(2_000, 6, region=emails)))
    assert summary["status"] == "accepted"
    prefix = layout.batch_report_prefix("credit", summary["batch_id"])
    for name in ("report.json", "profile.json", "report.html", "constraint_violations.json"):
        body = aws.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key=prefix + name)["Body"].read().decode()
        assert "example.com" not in body, name
    report = aws.get_json(prefix + "report.json")
    assert report["pii"]["columns"] == ["region"] and report["pii"]["action"] == "redact"
    assert context.audit.actions() == ["pii.finding", "batch.accepted", "drift.verdict"]
    assert metric(context, "PiiFindings", model="credit")[0] > 0


# --- quarantine -----------------------------------------------------------------------------
def assert_untouched(aws: Cloud, key: str, body: bytes) -> None:
    versions = aws.s3.list_object_versions(Bucket=DATA_BUCKET, Prefix=key)["Versions"]
    assert len(versions) == 1
    assert aws.s3.get_object(Bucket=DATA_BUCKET, Key=key)["Body"].read() == body


def test_unknown_model_is_quarantined_with_a_reason(aws: Cloud, context: RecordingContext) -> None:
    body = parquet(frame(100, 1))
    summary = monitor(context, aws, "inference/ghost/b.parquet", body)
    assert summary["status"] == "quarantined" and summary["code"] == "unknown_model"
    doc, text = reason(aws, summary)
    assert doc["code"] == "unknown_model" and doc["key"] == "inference/ghost/b.parquet" and doc["version_id"]
    assert "How to fix it" in text and "steward models onboard" in text
    assert_untouched(aws, "inference/ghost/b.parquet", body)
    assert metric(context, "BatchQuarantined", model="ghost") == [1]
    (record,) = context.audit.events
    assert record["action"] == "batch.quarantined" and record["details"]["code"] == "unknown_model"


def test_no_baseline_is_quarantined_with_the_way_out(aws: Cloud, context: RecordingContext) -> None:
    aws.put("specs/credit/spec.yaml", spec_yaml())
    summary = monitor(context, aws, "inference/credit/early.parquet", parquet(frame(500, 1)))
    assert summary["code"] == "baseline_missing"
    _, text = reason(aws, summary)
    assert "reference/credit/" in text and "train" in text


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"\x00\x01not a table at all\xff" * 10, None),
        (b"id,income\n1,2\n", "missing_columns"),
    ],
)
def test_unreadable_or_incomplete_files_are_quarantined(
    onboarded: Cloud, context: RecordingContext, body: bytes, code: str | None
) -> None:
    summary = monitor(context, onboarded, "inference/credit/bad.csv", body)
    assert summary["status"] == "quarantined"
    assert summary["code"] == code if code else summary["code"] not in ("unknown_model", "baseline_missing")
    assert_untouched(onboarded, "inference/credit/bad.csv", body)
    assert not onboarded.keys("reports/", ARTIFACTS_BUCKET)


def test_pii_quarantine_lists_columns_and_kinds_never_values(
    onboarded: Cloud, context: RecordingContext
) -> None:
    emails = pa.array([f"person{i}@example.com" for i in range(1_000)])
    summary = monitor(
        context, onboarded, "inference/credit/pii.parquet", parquet(frame(1_000, 7, region=emails))
    )
    assert summary["code"] == "pii_found"
    doc, text = reason(onboarded, summary)
    assert doc["sha256"] and doc["version_id"]  # the exact object version that was refused
    assert doc["details"]["pii"]["findings"][0]["column"] == "region"
    assert "example.com" not in json.dumps(doc) and "example.com" not in text
    assert "region" in text and "email" in text
    assert context.audit.actions() == ["pii.finding", "batch.quarantined"]
    # quarantine must not hide the finding from the PII alarm
    pii_points = [p for p in context.metrics.points if p[0] == "PiiFindings"]
    assert pii_points and pii_points[0][1] >= 10 and pii_points[0][3] == {"model": "credit"}


def test_quality_quarantine_when_the_spec_asks_for_it(aws: Cloud, context: RecordingContext) -> None:
    yaml = spec_yaml(quality="  quarantine_on_violation: true")
    aws.put("specs/credit/spec.yaml", yaml)
    write_baseline(
        context,
        "credit",
        build_baseline(frame(3_000, 0), parse_spec(yaml)),
        layout.reference_baseline_prefix("credit"),
    )
    table = frame(1_000, 8)
    table = table.set_column(2, "income", pa.nulls(1_000, pa.float64()))
    summary = monitor(context, aws, "inference/credit/empty-income.parquet", parquet(table))
    assert summary["code"] == "quality_violation"
    doc, text = reason(aws, summary)
    assert any(v["check"] == "completeness" and v["column"] == "income" for v in doc["details"]["violations"])
    assert "income" in text
    violations = [p for p in context.metrics.points if p[0] == "QualityViolations"]
    assert violations and violations[0][1] >= 1  # the quality alarm still sees it


def test_a_key_outside_the_layout_is_recorded(aws: Cloud, context: RecordingContext) -> None:
    summary = monitor(context, aws, "inference/NotAModel/x.csv", b"a\n1\n")
    assert summary["status"] == "quarantined" and summary["code"] == "bad_model_name"
    assert aws.keys("quarantine/_unrouted/", DATA_BUCKET)


# --- the Lambda handler ---------------------------------------------------------------------
def load_handler() -> Handler:
    spec = importlib.util.spec_from_file_location(
        "monitor_batch_app", ROOT / "functions" / "monitor_batch" / "app.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Handler = module.handler
    return handler


def test_handler_on_the_real_adapters(
    onboarded: Cloud, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = load_handler()
    event = onboarded.put("inference/credit/hello world.parquet", parquet(frame(1_500, 10)))
    assert (
        json.loads(json.dumps(event))["Records"][0]["s3"]["object"]["key"]
        == "inference%2Fcredit%2Fhello+world.parquet"
    )
    result = handler(event, lambda_context)
    assert result["ok"] and result["batches"][0]["status"] == "accepted"
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    names = {m["Name"] for doc in emf for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"BatchRows", "BatchAccepted", "DatasetDrift", "FeatureDriftScore"} <= names
    table = onboarded.dynamodb.scan(TableName="steward-audit")["Items"]
    assert sorted(i["action"]["S"] for i in table) == ["batch.accepted", "drift.verdict"]
    assert handler({"Event": "s3:TestEvent"}, lambda_context) == {"ok": True, "batches": []}

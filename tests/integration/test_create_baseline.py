"""create_baseline on moto: reference upload -> baseline + SageMaker files, audit, quarantine on bad input."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from modelsteward import layout
from modelsteward.domain.baseline import Baseline
from modelsteward.domain.baseline_builder import build_baseline
from modelsteward.events import s3_uploads
from modelsteward.services.create_baseline import create_baseline, write_baseline
from modelsteward.spec import parse_spec

if TYPE_CHECKING:
    from conftest import Cloud, FakeLambdaContext, RecordingContext

DATA_BUCKET = "steward-data"  # the buckets the `aws` fixture creates (tests/integration/conftest.py)
ARTIFACTS_BUCKET = "steward-artifacts"

SPEC_YAML = b"""
name: churn
task: binary
target: churned
features:
  numeric: [tenure, spend]
  categorical: [plan]
"""


def parquet(n: int, seed: int, *, drop: str | None = None, email: bool = False) -> bytes:
    rng = np.random.default_rng(seed)
    cols = {
        "tenure": rng.integers(0, 72, n),
        "spend": rng.gamma(2.0, 30.0, n),
        "plan": rng.choice(["basic", "plus", "pro"], n),
        "prediction": rng.choice(["0", "1"], n),
        "churned": rng.choice(["0", "1"], n),
    }
    if email:
        cols["plan"] = np.array([f"user{i}@example.com" for i in range(n)])
    if drop:
        cols.pop(drop)
    buf = io.BytesIO()
    pq.write_table(pa.table(cols), buf)
    return buf.getvalue()


def test_reference_upload_builds_the_baseline(aws: Cloud, context: RecordingContext) -> None:
    aws.put("specs/churn/spec.yaml", SPEC_YAML)
    event = aws.put("reference/churn/train-2026.parquet", parquet(3_000, 0))
    summary = create_baseline(context, s3_uploads(event)[0])
    assert summary["status"] == "created" and summary["rows"] == 3_000
    prefix = layout.reference_baseline_prefix("churn")
    assert aws.keys(prefix, ARTIFACTS_BUCKET) == [
        prefix + n for n in ("baseline.json", "constraints.json", "statistics.json")
    ]
    baseline = Baseline.model_validate(aws.get_json(prefix + "baseline.json"))
    assert set(baseline.columns) == {"tenure", "spend", "plan", "prediction", "churned"}
    assert baseline.sources[0]["uri"] == f"s3://{DATA_BUCKET}/reference/churn/train-2026.parquet"
    assert baseline.sources[0]["sha256"] and baseline.sources[0]["version_id"]
    assert aws.get_json(prefix + "statistics.json")["dataset"]["item_count"] == 3_000
    assert summary["baseline_version_id"]
    (record,) = context.audit.events
    assert record["action"] == "baseline.created" and record["model"] == "churn"
    assert {o["uri"].rsplit("/", 1)[1] for o in record["outputs"]} == {
        "baseline.json",
        "statistics.json",
        "constraints.json",
        "metrics.json",  # labels + predictions: the reference score realized drops compare to
    }
    assert record["inputs"][0]["sha256"] == baseline.sources[0]["sha256"]


def test_the_same_delivery_twice_builds_once(aws: Cloud, context: RecordingContext) -> None:
    aws.put("specs/churn/spec.yaml", SPEC_YAML)
    upload = s3_uploads(aws.put("reference/churn/ref.parquet", parquet(500, 1)))[0]
    first = create_baseline(context, upload)
    second = create_baseline(context, upload)
    assert first == second
    assert [e["action"] for e in context.audit.events] == ["baseline.created"]


def test_a_reference_without_a_feature_is_quarantined(aws: Cloud, context: RecordingContext) -> None:
    aws.put("specs/churn/spec.yaml", SPEC_YAML)
    body = parquet(500, 2, drop="spend")
    event = aws.put("reference/churn/ref.parquet", body)
    summary = create_baseline(context, s3_uploads(event)[0])
    assert summary["status"] == "quarantined" and summary["code"] == "missing_columns"
    assert "spend" in summary["reason"]
    assert aws.keys("quarantine/churn/", DATA_BUCKET)
    assert not aws.keys("models/", ARTIFACTS_BUCKET)
    assert aws.s3.get_object(Bucket=DATA_BUCKET, Key="reference/churn/ref.parquet")["Body"].read() == body
    assert context.audit.actions() == ["batch.quarantined"]


def test_personal_data_in_a_reference_is_quarantined_by_default(
    aws: Cloud, context: RecordingContext
) -> None:
    aws.put("specs/churn/spec.yaml", SPEC_YAML)
    summary = create_baseline(
        context, s3_uploads(aws.put("reference/churn/r.parquet", parquet(500, 3, email=True)))[0]
    )
    assert summary["code"] == "pii_found"
    reason = aws.get_json(summary["reason_uri"].split(f"{DATA_BUCKET}/", 1)[1], bucket=DATA_BUCKET)
    assert reason["details"]["pii"]["findings"][0]["kind"] == "email"
    assert "example.com" not in str(reason)


def test_write_baseline_for_a_model_version(aws: Cloud, context: RecordingContext) -> None:
    spec = parse_spec(SPEC_YAML)
    table = pq.read_table(io.BytesIO(parquet(800, 4)))
    baseline = build_baseline(table, spec, model_version=7, feature_importance={"tenure": 2, "spend": 1})
    refs = write_baseline(context, "churn", baseline, layout.baseline_prefix("churn", 7))
    assert refs["baseline"].key == "models/churn/v0007/baseline/baseline.json"
    assert refs["baseline"].version_id and refs["statistics"].sha256
    stored = Baseline.model_validate(aws.get_json(refs["baseline"].key))
    assert stored.model_version == 7 and stored.feature_importance["tenure"] == 2 / 3


def test_handler(aws: Cloud, lambda_context: FakeLambdaContext) -> None:
    import importlib.util
    from pathlib import Path

    app = Path(__file__).resolve().parents[2] / "functions" / "create_baseline" / "app.py"
    spec = importlib.util.spec_from_file_location("create_baseline_app", app)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    aws.put("specs/churn/spec.yaml", SPEC_YAML)
    result = module.handler(aws.put("reference/churn/with space.parquet", parquet(300, 5)), lambda_context)
    assert result["ok"] and result["baselines"][0]["status"] == "created"
    assert module.handler({"Event": "s3:TestEvent"}, lambda_context) == {"ok": True, "baselines": []}
    assert module.handler({"hello": 1}, lambda_context)["ok"] is False

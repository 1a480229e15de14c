"""The two workloads the fault and race tests drive: a monitored model and a trainable model.

Small inputs (a few hundred rows, a 25-iteration booster) keep each run well under a second.
"""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from modelsteward import layout
from modelsteward.events import S3Upload, s3_uploads

ROOT = Path(__file__).resolve().parents[2]
MONITORED = "credit"
TRAINED = "credit-default"
MONITOR_SPEC = """
name: credit
task: binary
target: default
probability_column: score
features:
  numeric: [income, age]
  categorical: [region]
"""
FAST_ESTIMATOR = {
    "class_path": "sklearn.ensemble.HistGradientBoostingClassifier",
    "params": {"max_iter": 25, "learning_rate": 0.15, "early_stopping": False},
}


def s3_event(bucket: str, key: str, version_id: str | None, size: int) -> dict[str, Any]:
    import urllib.parse

    obj: dict[str, Any] = {"key": urllib.parse.quote_plus(key), "size": size, "eTag": "etag"}
    if version_id:
        obj["versionId"] = version_id
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-01-01T00:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": obj,
                },
            }
        ]
    }


def put(bucket: str, key: str, body: bytes) -> S3Upload:
    """Upload like a user and return the upload as the notification names it."""
    import boto3

    resp = boto3.client("s3", region_name="us-east-1").put_object(Bucket=bucket, Key=key, Body=body)
    return s3_uploads(s3_event(bucket, key, resp.get("VersionId"), len(body)))[0]


def inference_frame(n: int, seed: int, income_shift: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "id": [f"{seed}-{i}" for i in range(n)],
            "timestamp": pa.array(np.datetime64("2026-01-01T00:00") + np.arange(n).astype("timedelta64[s]")),
            "income": rng.normal(50 + income_shift, 10, n),
            "age": rng.normal(40, 8, n).round(),
            "region": rng.choice(["north", "south", "east"], n),
            "prediction": rng.choice(["0", "1"], n),
            "score": rng.random(n),
        }
    )


def parquet(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def onboard_monitored(ctx: Any, data_bucket: str) -> None:
    """The spec and a reference baseline of the monitored model."""
    from modelsteward.domain.baseline_builder import build_baseline
    from modelsteward.services.create_baseline import write_baseline
    from modelsteward.spec import parse_spec

    put(data_bucket, layout.spec_key(MONITORED), MONITOR_SPEC.encode())
    spec = parse_spec(MONITOR_SPEC)
    baseline = build_baseline(inference_frame(800, 0), spec)
    write_baseline(ctx, MONITORED, baseline, layout.reference_baseline_prefix(MONITORED))


def trained_spec() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "specs" / f"{TRAINED}.yaml").read_text())
    doc["estimator"] = copy.deepcopy(FAST_ESTIMATOR)
    doc["gate"] = {**doc.get("gate", {}), "bootstrap_rounds": 100}
    return doc


def onboard_trained(data_bucket: str) -> None:
    put(data_bucket, layout.spec_key(TRAINED), yaml.safe_dump(trained_spec()).encode())


def training_csv(n: int = 800, seed: int = 1) -> bytes:
    from stewardtools.datasets import credit_default

    frame = credit_default(n, seed=seed)
    if "timestamp" in frame:
        import pandas as pd

        frame["timestamp"] = pd.to_datetime(frame["timestamp"]).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    text: str = frame.to_csv(index=False)  # pandas ships no type hints
    return text.encode()

"""A small moto world for score_batch / evaluate_labels: buckets, tables, a spec, trained versions.

Imported by tests/integration/test_score_batch.py and test_evaluate_labels.py (not a conftest, so
it does not leak into other suites).
"""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import numpy as np
import pandas as pd
import pytest
from lambda_context import Handler
from moto import mock_aws

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ROOT = Path(__file__).resolve().parents[2]
MODEL = "credit"
DATA, ARTIFACTS, AUDIT = "steward-data", "steward-artifacts", "steward-audit"
REGISTRY, AUDIT_TABLE, IDEMPOTENCY = "steward-registry", "steward-audit-log", "steward-idempotency"

SPEC: dict[str, Any] = {
    "name": MODEL,
    "task": "binary",
    "target": "default",
    "id_column": "id",
    "timestamp_column": "timestamp",
    "features": {"numeric": ["income", "debt"], "categorical": ["region"]},
    "segments": ["region"],
    "estimator": {"class_path": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 500}},
    "primary_metric": "roc_auc",
    "pii": {"action": "quarantine"},
}


def make_frame(n: int, seed: int, *, start: int = 0, spread: float = 1.0) -> pd.DataFrame:
    """Applicants with a known default mechanism P(default | inputs).

    ``spread`` < 1 is a covariate shift toward the decision boundary (inputs concentrate where the
    classes overlap): the mechanism is unchanged but performance drops.
    """
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 15 * spread, n)
    debt = rng.normal(20, 8 * spread, n)
    region = rng.choice(["north", "south", "east"], n)
    logit = 0.12 * (debt - 20) - 0.06 * (income - 50) + np.where(region == "south", 0.8, 0.0)
    default = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    stamps = pd.Timestamp("2026-03-01T00:00:00Z") + pd.to_timedelta(np.arange(n) * 60, unit="s")
    return pd.DataFrame(
        {
            "id": [f"c{start + i}" for i in range(n)],
            "timestamp": stamps,
            "income": income.round(2),
            "debt": debt.round(2),
            "region": region,
            "default": default,
        }
    )


def csv_bytes(frame: pd.DataFrame) -> bytes:
    out = frame.copy()
    if "timestamp" in out:
        out["timestamp"] = out["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    text: str = out.to_csv(index=False)  # pandas ships no type hints
    return text.encode()


def read_parquet(body: bytes) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(body))


def s3_event(bucket: str, key: str, version_id: str | None, size: int) -> dict[str, Any]:
    from urllib.parse import quote_plus

    obj: dict[str, Any] = {"key": quote_plus(key), "size": size, "eTag": "etag"}
    if version_id:
        obj["versionId"] = version_id
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-03-01T00:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": obj,
                },
            }
        ]
    }


def load_handler(function: str) -> Handler:
    """functions/<function>/app.py as a uniquely named module (every handler file is app.py)."""
    name = f"_quality_handler_{function}"
    handler: Handler
    if name in sys.modules:
        handler = sys.modules[name].handler
        return handler
    spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / function / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    handler = module.handler
    return handler


def emf_points(text: str) -> list[tuple[str, float, dict[str, str]]]:
    """(metric, value, dimensions) from the EMF lines a handler printed."""
    points = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        doc = json.loads(line)
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            dims = {d: doc[d] for dset in directive["Dimensions"] for d in dset}
            for metric in directive["Metrics"]:
                value = doc[metric["Name"]]
                for v in value if isinstance(value, list) else [value]:
                    points.append((metric["Name"], float(v), dims))
    return points


_TRAINED: dict[tuple[str, int], tuple[Any, ...]] = {}


@dataclass
class Trained:
    version: int
    pipeline: Any
    classes: list[str]
    metrics: dict[str, Any]
    holdout_proba: np.ndarray
    holdout_labels: np.ndarray


@dataclass
class QualityWorld:
    s3: S3Client
    spec_doc: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(SPEC))

    @property
    def store(self) -> Any:
        from modelsteward.adapters.s3 import S3ObjectStore

        return S3ObjectStore()

    @property
    def registry(self) -> Any:
        from modelsteward.adapters.dynamodb_registry import DynamoRegistry

        return DynamoRegistry(REGISTRY)

    def put_spec(self, doc: dict[str, Any] | None = None) -> None:
        import yaml

        from modelsteward.layout import spec_key

        self.spec_doc = copy.deepcopy(doc or self.spec_doc)
        self.s3.put_object(
            Bucket=DATA, Key=spec_key(self.spec_doc["name"]), Body=yaml.safe_dump(self.spec_doc)
        )

    def train(self, version: int, frame: pd.DataFrame, params: dict[str, Any] | None = None) -> Trained:
        """Train with the spec's pipeline (domain.training); cached per (spec, data, params) for speed."""
        from modelsteward.domain.training import train
        from modelsteward.spec import parse_spec

        doc = copy.deepcopy(self.spec_doc)
        if params:
            doc["estimator"]["params"].update(params)
        key = (json.dumps(doc, sort_keys=True), pd.util.hash_pandas_object(frame).sum())
        if key not in _TRAINED:
            result = train(parse_spec(doc), frame)
            _TRAINED[key] = (
                result.pipeline,
                list(result.classes or []),
                result.metrics,
                result.holdout_predictions.proba,
                result.holdout[doc["target"]].to_numpy(),
            )
        return Trained(version, *_TRAINED[key])

    def register(self, trained: Trained, *, estimation: bool = True, tamper: bool = False) -> dict[str, Any]:
        """Store the artifact (and estimation.json) and write an Approved registry row."""
        from modelsteward.domain.estimation import fit_estimator_for_version
        from modelsteward.domain.model_artifact import dump_model, sha256_hex
        from modelsteward.layout import estimation_key, model_artifact_key

        model = self.spec_doc["name"]
        body = dump_model(trained.pipeline)
        key = model_artifact_key(model, trained.version)
        put = self.s3.put_object(Bucket=ARTIFACTS, Key=key, Body=body)
        sha = sha256_hex(body)
        if tamper:  # the object is replaced after registration: its digest no longer matches
            put = self.s3.put_object(Bucket=ARTIFACTS, Key=key, Body=body + b"\0")
        if estimation:
            doc = fit_estimator_for_version(trained.holdout_proba, trained.holdout_labels, trained.classes)
            self.s3.put_object(
                Bucket=ARTIFACTS, Key=estimation_key(model, trained.version), Body=json.dumps(doc).encode()
            )
        metrics = {k: v for k, v in trained.metrics.items() if isinstance(v, int | float)}
        row = {
            "status": "Approved",
            "metrics": metrics,
            "classes": trained.classes,
            "artifact": {"uri": f"s3://{ARTIFACTS}/{key}", "version_id": put.get("VersionId"), "sha256": sha},
        }
        self.registry.put_version(model, trained.version, row)
        return row

    def serve(self, champion: int, challenger: int | None = None, share: float = 0.0) -> None:
        model = self.spec_doc["name"]
        self.registry.update_model_state(
            model, {"champion": champion, "challenger": challenger, "traffic_share": share}
        )
        self.registry.update_version(model, champion, {"alias": "champion"})

    def upload(self, key: str, body: bytes) -> dict[str, Any]:
        resp = self.s3.put_object(Bucket=DATA, Key=key, Body=body)
        return s3_event(DATA, key, resp.get("VersionId"), len(body))

    def get(self, bucket: str, key: str) -> bytes:
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def keys(self, bucket: str, prefix: str) -> list[str]:
        resp = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(o["Key"] for o in resp.get("Contents", []))

    def audit(self, action: str | None = None) -> list[dict[str, Any]]:
        from modelsteward.adapters.dynamodb_audit import DynamoAuditLog

        records = list(DynamoAuditLog(AUDIT_TABLE).records())
        return [r for r in records if action is None or r["action"] == action]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[QualityWorld]:
    env = {
        "DATA_BUCKET": DATA,
        "ARTIFACTS_BUCKET": ARTIFACTS,
        "AUDIT_BUCKET": AUDIT,
        "REGISTRY_TABLE": REGISTRY,
        "AUDIT_TABLE": AUDIT_TABLE,
        "IDEMPOTENCY_TABLE": IDEMPOTENCY,
        "POWERTOOLS_METRICS_NAMESPACE": "ModelSteward",
        "STAGE": "test",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    from modelsteward.adapters.aws import reset_clients
    from modelsteward.config import reset_settings
    from modelsteward.idempotency import reset_idempotency
    from modelsteward.services.context import reset_contexts
    from modelsteward.services.score_batch import clear_model_cache

    with mock_aws():
        for reset in (reset_settings, reset_clients, reset_contexts, reset_idempotency, clear_model_cache):
            reset()
        s3 = boto3.client("s3", region_name="us-east-1")
        for bucket in (DATA, ARTIFACTS, AUDIT):
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName=REGISTRY,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
        )
        ddb.create_table(
            TableName=AUDIT_TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
            ],
        )
        ddb.create_table(
            TableName=IDEMPOTENCY,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        )
        world = QualityWorld(s3=s3)
        world.put_spec()
        yield world
        for reset in (reset_settings, reset_clients, reset_contexts, reset_idempotency, clear_model_cache):
            reset()

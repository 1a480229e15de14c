"""A small moto world for handle_alarm and check_window: a spec, a reference baseline, monitored batches.

Imported by test_handle_alarm.py and test_check_window.py (builds on the ``aws`` fixture of this
suite's conftest). Batches go through the real create_baseline and monitor_batch services, so
the reports, profiles and index the alerting code reads are the ones production writes.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml
from lambda_context import Handler

if TYPE_CHECKING:
    from conftest import Cloud

ROOT = Path(__file__).resolve().parents[2]
MODEL = "churn"
T0 = dt.datetime(2026, 3, 3, tzinfo=dt.UTC)  # a Tuesday

SPEC: dict[str, Any] = {
    "name": MODEL,
    "task": "binary",
    "target": "churned",
    "classes": ["0", "1"],
    "id_column": "id",
    "timestamp_column": "timestamp",
    "features": {"numeric": ["tenure", "spend", "calls"], "categorical": ["plan"]},
    "window": "day",
    "drift": {"min_samples": 100, "dataset_drift_share": 0.3},
    "retrain": {"cooldown_hours": 24, "on_alarms": ["drift", "performance"]},
    "pii": {"action": "quarantine"},
    "governance": {"freshness_hours": 24},
}


def frame(
    n: int, seed: int, *, shift: float = 0.0, start: dt.datetime = T0, minutes: float = 1.0
) -> pd.DataFrame:
    """Customers; ``shift`` moves tenure and spend (in reference standard deviations) and the plan mix."""
    rng = np.random.default_rng(seed)
    plans = rng.choice(["basic", "plus", "pro"], n, p=_plan_mix(shift))
    stamps = pd.Timestamp(start) + pd.to_timedelta(np.arange(n) * minutes * 60, unit="s")
    return pd.DataFrame(
        {
            "id": [f"c{seed}-{i}" for i in range(n)],
            "timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tenure": rng.normal(24 + 12 * shift, 12, n).round(1),
            "spend": rng.normal(50 + 20 * shift, 20, n).round(2),
            "calls": rng.poisson(3, n),
            "plan": plans,
            "prediction": rng.choice(["0", "1"], n, p=[0.8, 0.2]),
        }
    )


def _plan_mix(shift: float) -> list[float]:
    pro = min(0.6, 0.2 + 0.3 * shift)
    return [0.7 - pro, 0.3, pro]


def csv_bytes(data: pd.DataFrame) -> bytes:
    text: str = data.to_csv(index=False)  # pandas ships no type hints
    return text.encode()


class RecordingNotifier:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str, dict[str, str]]] = []

    def publish(self, subject: str, message: str, attributes: Mapping[str, str] | None = None) -> str:
        self.messages.append((subject, message, dict(attributes or {})))
        return f"msg-{len(self.messages)}"

    @property
    def subjects(self) -> list[str]:
        return [s for s, _, _ in self.messages]


class RecordingInvoker:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def invoke_async(self, function_name: str, payload: Mapping[str, Any]) -> None:
        self.calls.append((function_name, dict(payload)))


@dataclass
class Clock:
    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class World:
    ctx: Any
    aws: Cloud
    clock: Clock
    notifier: RecordingNotifier
    invoker: RecordingInvoker
    batches: list[str] = field(default_factory=list)

    @property
    def audit_actions(self) -> list[str]:
        return [r["action"] for r in self.ctx.audit.records()]

    def metrics(self, name: str) -> list[tuple[float, dict[str, str]]]:
        return [(v, d) for n, v, _, d in self.ctx.metrics.points if n == name]

    def monitor(self, data: pd.DataFrame, name: str, *, at: dt.datetime | None = None) -> dict[str, Any]:
        """Upload an inference batch and run the real monitor_batch on it (at ``at`` if given)."""
        from modelsteward.events import S3Upload
        from modelsteward.services.monitor_batch import monitor_batch

        key = f"inference/{MODEL}/{name}.csv"
        body = csv_bytes(data)
        resp = self.aws.s3.put_object(Bucket=self.ctx.settings.data_bucket, Key=key, Body=body)
        saved = self.clock.now
        if at is not None:
            self.clock.now = at
        try:
            result = monitor_batch(
                self.ctx, S3Upload(self.ctx.settings.data_bucket, key, resp.get("VersionId"), len(body), None)
            )
        finally:
            self.clock.now = saved
        assert result["status"] == "accepted", result
        self.batches.append(result["batch_id"])
        return result

    def report(self, batch_id: str) -> dict[str, Any]:
        from modelsteward import layout

        report: dict[str, Any] = self.aws.get_json(
            layout.batch_report_prefix(MODEL, batch_id) + "report.json"
        )
        return report


def make_world(
    aws: Cloud,
    *,
    spec: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
    trainable: bool = True,
) -> World:
    """Spec + reference baseline (through create_baseline) + a Context with recording ports; with
    ``trainable`` a training snapshot too (without: a model served elsewhere, monitored only)."""
    from modelsteward.adapters.dynamodb_audit import DynamoAuditLog
    from modelsteward.adapters.dynamodb_registry import DynamoRegistry
    from modelsteward.adapters.metrics import RecordingMetrics
    from modelsteward.adapters.s3 import S3ObjectStore
    from modelsteward.config import settings
    from modelsteward.events import S3Upload
    from modelsteward.layout import spec_key
    from modelsteward.services.context import Context
    from modelsteward.services.create_baseline import create_baseline

    s = settings()
    clock = Clock(now or T0 + dt.timedelta(days=1, hours=1))
    notifier, invoker = RecordingNotifier(), RecordingInvoker()
    ctx = Context(
        settings=s,
        store=S3ObjectStore(),
        metrics=RecordingMetrics(),
        notifier=notifier,
        invoker=invoker,
        registry=DynamoRegistry(s.registry_table),
        audit=DynamoAuditLog(s.audit_table, export_bucket=s.audit_bucket, store=S3ObjectStore()),
        actor="test",
        clock=clock,
    )
    aws.put(spec_key(MODEL), yaml.safe_dump(dict(spec or SPEC)).encode())
    reference = csv_bytes(frame(3000, seed=1, start=T0 - dt.timedelta(days=30)))
    key = f"reference/{MODEL}/reference.csv"
    resp = aws.s3.put_object(Bucket=s.data_bucket, Key=key, Body=reference)
    result = create_baseline(ctx, S3Upload(s.data_bucket, key, resp.get("VersionId"), len(reference), None))
    assert result.get("status") in ("created", "baseline", "ok", "accepted") or "baseline" in str(result), (
        result
    )
    if trainable:  # a training snapshot: the suite can retrain this model (else it is monitored only)
        aws.put(f"training/{MODEL}/snapshot.csv", reference)
    return World(ctx=ctx, aws=aws, clock=clock, notifier=notifier, invoker=invoker)


def load_handler(function: str) -> Handler:
    """functions/<function>/app.py as a uniquely named module (every handler file is app.py)."""
    name = f"_alerting_handler_{function}"
    if name not in sys.modules:
        module_spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / function / "app.py")
        assert module_spec and module_spec.loader
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
    handler: Handler = sys.modules[name].handler
    return handler

"""At-least-once delivery on the local cloud: every event delivered again (twice in a row, then twice
from concurrent threads) changes nothing: one result, one audit record per action, one email.

The real template runs on moto with the real handlers (tests/e2e's way). The first delivery of
each event comes from the cloud itself (an S3 upload, an alarm's SNS message, a fired schedule);
the test then re-delivers the exact event the function received, as S3, SNS and EventBridge may.
Re-deliveries through ``LocalCloud.invoke`` from several threads are serialized by the local Lambda
runtime (one handler at a time); truly concurrent duplicates are tested on moto directly in
test_concurrency.py.
"""

from __future__ import annotations

import collections
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from reliability_stack import Ledger
from reliability_workloads import TRAINED, trained_spec, training_csv

from stewardtools.localcloud.deploy import LocalCloud

ROOT = Path(__file__).resolve().parents[2]
MODEL = TRAINED


def _csv(frame: Any) -> bytes:
    import pandas as pd

    out = frame.copy()
    if "timestamp" in out:
        out["timestamp"] = pd.to_datetime(out["timestamp"]).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    text: str = out.to_csv(index=False)  # pandas ships no type hints
    return text.encode()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """The stack with one model that has a champion, a scored+monitored batch, labels, one alarm
    episode and one run of each schedule: every function has run once on a real event."""
    from stewardtools.datasets import credit_default

    state = tmp_path_factory.mktemp("reliability-cloud")
    with LocalCloud(template=ROOT / "template.yaml", models=[MODEL], state_dir=state) as c:
        c.upload(f"specs/{MODEL}/spec.yaml", yaml.safe_dump(trained_spec()).encode())
        c.upload(f"training/{MODEL}/snapshot.csv", training_csv(1_200, seed=1))
        c.wait_idle()
        batch = credit_default(300, seed=5, start=c.now)
        c.upload(f"scoring/{MODEL}/batch-1.csv", _csv(batch.drop(columns=["default"])))
        c.wait_idle()
        c.upload(f"labels/{MODEL}/batch-1.csv", _csv(batch[["id", "default"]]))
        c.wait_idle()
        quality = next(name for name in c.alarm_names.values() if name.endswith(f"{MODEL}-quality"))
        c.client("cloudwatch").set_alarm_state(AlarmName=quality, StateValue="ALARM", StateReason="test")
        c.wait_idle()
        c.advance(hours=1)
        c.fire_schedule("CheckWindowFunction")
        c.fire_schedule("RunAuditFunction")
        c.wait_idle()
        yield c


def _context(cloud: LocalCloud) -> Any:
    from stewardtools.operations.context import cli_context

    return cli_context(cloud.stack_name, actor="test")


def _snapshot(cloud: LocalCloud) -> dict[str, Any]:
    """What a duplicate must not change: audit actions, emails, stored object versions, registry rows."""
    ctx = _context(cloud)
    s3 = cloud.client("s3")
    versions: list[str] = []
    for bucket in (cloud.outputs["DataBucketName"], cloud.outputs["ArtifactsBucketName"]):
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            versions += [f"{v['Key']}@{v['VersionId']}" for v in page.get("Versions", [])]
    return {
        "audit": collections.Counter(r["action"] for r in ctx.audit.records()),
        "emails": len(cloud.outbox_messages()),
        "object_versions": sorted(versions),
        "registry_versions": len(ctx.registry.list_versions(MODEL)),
        "champion": ctx.registry.get_model_state(MODEL).get("champion"),
    }


def _new_objects(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Object versions a re-delivery wrote; derived views too (check_window redraws the drift
    timeline only when its points changed)."""
    return sorted(set(after["object_versions"]) - set(before["object_versions"]))


def _first_event(cloud: LocalCloud, function: str) -> tuple[Any, Any]:
    runs = [r for r in cloud.invocations_of(function) if r.ok and r.trigger != "invoke"]
    assert runs, (
        f"{function} never ran on a delivered event: {[r.summary() for r in cloud.invocations_of(function)]}"
    )
    return runs[0].event, runs[0].result


def _redeliver(cloud: LocalCloud, function: str, event: Any) -> list[Any]:
    """Once more in a row, then twice at once from two threads; every run must succeed."""
    runs = [cloud.invoke(function, event)]
    lock = threading.Lock()

    def again() -> None:
        run = cloud.invoke(function, event)
        with lock:
            runs.append(run)

    threads = [threading.Thread(target=again) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(runs) == 3
    for run in runs:
        assert run.ok, (function, run.error_type, run.error_message)
    return [run.result for run in runs]


FUNCTIONS = [
    ("MonitorBatchFunction", "s3"),
    ("ScoreBatchFunction", "s3"),
    ("EvaluateLabelsFunction", "s3"),
    ("TrainModelFunction", "s3"),
    ("HandleAlarmFunction", "sns"),
    ("CheckWindowFunction", "schedule"),
    ("RunAuditFunction", "schedule"),
]


@pytest.mark.parametrize(("function", "source"), FUNCTIONS)
def test_a_redelivered_event_changes_nothing(
    cloud: LocalCloud, ledger: Ledger, function: str, source: str
) -> None:
    event, first_result = _first_event(cloud, function)
    before = _snapshot(cloud)
    results = _redeliver(cloud, function, event)
    after = _snapshot(cloud)
    changed = {k: (before[k], after[k]) for k in before if k != "object_versions" and before[k] != after[k]}
    new_objects = _new_objects(before, after)
    assert not changed and not new_objects, (changed, new_objects)
    if source == "s3":  # the stored result of the first run answers every duplicate
        assert all(r == first_result for r in results), (first_result, results)
    ledger.duplicate(
        function,
        len(results) + 1,
        f"{source}: original + 1 sequential + 2 threaded",
        audit_records=sum(before["audit"].values()),
        emails=before["emails"],
        object_versions=len(before["object_versions"]),
    )


def test_a_schedule_fired_twice_in_one_tick_runs_once(cloud: LocalCloud, ledger: Ledger) -> None:
    before = _snapshot(cloud)
    for _ in range(2):
        cloud.fire_schedule("CheckWindowFunction")
        cloud.fire_schedule("RunAuditFunction")
    after = _snapshot(cloud)
    assert _new_objects(before, after) == []
    assert {k: v for k, v in after.items() if k != "object_versions"} == {
        k: v for k, v in before.items() if k != "object_versions"
    }
    ledger.duplicate("CheckWindowFunction+RunAuditFunction", 4, "schedule: the same tick fired twice more")


def test_the_first_deliveries_did_their_work_once(cloud: LocalCloud) -> None:
    """The baseline the duplicates are compared with is itself right: one of each, and one email
    for the alarm episode."""
    snap = _snapshot(cloud)
    audit = snap["audit"]
    # v1, plus at most one retrain: an episode of the first labeled batch may request one (the first
    # training starts no cooldown); one that waits for labels of the new data trains nothing yet
    assert audit["retrain.requested"] <= 1
    assert snap["registry_versions"] == 1 + audit["retrain.requested"] - audit.get("retrain.deferred", 0)
    assert audit["model.promoted"] == 1 and audit["batch.accepted"] == 1 and audit["labels.evaluated"] == 1
    assert audit["audit.run"] == 1
    alarm_mails = [m for m in cloud.outbox_messages() if "quality" in (m.subject + m.body).lower()]
    assert len(alarm_mails) >= 1


# --- no PII or secrets in the logs -------------------------------------------------------------------
PLANTED = {
    "email": ["jane.doe@gmail.com", "j.smith+loans@corp-mail.net"],
    "card": ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"],
    "ssn": ["123-45-6789", "078-05-1120"],
    "aws_key": ["AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
}
PATTERNS = {
    "email": re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    # issuer prefixes (Visa, Mastercard, Amex, Discover) + Luhn, standing alone: epoch-millisecond
    # stamps are not cards, nor digit runs inside hex digests (idempotency keys, request ids)
    "card": re.compile(
        r"(?<![\w.])(?:4\d{3}|5[1-5]\d{2}|3[47]\d{2}|6(?:011|5\d{2}))(?:[ -]?\d){9,12}(?![\w.])"
    ),
    "ssn": re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])"),
    "aws_key": re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"),
    "aws_secret": re.compile(r"(?i)aws_secret_access_key\W+[A-Za-z0-9/+=]{40}"),
}
# Addresses that are configuration, not data: the stack's alert address and the example spec's
# owner/on-call addresses may be named by a handler.
CONFIGURED_EMAILS = {"ops@example.com", "credit-risk-ml@example.com", "credit-risk-oncall@example.com"}


def _luhn(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for i, ch in enumerate(digits):
        d = int(ch)
        if i % 2 == parity:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0


def _pii_frame(n: int, *, labeled: bool) -> Any:
    from stewardtools.datasets import credit_default

    frame = credit_default(n, seed=77, labeled=labeled)
    values = [v for kind in ("email", "card", "ssn", "aws_key") for v in PLANTED[kind]]
    frame["notes"] = [values[i % len(values)] for i in range(n)]
    frame["contact"] = [PLANTED["email"][i % 2] for i in range(n)]
    return frame


def test_logs_hold_no_pii_or_secrets_after_batches_full_of_them(cloud: LocalCloud, ledger: Ledger) -> None:
    scoring = _pii_frame(120, labeled=False)
    cloud.upload(f"scoring/{MODEL}/pii-batch.csv", _csv(scoring))
    inference = scoring.assign(prediction="1", probability=0.5)
    cloud.upload(f"inference/{MODEL}/pii-batch.csv", _csv(inference))
    cloud.upload(
        f"labels/{MODEL}/pii-labels.csv", _csv(_pii_frame(60, labeled=True)[["id", "default", "notes"]])
    )
    cloud.upload(f"training/{MODEL}/pii-training.csv", _csv(_pii_frame(400, labeled=True)))
    cloud.wait_idle()
    logs = sorted((cloud.state_dir / "logs").glob("*.log")) + sorted(
        (cloud.state_dir / "logs").glob("*.jsonl")
    )
    assert len(logs) >= 5, logs
    found: list[tuple[str, str, str]] = []
    for path in logs:
        text = path.read_text(encoding="utf-8", errors="replace")
        for kind, values in PLANTED.items():
            found += [(path.name, kind, v) for v in values if v in text]
        for kind, pattern in PATTERNS.items():
            for match in pattern.findall(text):
                if kind == "email" and match.lower() in CONFIGURED_EMAILS:
                    continue
                if kind == "card" and not _luhn(re.sub(r"\D", "", match)):
                    continue
                found.append((path.name, kind, match))
    assert found == [], sorted(set(found))[:20]
    ledger.scan(
        "local-cloud logs after 4 PII-laden uploads (scoring, inference, labels, training)",
        len(logs),
        patterns=len(PATTERNS),
        planted=sum(len(v) for v in PLANTED.values()),
    )

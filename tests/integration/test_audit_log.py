"""The audit log on moto: one linear chain under concurrency, a locked export, tamper detection,
champion history, lineage, and `steward audit`."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError
from governance_fixtures import (
    REGION,
    FakeRegistry,
    Stack,
    create_stack,
    make_context,
    seed_model,
    serialized_dynamodb,
)
from moto import mock_aws
from narrowing import present

from modelsteward import layout
from modelsteward.adapters.dynamodb_audit import DynamoAuditLog
from modelsteward.domain.audit_chain import compute_hash, verify_chain
from modelsteward.services import audit_trail, lineage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with mock_aws():
        s = create_stack()
        for key, value in s.env.items():
            monkeypatch.setenv(key, value)
        yield s


def _log(stack: Stack, **kwargs: Any) -> DynamoAuditLog:
    return DynamoAuditLog(
        stack.audit_table,
        export_bucket=stack.audit_bucket,
        dynamodb_client=boto3.client("dynamodb", region_name=REGION),
        s3_client=boto3.client("s3", region_name=REGION),
        **kwargs,
    )


def _event(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "action": "batch.accepted",
        "actor": "monitor_batch",
        "model": "credit",
        "reason": f"batch {i}",
        "details": {"i": i, "share": i / 7, "whole": 2.0, **extra},
    }


def _ddb() -> DynamoDBClient:
    return boto3.client("dynamodb", region_name=REGION)


def test_appends_form_a_chain_and_each_record_is_exported_under_lock(stack: Stack) -> None:
    log = _log(stack)
    written = [log.append(_event(i)) for i in range(5)]
    assert [r["seq"] for r in written] == [1, 2, 3, 4, 5]
    stored = list(log.records())
    assert stored == written  # floats, ints and Decimals come back byte-identical
    assert verify_chain(stored).ok
    s3 = boto3.client("s3", region_name=REGION)
    key = layout.audit_export_key("audit", 3)
    assert key == "audit/audit/000000000003.json"
    assert json.loads(s3.get_object(Bucket=stack.audit_bucket, Key=key)["Body"].read()) == written[2]
    head = s3.head_object(Bucket=stack.audit_bucket, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"  # the bucket's default retention applies
    assert _ddb().get_item(TableName=stack.audit_table, Key={"pk": {"S": "audit"}, "sk": {"N": "3"}})["Item"][
        "exported"
    ] == {"BOOL": True}


def _write_concurrently(log: DynamoAuditLog, threads: int, each: int) -> list[dict[str, Any]]:
    log.head()  # build the clients before the threads share them
    errors: list[BaseException] = []

    def writer(t: int) -> None:
        try:
            for j in range(each):
                log.append({"action": "window.checked", "actor": f"writer-{t}", "details": {"j": j}})
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    with serialized_dynamodb():
        workers = [threading.Thread(target=writer, args=(t,)) for t in range(threads)]
        for th in workers:
            th.start()
        for th in workers:
            th.join()
    assert errors == []
    records = list(log.records())
    assert [r["seq"] for r in records] == list(range(1, threads * each + 1))  # no gap, no overwrite
    assert verify_chain(records).ok
    for t in range(threads):  # every write landed exactly once
        assert sorted(r["details"]["j"] for r in records if r["actor"] == f"writer-{t}") == list(range(each))
    return records


def test_concurrent_writers_produce_one_linear_chain(stack: Stack) -> None:
    log = _log(stack)
    log.export_bucket = None  # the chain alone: the export is checked under concurrency below
    _write_concurrently(log, threads=8, each=20)
    ctx = make_context(stack, None, NOW)
    ctx.audit = log
    report = audit_trail.verify(ctx)
    assert report.ok and not report.export_checked and report.table.head_seq == 160


def test_concurrent_writers_export_every_record_once(stack: Stack) -> None:
    log = _log(stack)
    records = _write_concurrently(log, threads=4, each=6)
    snapshot = log.export_snapshot()
    assert snapshot is not None
    assert snapshot.records == records
    assert snapshot.overwritten == []


def test_a_locked_export_cannot_be_deleted_and_a_new_version_does_not_replace_it(stack: Stack) -> None:
    log = _log(stack)
    for i in range(3):
        log.append(_event(i))
    s3 = boto3.client("s3", region_name=REGION)
    key = layout.audit_export_key("audit", 2)
    version_id = s3.head_object(Bucket=stack.audit_bucket, Key=key)["VersionId"]
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=stack.audit_bucket, Key=key, VersionId=version_id)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"

    forged = json.loads(s3.get_object(Bucket=stack.audit_bucket, Key=key)["Body"].read())
    forged["reason"] = "forged"
    s3.put_object(Bucket=stack.audit_bucket, Key=key, Body=json.dumps(forged).encode())
    s3.delete_object(Bucket=stack.audit_bucket, Key=layout.audit_export_key("audit", 3))  # a delete marker

    snapshot = log.export_snapshot()
    assert snapshot is not None
    assert [r["reason"] for r in snapshot.records] == ["batch 0", "batch 1", "batch 2"]  # originals
    assert snapshot.overwritten == [2]
    ctx = make_context(stack, None, NOW)
    ctx.audit = log
    report = audit_trail.verify(ctx)
    assert (report.ok, report.first_bad_seq, report.kind) == (False, 2, "export_overwritten")


def test_altering_a_table_item_is_named_and_the_locked_export_disagrees(stack: Stack) -> None:
    log = _log(stack)
    for i in range(6):
        log.append(_event(i))
    _ddb().update_item(
        TableName=stack.audit_table,
        Key={"pk": {"S": "audit"}, "sk": {"N": "4"}},
        UpdateExpression="SET reason = :r",
        ExpressionAttributeValues={":r": {"S": "edited"}},
    )
    ctx = make_context(stack, None, NOW)
    ctx.audit = log
    report = audit_trail.verify(ctx)
    assert (report.ok, report.first_bad_seq, report.kind) == (False, 4, "altered")
    assert report.table.first_bad_seq == 4 and report.table.kind == "altered"
    assert report.comparison is not None and report.comparison.first is not None
    assert (report.comparison.first.seq, report.comparison.first.kind) == (4, "altered_in_table")
    assert report.export is not None and report.export.ok  # the locked copy is intact


def test_rewriting_the_newest_record_with_a_recomputed_hash_is_caught_by_the_export(stack: Stack) -> None:
    log = _log(stack)
    for i in range(4):
        log.append(_event(i))
    head = dict(log.records()[-1])
    head["actor"] = "cli:mallory"
    head["hash"] = compute_hash(head["prev_hash"], head)
    _ddb().update_item(
        TableName=stack.audit_table,
        Key={"pk": {"S": "audit"}, "sk": {"N": "4"}},
        UpdateExpression="SET actor = :a, #h = :h",
        ExpressionAttributeNames={"#h": "hash"},
        ExpressionAttributeValues={":a": {"S": head["actor"]}, ":h": {"S": head["hash"]}},
    )
    ctx = make_context(stack, None, NOW)
    ctx.audit = log
    report = audit_trail.verify(ctx)
    assert report.table.ok  # the chain alone cannot see it
    assert (report.ok, report.first_bad_seq, report.kind) == (False, 4, "altered_in_table")
    assert "actor" in report.message


def test_deleting_a_table_item_is_named_removed(stack: Stack) -> None:
    log = _log(stack)
    for i in range(5):
        log.append(_event(i))
    _ddb().delete_item(TableName=stack.audit_table, Key={"pk": {"S": "audit"}, "sk": {"N": "2"}})
    ctx = make_context(stack, None, NOW)
    ctx.audit = log
    report = audit_trail.verify(ctx)
    assert (report.ok, report.first_bad_seq, report.kind) == (False, 2, "removed")


def test_a_failed_export_is_retried_by_the_next_append(stack: Stack) -> None:
    clock = [NOW]
    log = _log(stack, clock=lambda: clock[0])
    log.append(_event(0))
    log.export_bucket = "no-such-bucket"
    second = log.append(_event(1))  # the table write succeeds; the export fails
    assert second["seq"] == 2
    log.export_bucket = stack.audit_bucket
    ctx = make_context(stack, None, NOW)
    ctx.audit = log
    report = audit_trail.verify(ctx)
    assert (report.ok, report.first_bad_seq, report.kind) == (False, 2, "missing_from_export")
    clock[0] = NOW + dt.timedelta(minutes=5)  # seq 2's writer is long gone
    log.append(_event(2))
    assert [r["seq"] for r in present(log.export_snapshot()).records] == [1, 2, 3]
    assert audit_trail.verify(ctx).ok


def test_a_rewritten_unexported_record_is_not_laundered_into_the_export(stack: Stack) -> None:
    clock = [NOW]
    log = _log(stack, clock=lambda: clock[0])
    log.append(_event(0))
    log.export_bucket = "no-such-bucket"
    log.append(_event(1))
    log.export_bucket = stack.audit_bucket
    _ddb().update_item(
        TableName=stack.audit_table,
        Key={"pk": {"S": "audit"}, "sk": {"N": "2"}},
        UpdateExpression="SET reason = :r",
        ExpressionAttributeValues={":r": {"S": "edited"}},
    )
    clock[0] = NOW + dt.timedelta(minutes=5)
    log.append(_event(2))
    assert [r["seq"] for r in present(log.export_snapshot()).records] == [1, 3]


def test_explicit_retention_locks_each_export(stack: Stack) -> None:
    log = _log(stack, retention_mode="COMPLIANCE", retention_days=30, clock=lambda: NOW)
    log.append(_event(0))
    head = boto3.client("s3", region_name=REGION).head_object(
        Bucket=stack.audit_bucket, Key=layout.audit_export_key("audit", 1)
    )
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] >= NOW + dt.timedelta(days=29)


def test_champion_history_answers_who_when_and_on_what_evidence(stack: Stack) -> None:
    registry = FakeRegistry()
    ctx = make_context(stack, registry, NOW)
    t0 = NOW - dt.timedelta(days=30)
    ev = {"uri": "s3://gov-artifacts/models/credit/v0002/evaluation.json", "version_id": "e2"}
    for action, day, extra in (
        ("model.promoted", 0, {"model_version": 1, "actor": "train_model", "reason": "gate: first model"}),
        (
            "gate.decision",
            9,
            {"model_version": 2, "outputs": [ev], "details": {"outcome": "pending_approval"}},
        ),
        ("model.approved", 10, {"model_version": 2, "actor": "cli:alice", "reason": "better recall"}),
        ("model.promoted", 10, {"model_version": 2, "actor": "cli:alice"}),
        (
            "model.rollback",
            20,
            {
                "model_version": 1,
                "actor": "cli:bob",
                "reason": "complaints",
                "details": {"from_version": 2, "to_version": 1},
            },
        ),
    ):
        ctx.record(action, model="credit", at=t0 + dt.timedelta(days=day), **extra)
    ctx.record("model.promoted", model="other", model_version=5, at=t0)

    periods = audit_trail.history(ctx, "credit")
    assert [(p.version, p.became_champion_by) for p in periods] == [
        (1, "model.promoted"),
        (2, "model.promoted"),
        (1, "model.rollback"),
    ]
    assert periods[0].end == periods[1].start and periods[1].end == periods[2].start
    assert periods[2].end is None
    v2 = periods[1]
    assert (v2.approved_by, v2.promoted_by) == ("cli:alice", "cli:alice")
    assert v2.evidence.evaluation_uri == ev["uri"] and v2.evidence.evaluation_version_id == "e2"
    assert v2.evidence.gate_details == {"outcome": "pending_approval"}

    assert audit_trail.champion_at(ctx, "credit", t0 - dt.timedelta(days=1)) is None
    assert present(audit_trail.champion_at(ctx, "credit", t0 + dt.timedelta(days=15))).version == 2
    assert (
        present(audit_trail.champion_at(ctx, "credit", (t0 + dt.timedelta(days=25)).isoformat())).version == 1
    )
    assert present(audit_trail.champion_at(ctx, "credit", NOW)).promoted_by == "cli:bob"


def test_lineage_back_to_inputs_and_forward_from_a_batch(stack: Stack) -> None:
    registry = FakeRegistry()
    ctx = make_context(stack, registry, NOW)
    seeded = seed_model(ctx, registry, "credit", NOW, with_alarm=False)

    back = lineage.lineage_of_version(ctx, "credit", 1)
    inputs = {(e.uri, e.version_id) for e in back.inputs}
    assert (seeded.train_ref.uri, seeded.train_ref.version_id) in inputs
    assert any(e.role == "training_data" and e.source == "registry" for e in back.inputs)
    assert any(e.uri.endswith("model.skops") for e in back.outputs)
    assert seeded.seqs["training.finished"] in back.records

    report = lineage.lineage_of_report(ctx, seeded.report_ref.uri)
    assert [(e.uri, e.version_id) for e in report.inputs if e.source == "report"] == [
        (seeded.batch_ref.uri, seeded.batch_ref.version_id)
    ]
    assert report.baseline is not None and report.baseline.uri.endswith("baseline/baseline.json")
    assert (report.model, report.model_version) == ("credit", 1)
    assert report.records == [seeded.seqs["batch.accepted"]]

    # labels from the batch feed a pool object; a retrain reads the pool: the batch reaches v2
    pool = {"uri": "s3://gov-data/pool/credit/batch-1.parquet", "version_id": "p1"}
    ctx.record("labels.evaluated", model="credit", inputs=[seeded.batch_ref.as_dict()], outputs=[pool])
    ctx.record(
        "training.finished",
        model="credit",
        model_version=2,
        inputs=[pool],
        outputs=[{"uri": "s3://gov-artifacts/models/credit/v0002/model.skops", "version_id": "m2"}],
    )
    uses = lineage.forward_from_batch(ctx, seeded.batch_ref.uri)
    assert [(u.action, u.depth) for u in uses] == [
        ("batch.accepted", 1),
        ("labels.evaluated", 1),
        ("training.finished", 2),
    ]
    assert uses[-1].model_version == 2
    assert lineage.forward_from_batch(ctx, seeded.batch_ref.uri, version_id="not-this-version") == []


def test_steward_audit_cli(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from stewardtools.cli import audit as audit_cli
    from stewardtools.cli.main import main

    registry = FakeRegistry()
    ctx = make_context(stack, registry, NOW)
    seeded = seed_model(ctx, registry, "credit", NOW, with_alarm=False)
    monkeypatch.setattr(audit_cli, "_context", lambda args: ctx)

    assert main(["audit", "verify"]) == 0
    assert "audit trail OK" in capsys.readouterr().out
    assert main(["audit", "history", "credit"]) == 0
    out = capsys.readouterr().out
    assert "v1" in out and "cli:alice" in out and "evaluation.json" in out
    assert main(["audit", "history", "credit", "--at", (NOW - dt.timedelta(days=400)).isoformat()]) == 0
    assert "no champion" in capsys.readouterr().out
    assert main(["audit", "lineage", "--batch", seeded.batch_ref.uri, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["action"] == "batch.accepted"
    assert main(["audit", "lineage", "--model", "credit", "--version", "1"]) == 0
    assert seeded.train_ref.uri in capsys.readouterr().out
    assert main(["audit", "lineage", "--model", "credit"]) == 2
    capsys.readouterr()

    seq = seeded.seqs["gate.decision"]
    _ddb().update_item(
        TableName=stack.audit_table,
        Key={"pk": {"S": "audit"}, "sk": {"N": str(seq)}},
        UpdateExpression="SET actor = :a",
        ExpressionAttributeValues={":a": {"S": "cli:mallory"}},
    )
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"first bad record seq {seq} (altered)" in out


def test_the_export_verifies_with_the_documented_stdlib_recipe(stack: Stack) -> None:
    """docs/governance.md promises an outside auditor can re-verify the export in ten lines."""
    import hashlib

    log = _log(stack)
    for i in range(4):
        log.append(_event(i, nan=float("nan"), text="ünïcode"))
    s3 = boto3.client("s3", region_name=REGION)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=stack.audit_bucket)["Contents"])
    prev = "0" * 64
    for key in keys:
        rec = json.loads(s3.get_object(Bucket=stack.audit_bucket, Key=key)["Body"].read())
        body = {k: v for k, v in rec.items() if k != "hash"}
        data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert rec["prev_hash"] == prev and rec["hash"] == hashlib.sha256(prev.encode() + data).hexdigest()
        prev = rec["hash"]
    assert len(keys) == 4

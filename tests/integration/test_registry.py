"""The DynamoDB registry on moto: atomic versions, conditional promotion, stale decisions refused."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from narrowing import present
from registry_fixtures import (
    StewardContext,
    actions,
    atomic_requests,
    records,
    steward,
)

from modelsteward.adapters.dynamodb_registry import DynamoRegistry
from modelsteward.errors import ConflictError, InvalidInput, NotFound

if TYPE_CHECKING:
    from conftest import Cloud

__all__ = ["atomic_requests", "steward"]  # the fixtures, re-exported for pytest

M = "credit-default"


def registry() -> DynamoRegistry:
    from modelsteward.config import settings

    return DynamoRegistry(settings().registry_table)


def register(reg: DynamoRegistry, version: int, **row: Any) -> None:
    reg.put_version(M, version, {"metrics": {"roc_auc": 0.8 + version / 100}, **row})


def champions(reg: DynamoRegistry) -> list[int]:
    return [r["version"] for r in reg.list_versions(M) if r.get("alias") == "champion"]


def test_versions_are_allocated_atomically_across_threads(aws: Cloud, atomic_requests: None) -> None:
    reg = registry()
    got: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        v = registry().next_version(M)
        with lock:
            got.append(v)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1, 9))
    assert reg.next_version(M) == 9
    assert reg.next_version("other-model") == 1


def test_rows_round_trip_floats_and_are_never_overwritten(aws: Cloud) -> None:
    reg = registry()
    row = {
        "metrics": {"roc_auc": 0.8123456789, "n": 250, "tiny": 1e-300, "nan": float("nan")},
        "lineage": [{"uri": "s3://b/k", "version_id": "v1", "sha256": "ab"}],
        "classes": ["0", "1"],
    }
    reg.put_version(M, 1, row)
    stored = reg.get_version(M, 1)
    assert stored["metrics"] == {"roc_auc": 0.8123456789, "n": 250, "tiny": 0, "nan": None}
    assert stored["status"] == "PendingManualApproval" and stored["decision_seq"] == 0
    assert stored["alias"] is None and stored["version"] == 1 and stored["model"] == M
    raw = aws.dynamodb.get_item(
        TableName="steward-registry", Key={"pk": {"S": f"MODEL#{M}"}, "sk": {"S": "V#0001"}}
    )
    assert raw["Item"]["metrics"]["M"]["roc_auc"] == {"N": "0.8123456789"}
    with pytest.raises(ConflictError, match="never overwritten"):
        reg.put_version(M, 1, row)
    with pytest.raises(NotFound):
        reg.get_version(M, 2)


def test_to_dynamo_converts_nested_values() -> None:
    import numpy as np

    from modelsteward.adapters.dynamodb_registry import from_dynamo, to_dynamo

    value = {"a": [1.5, np.float64(2.0), np.int64(3), (True, None)], "b": {"c": float("inf")}}
    assert to_dynamo(value) == {"a": [Decimal("1.5"), Decimal("2.0"), 3, [True, None]], "b": {"c": None}}
    assert from_dynamo(to_dynamo(value)) == {"a": [1.5, 2, 3, [True, None]], "b": {"c": None}}


def test_first_promotion_sets_champion_state_and_alias(aws: Cloud) -> None:
    reg = registry()
    register(reg, 1)
    reg.promote(M, 1, actor="test", reason="first", expected_champion=None)
    state = reg.get_model_state(M)
    assert state["champion"] == 1 and state["champion_history"] == [1] and state["state_version"] == 1
    row = reg.get_version(M, 1)
    assert row["status"] == "Approved" and row["alias"] == "champion" and row["decision_seq"] == 1
    assert present(reg.champion(M))["version"] == 1
    assert reg.list_models() == [M]


def test_racing_promotions_leave_exactly_one_champion(aws: Cloud, atomic_requests: None) -> None:
    reg = registry()
    for v in (1, 2, 3):
        register(reg, v)
    reg.promote(M, 1, actor="test", reason="first", expected_champion=None)
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def promote(version: int) -> None:
        own = registry()  # its own client, like two Lambda invocations
        barrier.wait()
        try:
            own.promote(M, version, actor=f"t{version}", reason="race", expected_champion=1)
            outcomes[version] = "won"
        except ConflictError as exc:
            outcomes[version] = exc.message

    threads = [threading.Thread(target=promote, args=(v,)) for v in (2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [v for v, o in outcomes.items() if o == "won"]
    assert len(winners) == 1, outcomes
    loser = ({2, 3} - set(winners)).pop()
    assert "another promotion won" in outcomes[loser]
    assert reg.get_model_state(M)["champion"] == winners[0]
    assert champions(reg) == winners
    assert reg.get_version(M, loser)["status"] == "PendingManualApproval"
    assert reg.get_version(M, 1)["status"] == "Approved" and reg.get_version(M, 1)["alias"] is None


def test_a_stale_promotion_is_refused(aws: Cloud) -> None:
    reg = registry()
    for v in (1, 2, 3):
        register(reg, v)
    reg.promote(M, 1, actor="t", reason="first", expected_champion=None)
    reg.promote(M, 2, actor="t", reason="second", expected_champion=1)
    with pytest.raises(ConflictError, match="champion is v2 now"):
        reg.promote(M, 3, actor="t", reason="stale read", expected_champion=1)
    assert champions(reg) == [2]


def test_rejected_or_archived_versions_cannot_be_promoted(aws: Cloud) -> None:
    reg = registry()
    register(reg, 1, status="Rejected")
    with pytest.raises(ConflictError, match="v1 is Rejected"):
        reg.promote(M, 1, actor="t", reason="x", expected_champion=None)
    assert reg.get_model_state(M)["champion"] is None


def test_update_version_bumps_decision_seq_on_status_changes_only(aws: Cloud) -> None:
    reg = registry()
    register(reg, 1)
    assert reg.update_version(M, 1, {"note": "x"})["decision_seq"] == 0
    assert reg.update_version(M, 1, {"status": "Rejected"}, expected={"decision_seq": 0})["decision_seq"] == 1
    with pytest.raises(ConflictError, match="expected"):
        reg.update_version(M, 1, {"status": "Approved"}, expected={"decision_seq": 0})
    with pytest.raises(NotFound):
        reg.update_version(M, 9, {"note": "x"})


def test_state_updates_use_optimistic_locking(aws: Cloud) -> None:
    reg = registry()
    state = reg.get_model_state(M)
    assert state["state_version"] == 0 and not state["exists"]
    reg.update_model_state(M, {"last_retrain_at": "2026-01-01T00:00:00+00:00"}, expected={"state_version": 0})
    with pytest.raises(ConflictError, match="changed since it was read"):
        reg.update_model_state(M, {"last_retrain_at": "later"}, expected={"state_version": 0})
    assert reg.get_model_state(M)["state_version"] == 1


# --- registry_ops: decisions with audit records ----------------------------------------------
def test_approve_promotes_and_records_who_and_why(steward: StewardContext) -> None:
    from stewardtools.operations import registry_ops

    reg = steward.registry
    register(reg, 1)
    reg.promote(M, 1, actor="t", reason="first", expected_champion=None)
    register(reg, 2)
    result = registry_ops.approve(
        steward, M, 2, "cli:alice", "beats v1 on fresh data", expected_decision_seq=0
    )
    assert result == {"model": M, "version": 2, "status": "Approved", "champion": 2, "previous_champion": 1}
    row = reg.get_version(M, 2)
    assert (
        row["alias"] == "champion" and row["approved_by"] == "cli:alice" and row["decided_by"] == "cli:alice"
    )
    assert champions(reg) == [2]
    approved = records(steward, "model.approved")[-1]
    assert approved["actor"] == "cli:alice" and approved["model_version"] == 2
    assert approved["reason"] == "beats v1 on fresh data"
    assert "model.promoted" in actions(steward, M)
    assert steward.notifier is not None
    assert steward.notifier.subjects()[-1] == f"[model-steward] {M} v2: promoted"


def test_a_stale_approval_never_overwrites_a_newer_decision(steward: StewardContext) -> None:
    from stewardtools.operations import registry_ops

    reg = steward.registry
    register(reg, 1)
    seen = reg.get_version(M, 1)["decision_seq"]
    registry_ops.reject(steward, M, 1, "cli:bob", "label leak found")
    with pytest.raises(ConflictError):
        registry_ops.approve(steward, M, 1, "cli:alice", "looks good", expected_decision_seq=seen)
    row = reg.get_version(M, 1)
    assert row["status"] == "Rejected" and row["decided_by"] == "cli:bob"
    assert reg.get_model_state(M)["champion"] is None
    assert "model.approved" not in actions(steward)


def test_approval_with_an_outdated_decision_seq_is_refused_by_the_transaction(
    steward: StewardContext,
) -> None:
    reg = steward.registry
    register(reg, 1)
    reg.update_version(M, 1, {"status": "PendingManualApproval", "pending_reason": "re-gated"})  # seq -> 1
    with pytest.raises(ConflictError, match="decided again since it was read"):
        reg.promote(M, 1, actor="t", reason="x", expected_champion=None, expected_decision_seq=0)
    assert reg.get_model_state(M)["champion"] is None


def test_decisions_need_a_reason(steward: StewardContext) -> None:
    from stewardtools.operations import registry_ops

    register(steward.registry, 1)
    with pytest.raises(InvalidInput, match="needs a reason"):
        registry_ops.approve(steward, M, 1, "cli:alice", "  ")


def test_the_champion_cannot_be_rejected(steward: StewardContext) -> None:
    from stewardtools.operations import registry_ops

    reg = steward.registry
    register(reg, 1)
    reg.promote(M, 1, actor="t", reason="first", expected_champion=None)
    with pytest.raises(ConflictError, match="roll back first"):
        registry_ops.reject(steward, M, 1, "cli:bob", "no")


def test_rollback_restores_the_previous_champion_and_archives_the_current(steward: StewardContext) -> None:
    from stewardtools.operations import registry_ops

    reg = steward.registry
    for v in (1, 2):
        register(reg, v)
    reg.promote(M, 1, actor="t", reason="first", expected_champion=None)
    reg.promote(M, 2, actor="t", reason="better", expected_champion=1)
    result = registry_ops.rollback(steward, M, actor="cli:carol", reason="v2 misbehaves in production")
    assert result["champion"] == 1 and result["archived"] == 2
    assert reg.get_model_state(M)["champion"] == 1
    assert champions(reg) == [1]
    assert reg.get_version(M, 2)["status"] == "Archived"
    rec = records(steward, "model.rollback")[-1]
    assert rec["details"] == {"from_version": 2, "to_version": 1} and rec["actor"] == "cli:carol"
    with pytest.raises(ConflictError, match="Archived"):  # an archived version is not a rollback target
        registry_ops.rollback(steward, M, to_version=2)


def test_rollback_is_conditional_on_the_champion_it_read(steward: StewardContext) -> None:
    reg = steward.registry
    for v in (1, 2, 3):
        register(reg, v)
    reg.promote(M, 1, actor="t", reason="first", expected_champion=None)
    reg.promote(M, 2, actor="t", reason="second", expected_champion=1)
    reg.promote(M, 3, actor="t", reason="third", expected_champion=2)
    # a rollback decided while v2 was champion arrives after v3 was promoted
    with pytest.raises(ConflictError):
        reg.promote(M, 1, actor="t", reason="rollback", expected_champion=2, retire_current=True)
    assert champions(reg) == [3]
    assert reg.get_version(M, 2)["status"] == "Approved"


def test_rollback_without_an_earlier_champion_is_bad_input(steward: StewardContext) -> None:
    from stewardtools.operations import registry_ops

    register(steward.registry, 1)
    steward.registry.promote(M, 1, actor="t", reason="first", expected_champion=None)
    with pytest.raises(InvalidInput, match="no earlier approved champion"):
        registry_ops.rollback(steward, M)


def test_set_challenger_routes_traffic_and_promotion_clears_it(steward: StewardContext) -> None:
    from stewardtools.operations import registry_ops

    reg = steward.registry
    for v in (1, 2):
        register(reg, v)
    reg.promote(M, 1, actor="t", reason="first", expected_champion=None)
    registry_ops.set_challenger(steward, M, 2, 0.2, actor="cli:dan", reason="A/B for a week")
    state = reg.get_model_state(M)
    assert state["challenger"] == 2 and state["traffic_share"] == pytest.approx(0.2)
    assert reg.get_version(M, 2)["alias"] == "challenger"
    with pytest.raises(InvalidInput):
        registry_ops.set_challenger(steward, M, 2, 1.5)
    reg.promote(M, 2, actor="t", reason="won the A/B", expected_champion=1)
    state = reg.get_model_state(M)
    assert state["champion"] == 2 and state["challenger"] is None and state["traffic_share"] == 0
    assert reg.get_version(M, 2)["alias"] == "champion"


def test_list_and_show(steward: StewardContext) -> None:
    from stewardtools.operations import registry_ops

    reg = steward.registry
    for v in (1, 2):
        register(reg, v)
    reg.promote(M, 1, actor="t", reason="first", expected_champion=None)
    reg.next_version(M)
    listed = registry_ops.list_models(steward)
    assert listed[0]["model"] == M and listed[0]["champion"] == 1 and listed[0]["versions"] == 2
    assert listed[0]["by_status"] == {"Approved": 1, "PendingManualApproval": 1}
    shown = registry_ops.show(steward, M)
    assert [r["version"] for r in shown["versions"]] == [1, 2]
    assert registry_ops.show(steward, M, 2)["status"] == "PendingManualApproval"
    with pytest.raises(InvalidInput, match="no version 7"):
        registry_ops.show(steward, M, 7)
    with pytest.raises(InvalidInput, match="not registered"):
        registry_ops.show(steward, "nope")


# --- the CLI ----------------------------------------------------------------------------------
def _stack(aws: Cloud) -> str:
    import json

    import boto3

    outputs = {
        "DataBucketName": "steward-data",
        "ArtifactsBucketName": "steward-artifacts",
        "RegistryTableName": "steward-registry",
        "AuditTableName": "steward-audit",
    }
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {k: {"Value": v} for k, v in outputs.items()},
    }
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName="steward-test", TemplateBody=json.dumps(template)
    )
    return "steward-test"


def test_cli_onboard_list_show_approve_with_exit_codes(
    aws: Cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    from pathlib import Path

    from stewardtools.cli.main import main

    monkeypatch.setattr("stewardtools.operations.context.cli_actor", lambda: "cli:tester")
    stack = _stack(aws)
    spec = Path(__file__).resolve().parents[2] / "examples" / "specs" / "credit-default.yaml"
    assert main(["models", "onboard", str(spec), "--stack", stack]) == 0
    stored = aws.s3.get_object(Bucket="steward-data", Key=f"specs/{M}/spec.yaml")["Body"].read()
    assert stored == spec.read_bytes()  # uploaded as written, comments included

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad Name\ntask: binary\n")
    assert main(["models", "onboard", str(bad), "--stack", stack]) == 2
    assert "invalid model spec" in capsys.readouterr().err

    reg = registry()
    register(reg, 1)
    reg.next_version(M)
    assert main(["models", "list", "--stack", stack, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["model"] == M and listed[0]["versions"] == 1
    assert main(["models", "show", M, "--stack", stack]) == 0
    assert "PendingManualApproval" in capsys.readouterr().out

    assert (
        main(["models", "approve", M, "1", "--reason", "reviewed", "--stack", stack, "--expected-seq", "5"])
        == 1
    )
    assert "refused" in capsys.readouterr().err
    assert (
        main(["models", "approve", M, "1", "--reason", "reviewed", "--stack", stack, "--expected-seq", "0"])
        == 0
    )
    assert reg.get_version(M, 1)["approved_by"] == "cli:tester"
    from modelsteward.adapters.dynamodb_audit import DynamoAuditLog

    approvals = [r for r in DynamoAuditLog("steward-audit").records() if r["action"] == "model.approved"]
    assert approvals[-1]["actor"] == "cli:tester"
    assert main(["models", "show", M, "--version", "9", "--stack", stack]) == 2
    assert main(["models", "list", "--stack", "no-such-stack"]) == 3

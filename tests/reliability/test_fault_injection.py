"""Faults at every call site of monitor_batch and train_model: absorbed, or failed cleanly and
completed exactly once by the re-delivery Lambda's async retry makes.

For each (call site, fault): ``times = MAX_ATTEMPTS - 1`` must be absorbed by botocore's standard
retries (the run succeeds first time); ``times = MAX_ATTEMPTS`` exhausts them for one API call.
Then the run either still succeeds (a best-effort step) or raises StorageError leaving no partial
state a reader could trust (no audit record naming an object that does not exist, no registry row
without its artifact, no champion without an approved row), and re-delivering the same event
completes the work once: one ``batch.accepted`` / ``drift.verdict`` per batch, one promotion.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Ledger, Stack
from reliability_faults import FAULTS, MAX_ATTEMPTS, body_has, inject
from reliability_workloads import (
    MONITORED,
    TRAINED,
    inference_frame,
    onboard_monitored,
    onboard_trained,
    parquet,
    put,
    training_csv,
)

from modelsteward.errors import StorageError

pytestmark = pytest.mark.usefixtures("no_backoff")


def _ctx(actor: str) -> Any:
    from modelsteward.services.context import Context

    return Context.from_environment(actor)


def _records(ctx: Any, action: str, **details: Any) -> list[dict[str, Any]]:
    return [
        r for r in ctx.audit.records()
        if r["action"] == action and all((r.get("details") or {}).get(k) == v for k, v in details.items())
    ]  # fmt: skip


def _exists(ctx: Any, ref: dict[str, Any]) -> bool:
    """The exact object version an audit record or registry row names is there, with its digest."""
    from modelsteward.errors import NotFound

    bucket, key = ref["uri"].removeprefix("s3://").split("/", 1)
    try:
        obj = ctx.store.get(bucket, key, ref.get("version_id"))
    except NotFound:
        return False
    return not ref.get("sha256") or obj.ref.sha256 == ref["sha256"]


def _chain_ok(ctx: Any) -> None:
    from modelsteward.domain.audit_chain import verify_chain

    result = verify_chain(ctx.audit.records())
    assert result.ok, result.message


def _run(call: Any) -> tuple[Any, Exception | None]:
    try:
        return call(), None
    except StorageError as exc:
        return None, exc


# --- monitor_batch -------------------------------------------------------------------------------------
# (service, operation, resource matched in the request, matching attempts let through first, label)
MONITOR_SITES = [
    ("s3", "GetObject", "rel-data", 0, "S3 GetObject spec/upload (data bucket)"),
    ("s3", "GetObject", "rel-artifacts", 0, "S3 GetObject baseline (artifacts bucket)"),
    ("s3", "PutObject", "rel-artifacts", 0, "S3 PutObject first report object"),
    ("s3", "PutObject", "rel-artifacts", 3, "S3 PutObject last report object / batch index"),
    ("s3", "PutObject", "rel-audit", 0, "S3 PutObject audit export (Object Lock copy)"),
    ("dynamodb", "Query", "rel-audit", 0, "DynamoDB Query audit head"),
    ("dynamodb", "PutItem", "rel-audit", 0, "DynamoDB PutItem audit batch.accepted"),
    ("dynamodb", "PutItem", "rel-audit", 1, "DynamoDB PutItem audit drift.verdict"),
    ("dynamodb", "UpdateItem", "rel-audit", 0, "DynamoDB UpdateItem audit exported mark"),
]


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize(("service", "operation", "resource", "skip", "site"), MONITOR_SITES,
                         ids=[s[-1] for s in MONITOR_SITES])  # fmt: skip
def test_monitor_batch_under_faults(
    stack: Stack, ledger: Ledger, service: str, operation: str, resource: str, skip: int, site: str, fault: str
) -> None:
    from modelsteward.services.monitor_batch import monitor_batch

    ctx = _ctx("monitor_batch")
    onboard_monitored(ctx, stack.data_bucket)
    body = parquet(inference_frame(300, seed=7, income_shift=3.0))

    # absorbed: MAX_ATTEMPTS - 1 failed attempts, then the call goes through
    upload = put(stack.data_bucket, f"inference/{MONITORED}/absorbed.parquet", body)
    with inject(service, operation, fault, MAX_ATTEMPTS - 1, skip=skip, match=body_has(resource)) as hit:
        result = monitor_batch(ctx, upload)
    assert hit.injected == MAX_ATTEMPTS - 1, f"{site} was never called ({hit.seen} matching attempts)"
    assert result["status"] == "accepted"
    assert len(_records(ctx, "batch.accepted", batch_id=result["batch_id"])) == 1
    ledger.fault(service, site, fault, MAX_ATTEMPTS - 1, "absorbed by retries", function="monitor_batch")

    # exhausted: one API call fails for good
    upload = put(stack.data_bucket, f"inference/{MONITORED}/exhausted.parquet", body)
    with inject(service, operation, fault, MAX_ATTEMPTS, skip=skip, match=body_has(resource)) as hit:
        first, error = _run(lambda: monitor_batch(ctx, upload))
    assert hit.injected == MAX_ATTEMPTS
    for rec in ctx.audit.records():  # no audit record names an object that is not there
        for ref in [*(rec.get("outputs") or [])]:
            assert _exists(ctx, ref), (rec["action"], ref)
    retried = monitor_batch(ctx, upload)  # Lambda's async retry: the same event again
    batch_id = retried["batch_id"]
    assert retried["status"] == "accepted"
    if first is not None:
        assert first == retried, "a completed run is answered from the idempotency record"
    accepted = _records(ctx, "batch.accepted", batch_id=batch_id)
    verdicts = _records(ctx, "drift.verdict", batch_id=batch_id)
    assert len(accepted) == 1, f"{len(accepted)} batch.accepted records for one batch"
    assert len(verdicts) == 1, f"{len(verdicts)} drift.verdict records for one batch"
    assert all(_exists(ctx, ref) for ref in accepted[0]["outputs"])
    _chain_ok(ctx)
    outcome = "run failed (StorageError); re-delivery completed once" if error else "best effort: run succeeded"
    ledger.fault(service, site, fault, MAX_ATTEMPTS, outcome, function="monitor_batch")


# --- train_model ---------------------------------------------------------------------------------------
TRAIN_SITES = [
    ("s3", "GetObject", "rel-data", 0, "S3 GetObject spec/training data"),
    ("s3", "PutObject", "rel-artifacts", 0, "S3 PutObject model artifact"),
    ("s3", "PutObject", "rel-artifacts", 2, "S3 PutObject evaluation.json"),
    ("dynamodb", "PutItem", "rel-registry", 0, "DynamoDB PutItem registry version row"),
    ("dynamodb", "TransactWriteItems", "rel-registry", 0, "DynamoDB TransactWriteItems promotion"),
    ("dynamodb", "UpdateItem", "rel-registry", 0, "DynamoDB UpdateItem registry state"),
    ("dynamodb", "PutItem", "rel-audit", 0, "DynamoDB PutItem audit training.started"),
    ("dynamodb", "PutItem", "rel-audit", 3, "DynamoDB PutItem audit model.promoted"),
    ("sns", "Publish", "rel-notifications", 0, "SNS Publish evidence email"),
]


def _registry_invariants(ctx: Any) -> None:
    """No registry row without its artifact; a champion is an Approved row whose artifact exists."""
    registry = ctx.registry
    for row in registry.list_versions(TRAINED):
        assert _exists(ctx, row["artifact"]), f"v{row['version']} has no artifact"
    state = registry.get_model_state(TRAINED)
    if state.get("champion") is not None:
        row = registry.get_version(TRAINED, int(state["champion"]))
        assert row["status"] == "Approved", f"half promotion: champion v{state['champion']} is {row['status']}"


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize(("service", "operation", "resource", "skip", "site"), TRAIN_SITES,
                         ids=[s[-1] for s in TRAIN_SITES])  # fmt: skip
def test_train_model_under_faults(
    stack: Stack, ledger: Ledger, service: str, operation: str, resource: str, skip: int, site: str, fault: str
) -> None:
    from modelsteward.services.train_model import train_model

    ctx = _ctx("train_model")
    onboard_trained(stack.data_bucket)
    upload = put(stack.data_bucket, f"training/{TRAINED}/snapshot.csv", training_csv())
    times = MAX_ATTEMPTS if fault != "throttle" else MAX_ATTEMPTS - 1  # throttles: the absorbed case
    with inject(service, operation, fault, times, skip=skip, match=body_has(resource)) as hit:
        first, error = _run(lambda: train_model(ctx, upload))
    assert hit.injected == times, f"{site} was never called ({hit.seen} matching attempts)"
    _registry_invariants(ctx)
    if times < MAX_ATTEMPTS:
        assert error is None and first["status"] == "trained"
    result = train_model(ctx, upload)  # re-delivery of the same event
    _registry_invariants(ctx)
    assert result["status"] == "trained"
    state = ctx.registry.get_model_state(TRAINED)
    promoted = _records(ctx, "model.promoted")
    assert state.get("champion") is not None
    assert len(promoted) == 1, f"{len(promoted)} promotions for one training upload"
    assert promoted[0]["model_version"] == state["champion"]
    assert len(_records(ctx, "gate.decision")) == len(ctx.registry.list_versions(TRAINED)) - sum(
        1 for r in ctx.registry.list_versions(TRAINED) if "failed after registration" in str(r.get("decision_reason"))
    )
    emails = [s for s, _ in stack.emails() if TRAINED in s]
    assert len(emails) <= len(ctx.registry.list_versions(TRAINED))
    _chain_ok(ctx)
    if error is None:
        outcome = "absorbed by retries" if times < MAX_ATTEMPTS else "best effort: run succeeded"
    else:
        versions = len(ctx.registry.list_versions(TRAINED))
        outcome = f"run failed (StorageError); re-delivery completed, {versions} version row(s), 1 promotion"
    ledger.fault(service, site, fault, times, outcome, function="train_model")

"""Faults at every call site of train_model: absorbed, or failed cleanly and
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
from reliability_checks import chain_ok, ctx_for, exists, records, run_once_or_fail
from reliability_faults import FAULTS, MAX_ATTEMPTS, body_has, inject
from reliability_stack import Ledger, Stack
from reliability_workloads import TRAINED, onboard_trained, put, training_csv

pytestmark = pytest.mark.usefixtures("no_backoff")


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
        assert exists(ctx, row["artifact"]), f"v{row['version']} has no artifact"
    state = registry.get_model_state(TRAINED)
    if state.get("champion") is not None:
        row = registry.get_version(TRAINED, int(state["champion"]))
        assert row["status"] == "Approved", (
            f"half promotion: champion v{state['champion']} is {row['status']}"
        )


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize(
    ("service", "operation", "resource", "skip", "site"), TRAIN_SITES, ids=[s[-1] for s in TRAIN_SITES]
)
def test_train_model_under_faults(
    stack: Stack,
    ledger: Ledger,
    service: str,
    operation: str,
    resource: str,
    skip: int,
    site: str,
    fault: str,
) -> None:
    from modelsteward.services.train_model import train_model

    ctx = ctx_for("train_model")
    onboard_trained(stack.data_bucket)
    upload = put(stack.data_bucket, f"training/{TRAINED}/snapshot.csv", training_csv())
    times = MAX_ATTEMPTS if fault != "throttle" else MAX_ATTEMPTS - 1  # throttle: the absorbed case
    with inject(service, operation, fault, times, skip=skip, match=body_has(resource)) as hit:
        first, error = run_once_or_fail(lambda: train_model(ctx, upload))
    assert hit.injected == times, f"{site} was never called ({hit.seen} matching attempts)"
    _registry_invariants(ctx)
    if times < MAX_ATTEMPTS:
        assert error is None and first["status"] == "trained"
    result = train_model(ctx, upload)  # re-delivery of the same event
    _registry_invariants(ctx)
    assert result["status"] == "trained"
    state = ctx.registry.get_model_state(TRAINED)
    promoted = records(ctx, "model.promoted")
    if len(promoted) != 1:
        ledger.fault(
            service,
            site,
            fault,
            times,
            f"FINDING: champion v{state.get('champion')}, {len(promoted)} model.promoted records",
            function="train_model",
        )
    assert state.get("champion") is not None
    assert len(promoted) == 1, f"{len(promoted)} promotions for one training upload"
    assert promoted[0]["model_version"] == state["champion"]
    assert len(records(ctx, "gate.decision")) == len(ctx.registry.list_versions(TRAINED)) - sum(
        1
        for r in ctx.registry.list_versions(TRAINED)
        if "failed after registration" in str(r.get("decision_reason"))
    )
    emails = [s for s, _ in stack.emails() if TRAINED in s]
    assert len(emails) <= len(ctx.registry.list_versions(TRAINED))
    chain_ok(ctx)
    if error is None:
        outcome = "absorbed by retries" if times < MAX_ATTEMPTS else "best effort: run succeeded"
    else:
        versions = len(ctx.registry.list_versions(TRAINED))
        outcome = f"run failed (StorageError); re-delivery completed, {versions} version row(s), 1 promotion"
    ledger.fault(service, site, fault, times, outcome, function="train_model")

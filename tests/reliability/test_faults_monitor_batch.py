"""Faults at every call site of monitor_batch: absorbed, or failed cleanly and
completed exactly once by the re-delivery Lambda's async retry makes.

For each (call site, fault): ``times = MAX_ATTEMPTS - 1`` must be absorbed by botocore's standard
retries (the run succeeds first time); ``times = MAX_ATTEMPTS`` exhausts them for one API call.
Then the run either still succeeds (a best-effort step) or raises StorageError leaving no partial
state a reader could trust (no audit record naming an object that does not exist, no registry row
without its artifact, no champion without an approved row), and re-delivering the same event
completes the work once: one ``batch.accepted`` / ``drift.verdict`` per batch, one promotion.
"""

from __future__ import annotations

import pytest
from reliability_checks import chain_ok, ctx_for, exists, records, run_once_or_fail
from reliability_faults import FAULTS, MAX_ATTEMPTS, body_has, inject
from reliability_stack import Ledger, Stack
from reliability_workloads import MONITORED, inference_frame, onboard_monitored, parquet, put

pytestmark = pytest.mark.usefixtures("no_backoff")


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
@pytest.mark.parametrize(
    ("service", "operation", "resource", "skip", "site"), MONITOR_SITES, ids=[s[-1] for s in MONITOR_SITES]
)
def test_monitor_batch_under_faults(
    stack: Stack,
    ledger: Ledger,
    service: str,
    operation: str,
    resource: str,
    skip: int,
    site: str,
    fault: str,
) -> None:
    from modelsteward.services.monitor_batch import monitor_batch

    ctx = ctx_for("monitor_batch")
    onboard_monitored(ctx, stack.data_bucket)
    body = parquet(inference_frame(300, seed=7, income_shift=3.0))

    if fault == "throttle":  # absorbed: MAX_ATTEMPTS - 1 failed attempts, then the call goes through
        upload = put(stack.data_bucket, f"inference/{MONITORED}/absorbed.parquet", body)
        with inject(service, operation, fault, MAX_ATTEMPTS - 1, skip=skip, match=body_has(resource)) as hit:
            result = monitor_batch(ctx, upload)
        assert hit.injected == MAX_ATTEMPTS - 1, f"{site} was never called ({hit.seen} matching attempts)"
        assert result["status"] == "accepted"
        assert len(records(ctx, "batch.accepted", batch_id=result["batch_id"])) == 1
        ledger.fault(service, site, fault, MAX_ATTEMPTS - 1, "absorbed by retries", function="monitor_batch")

    # exhausted: one API call fails for good
    upload = put(stack.data_bucket, f"inference/{MONITORED}/exhausted.parquet", body)
    with inject(service, operation, fault, MAX_ATTEMPTS, skip=skip, match=body_has(resource)) as hit:
        first, error = run_once_or_fail(lambda: monitor_batch(ctx, upload))
    assert hit.injected == MAX_ATTEMPTS
    for rec in ctx.audit.records():  # no audit record names an object that is not there
        for ref in [*(rec.get("outputs") or [])]:
            assert exists(ctx, ref), (rec["action"], ref)
    retried = monitor_batch(ctx, upload)  # Lambda's async retry: the same event again
    batch_id = retried["batch_id"]
    assert retried["status"] == "accepted"
    if first is not None:
        assert first == retried, "a completed run is answered from the idempotency record"
    accepted = records(ctx, "batch.accepted", batch_id=batch_id)
    verdicts = records(ctx, "drift.verdict", batch_id=batch_id)
    if len(accepted) != 1 or len(verdicts) != 1:
        ledger.fault(
            service,
            site,
            fault,
            MAX_ATTEMPTS,
            f"FINDING: after retry {len(accepted)} batch.accepted, {len(verdicts)} drift.verdict",
            function="monitor_batch",
        )
    assert len(accepted) == 1, f"{len(accepted)} batch.accepted records for one batch"
    assert len(verdicts) == 1, f"{len(verdicts)} drift.verdict records for one batch"
    assert all(exists(ctx, ref) for ref in accepted[0]["outputs"])
    chain_ok(ctx)
    outcome = (
        "run failed (StorageError); re-delivery completed once" if error else "best effort: run succeeded"
    )
    ledger.fault(service, site, fault, MAX_ATTEMPTS, outcome, function="monitor_batch")


@pytest.mark.parametrize(("skip", "action"), [(0, "batch.accepted"), (1, "drift.verdict")])
def test_an_audit_append_whose_answer_was_lost_is_stored_once(
    stack: Stack, ledger: Ledger, skip: int, action: str
) -> None:
    """DynamoDB applied the PutItem but the answer was a 5xx: botocore retries, the retry fails its
    condition against our own item, and the append must recognise its record instead of adding a copy."""
    from modelsteward.services.monitor_batch import monitor_batch

    ctx = ctx_for("monitor_batch")
    onboard_monitored(ctx, stack.data_bucket)
    upload = put(
        stack.data_bucket, f"inference/{MONITORED}/lost.parquet", parquet(inference_frame(300, seed=8))
    )
    with inject("dynamodb", "PutItem", "lost_response", 1, skip=skip, match=body_has("rel-audit")) as hit:
        result = monitor_batch(ctx, upload)
    assert hit.injected == 1 and result["status"] == "accepted"
    assert len(records(ctx, "batch.accepted", batch_id=result["batch_id"])) == 1
    assert len(records(ctx, "drift.verdict", batch_id=result["batch_id"])) == 1
    chain_ok(ctx)
    ledger.fault(
        "dynamodb",
        f"DynamoDB PutItem audit {action}",
        "lost_response",
        1,
        "applied, answer lost: stored once (append recognises its own item)",
        function="monitor_batch",
    )

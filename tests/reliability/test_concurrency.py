"""Races on moto with the real adapters: parallel batches of one model, and the same event delivered
to concurrent invocations (both pass the idempotency check before either finished).

moto's in-process DynamoDB is not thread-safe; ``serialized_dynamodb`` makes each request atomic, as
DynamoDB does, so the races between our read-decide-write steps stay real.
Parallel audit appends (8 threads x 20) live in tests/integration/test_audit_log.py and racing
promotions in tests/integration/test_registry.py::test_racing_promotions_leave_exactly_one_champion;
they are not repeated here.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from reliability_stack import Ledger, Stack, run_threads, serialized_dynamodb
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

PARALLEL_BATCHES = 6


def _ctx(actor: str) -> Any:
    from modelsteward.services.context import Context

    return Context.from_environment(actor)


def _actions(ctx: Any, action: str) -> list[dict[str, Any]]:
    return [r for r in ctx.audit.records() if r["action"] == action]


def _chain_ok(ctx: Any) -> None:
    from modelsteward.domain.audit_chain import verify_chain

    records = ctx.audit.records()
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1)), "a gap or an overwrite"
    result = verify_chain(records)
    assert result.ok, result.message


def test_parallel_batches_of_one_model_are_each_monitored_once(stack: Stack, ledger: Ledger) -> None:
    from modelsteward.services.batch_index import BatchIndex
    from modelsteward.services.monitor_batch import monitor_batch

    ctx = _ctx("monitor_batch")
    onboard_monitored(ctx, stack.data_bucket)
    uploads = [
        put(
            stack.data_bucket,
            f"inference/{MONITORED}/part-{i}.parquet",
            parquet(inference_frame(200, seed=10 + i)),
        )
        for i in range(PARALLEL_BATCHES)
    ]
    with serialized_dynamodb():
        outcomes = run_threads([partial(monitor_batch, ctx, u) for u in uploads])
    assert [e for _, e in outcomes if e is not None] == []
    batch_ids = {r["batch_id"] for r, _ in outcomes}
    assert len(batch_ids) == PARALLEL_BATCHES and all(r["status"] == "accepted" for r, _ in outcomes)
    accepted = _actions(ctx, "batch.accepted")
    assert sorted(r["details"]["batch_id"] for r in accepted) == sorted(batch_ids), "lost or duplicated"
    assert len(_actions(ctx, "drift.verdict")) == PARALLEL_BATCHES
    _chain_ok(ctx)
    indexed = {e.batch_id for e in BatchIndex(ctx, stack.artifacts_bucket, MONITORED).sync(write=False)}
    assert indexed == batch_ids, "every batch is in the window index"
    ledger.race(
        "monitor_batch: parallel batches of one model",
        PARALLEL_BATCHES,
        PARALLEL_BATCHES,
        audit_records=len(ctx.audit.records()),
    )


def _concurrent_duplicates(run: Any, copies: int) -> tuple[list[Any], list[BaseException]]:
    with serialized_dynamodb():
        outcomes = run_threads([run] * copies)
    results = [r for r, e in outcomes if e is None]
    errors = [e for _, e in outcomes if e is not None]
    return results, errors


@pytest.mark.parametrize("copies", [2, 4])
def test_concurrent_duplicates_of_one_batch_run_it_once(stack: Stack, ledger: Ledger, copies: int) -> None:
    from modelsteward.services.monitor_batch import monitor_batch

    ctx = _ctx("monitor_batch")
    onboard_monitored(ctx, stack.data_bucket)
    upload = put(
        stack.data_bucket, f"inference/{MONITORED}/dup.parquet", parquet(inference_frame(200, seed=3))
    )
    results, errors = _concurrent_duplicates(lambda: monitor_batch(ctx, upload), copies)
    # a duplicate that arrives while the first is running is refused as in progress (Lambda retries it)
    assert results and all(isinstance(e, IdempotencyAlreadyInProgressError) for e in errors), errors
    retried = monitor_batch(ctx, upload)
    assert all(r == retried for r in results)
    assert len(_actions(ctx, "batch.accepted")) == 1 and len(_actions(ctx, "drift.verdict")) == 1
    _chain_ok(ctx)
    ledger.duplicate(
        "monitor_batch",
        copies + 1,
        f"{copies} concurrent threads + 1 retry",
        in_progress_refusals=len(errors),
    )
    ledger.race(f"monitor_batch: {copies} concurrent deliveries of one upload", copies, 1)


def test_concurrent_duplicates_of_one_training_upload_promote_once(stack: Stack, ledger: Ledger) -> None:
    from modelsteward.services.train_model import train_model

    ctx = _ctx("train_model")
    onboard_trained(stack.data_bucket)
    upload = put(stack.data_bucket, f"training/{TRAINED}/snapshot.csv", training_csv())
    results, errors = _concurrent_duplicates(lambda: train_model(ctx, upload), 2)
    assert results and all(isinstance(e, IdempotencyAlreadyInProgressError) for e in errors), errors
    retried = train_model(ctx, upload)
    assert all(r == retried for r in results)
    assert len(ctx.registry.list_versions(TRAINED)) == 1
    assert len(_actions(ctx, "model.promoted")) == 1 and len(_actions(ctx, "training.started")) == 1
    emails = [s for s, _ in stack.emails() if TRAINED in s]
    assert len(emails) == 1, emails
    _chain_ok(ctx)
    ledger.duplicate("train_model", 3, "2 concurrent threads + 1 retry", in_progress_refusals=len(errors))
    ledger.race("train_model: 2 concurrent deliveries of one training upload", 2, 1)

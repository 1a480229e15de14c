"""finish_large_batch (scale-out state machine, last step): merge chunks and publish, or record a failure.

Event ``{"action": "finish", "run": {...}}``: merge the chunk profiles, then the same drift,
quality, report, metrics and audit steps as monitor_batch (or quarantine, as it would).
Event ``{"action": "fail", "run": {...}, "error": {"Error", "Cause"}}`` (the state machine's Catch):
write a quarantine reason and an audit record; no verdict from partial data.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from modelsteward.observability import TRACED_MODULES, start_invocation

logger = Logger(service="finish_large_batch")
tracer = Tracer(service="finish_large_batch", patch_modules=TRACED_MODULES)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(logger, tracer, event, context)  # correlation id, library logs
    from modelsteward.idempotency import bind_lambda_context

    bind_lambda_context(context)
    from modelsteward.services.context import Context
    from modelsteward.services.scale_out import fail_large_batch, finish_large_batch

    ctx = Context.from_environment("finish_large_batch")
    try:
        if event.get("action") == "fail":
            result = fail_large_batch(ctx, event["run"], event.get("error"))
        else:
            result = finish_large_batch(ctx, event["run"])
    finally:
        ctx.metrics.flush()
    logger.info(
        "large batch done",
        extra={k: result.get(k) for k in ("status", "model", "batch_id", "verdict", "rows", "code")},
    )
    return result

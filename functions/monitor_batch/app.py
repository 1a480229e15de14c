"""monitor_batch: ``inference/<model>/<file>`` -> quarantine, or profile + drift/quality report + metrics.

Thin: parse the S3 event, call services.monitor_batch per upload, flush metrics, return a summary.
Bad input is quarantined inside the service (never retried); transient errors (StorageError)
propagate so Lambda retries the delivery.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from modelsteward.observability import TRACED_MODULES, start_invocation

logger = Logger(service="monitor_batch")
tracer = Tracer(service="monitor_batch", patch_modules=TRACED_MODULES)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(logger, tracer, event, context)  # correlation id, library logs
    from modelsteward.idempotency import bind_lambda_context

    bind_lambda_context(context)
    from modelsteward.errors import InvalidInput
    from modelsteward.events import s3_uploads
    from modelsteward.services.context import Context
    from modelsteward.services.monitor_batch import monitor_batch

    try:
        uploads = s3_uploads(event)
    except InvalidInput as exc:  # not an S3 notification: logged, never retried
        logger.error("monitor_batch ignored an event", extra={"code": exc.code, "reason": exc.message})
        return {"ok": False, "error": exc.code, "message": exc.message}
    ctx = Context.from_environment("monitor_batch")
    results = []
    try:
        for upload in uploads:
            result = monitor_batch(ctx, upload)
            logger.info(
                "batch done",
                extra={k: result.get(k) for k in ("status", "model", "batch_id", "verdict", "rows", "code")},
            )
            results.append(result)
    finally:
        ctx.metrics.flush()
    ok = ("accepted", "scaled_out", "superseded")  # superseded: a newer upload of the key replaces it
    return {"ok": all(r.get("status") in ok for r in results), "batches": results}

"""create_baseline: ``reference/<model>/<file>`` -> the model's reference baseline (bring your own model).

Thin: parse the S3 event, call services.create_baseline per upload, flush metrics, return a summary.
Bad input is quarantined inside the service (never retried); transient errors propagate so Lambda
retries the delivery.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from modelsteward.observability import TRACED_MODULES, start_invocation

logger = Logger(service="create_baseline")
tracer = Tracer(service="create_baseline", patch_modules=TRACED_MODULES)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(logger, tracer, event, context)  # correlation id, library logs
    from modelsteward.idempotency import bind_lambda_context

    bind_lambda_context(context)
    from modelsteward.errors import InvalidInput
    from modelsteward.events import s3_uploads
    from modelsteward.services.context import Context
    from modelsteward.services.create_baseline import create_baseline

    try:
        uploads = s3_uploads(event)
    except InvalidInput as exc:  # not an S3 notification: logged, never retried
        logger.error("create_baseline ignored an event", extra={"code": exc.code, "reason": exc.message})
        return {"ok": False, "error": exc.code, "message": exc.message}
    ctx = Context.from_environment("create_baseline")
    results = []
    try:
        for upload in uploads:
            result = create_baseline(ctx, upload)
            logger.info(
                "reference done", extra={k: result.get(k) for k in ("status", "model", "rows", "code")}
            )
            results.append(result)
    finally:
        ctx.metrics.flush()
    return {"ok": all(r.get("status") == "created" for r in results), "baselines": results}

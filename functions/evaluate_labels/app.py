"""evaluate_labels: ``labels/<model>/<file>`` -> realized quality per version/variant, training pool rows.

Thin: parse the S3 event, call services.evaluate_labels for each upload, return a small summary.
Bad input (unknown model, unreadable file) is counted and quarantined by the service, never retried.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from modelsteward.observability import TRACED_MODULES, start_invocation

logger = Logger(service="evaluate_labels")
tracer = Tracer(service="evaluate_labels", patch_modules=TRACED_MODULES)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(logger, tracer, event, context)  # correlation id, library logs
    from modelsteward.idempotency import bind_lambda_context

    bind_lambda_context(context)
    from modelsteward.errors import InvalidInput
    from modelsteward.events import s3_uploads
    from modelsteward.services.context import Context
    from modelsteward.services.evaluate_labels import evaluate_upload

    try:
        uploads = s3_uploads(event)
    except InvalidInput as exc:  # not an S3 notification: logged, never retried
        logger.error("evaluate_labels ignored an event", extra={"code": exc.code, "reason": exc.message})
        return {"ok": False, "error": exc.code, "message": exc.message}
    ctx = Context.from_environment("evaluate_labels")
    results = []
    for upload in uploads:
        result = evaluate_upload(ctx, upload)
        logger.info(
            "label batch done",
            extra={
                "status": result.get("status"),
                "model": result.get("model"),
                "batch_id": result.get("batch_id"),
                **(result.get("counts") or {}),
            },
        )
        results.append(result)
    return {"ok": all(r.get("status") in ("evaluated", "no_matches") for r in results), "batches": results}

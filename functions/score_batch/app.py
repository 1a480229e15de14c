"""score_batch: ``scoring/<model>/<file>`` -> scored rows in ``inference/<model>/``, plus scoring metrics.

Thin: parse the S3 event, call services.score_batch for each upload, return a small summary.
Bad input is quarantined by the service (never retried); transient errors propagate so Lambda
retries them. The service module keeps the cold-start flag and the verified-model cache.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from modelsteward.observability import TRACED_MODULES, start_invocation

logger = Logger(service="score_batch")
tracer = Tracer(service="score_batch", patch_modules=TRACED_MODULES)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(logger, tracer, event, context)  # correlation id, library logs
    from modelsteward.packed_deps import unpack_packed_deps

    unpack_packed_deps()  # scipy + scikit-learn ship zipped in MlDepsLayer (layers/deps/build_layer.py)
    from modelsteward.idempotency import bind_lambda_context

    bind_lambda_context(context)
    from modelsteward.errors import InvalidInput
    from modelsteward.events import s3_uploads
    from modelsteward.services.context import Context
    from modelsteward.services.score_batch import score_upload

    try:
        uploads = s3_uploads(event)
    except InvalidInput as exc:  # not an S3 notification: logged, never retried
        logger.error("score_batch ignored an event", extra={"code": exc.code, "reason": exc.message})
        return {"ok": False, "error": exc.code, "message": exc.message}
    ctx = Context.from_environment("score_batch")
    results = []
    for upload in uploads:
        result = score_upload(ctx, upload)
        logger.info(
            "scoring batch done",
            extra={k: result.get(k) for k in ("status", "model", "batch_id", "rows", "code")},
        )
        results.append(result)
    return {"ok": all(r.get("status") == "scored" for r in results), "batches": results}

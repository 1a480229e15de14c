"""train_model: train, gate and register a model version.

Events: an S3 notification for ``training/<model>/<file>``; an asynchronous invoke
``{"action": "retrain", "model", "reason", "trigger", "episode"?}`` (handle_alarm, CLI); a schedule
tick ``{"action": "retrain_scheduled"}``. Thin: parse, call services.train_model, return a summary.
Bad input ends as a ``training.rejected`` audit record in the service (never retried); transient
errors propagate so Lambda retries them.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from modelsteward.observability import TRACED_MODULES, start_invocation

logger = Logger(service="train_model")
tracer = Tracer(service="train_model", patch_modules=TRACED_MODULES)


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
    from modelsteward.services.train_model import train_model

    try:
        requests: list[Any] = [event] if "action" in event else list(s3_uploads(event))
    except InvalidInput as exc:  # neither a retrain request nor an S3 notification: logged, never retried
        logger.error("train_model ignored an event", extra={"code": exc.code, "reason": exc.message})
        return {"ok": False, "error": exc.code, "message": exc.message}
    ctx = Context.from_environment("train_model")
    results = []
    for request in requests:
        try:
            result = train_model(ctx, request)
        except InvalidInput as exc:  # a malformed request: recorded, never retried
            ctx.record("training.rejected", reason=exc.message, details={"code": exc.code})
            result = {"status": "rejected", "code": exc.code, "reason": exc.message}
        logger.info(
            "train_model done",
            extra={k: result.get(k) for k in ("status", "model", "version", "outcome", "code")},
        )
        results.append(result)
    return {"ok": all(r.get("status") in ("trained", "scheduled") for r in results), "results": results}

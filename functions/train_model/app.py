"""train_model: train, gate and register a model version.

Events: an S3 notification for ``training/<model>/<file>``; an asynchronous invoke
``{"action": "retrain", "model", "reason", "trigger", "episode"?}`` (handle_alarm, CLI); a schedule
tick ``{"action": "retrain_scheduled"}``. Thin: parse, call services.train_model, return a summary.
Bad input ends as a ``training.rejected`` audit record in the service (never retried); transient
errors propagate so Lambda retries them.
"""

from __future__ import annotations

from typing import Any

from modelsteward.lambda_function import StewardFunction
from modelsteward.packed_deps import unpack_packed_deps

function = StewardFunction("train_model", prepare=unpack_packed_deps)  # MlDepsLayer's zipped packages
logger, tracer = function.logger, function.tracer


@function.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from modelsteward.errors import InvalidInput
    from modelsteward.events import s3_uploads
    from modelsteward.services.train_model import train_model

    # unreadable -> InvalidInput: logged and dropped, never retried (StewardFunction)
    requests: list[Any] = [event] if "action" in event else list(s3_uploads(event))
    ctx = function.context()
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

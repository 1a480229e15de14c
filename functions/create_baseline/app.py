"""create_baseline: ``reference/<model>/<file>`` -> the model's reference baseline (bring your own model).

Thin: parse the S3 event, call services.create_baseline per upload, flush metrics, return a summary.
Bad input is quarantined inside the service (never retried); transient errors propagate so Lambda
retries the delivery.
"""

from __future__ import annotations

from typing import Any

from modelsteward.lambda_function import StewardFunction

function = StewardFunction("create_baseline")
logger, tracer = function.logger, function.tracer


@function.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from modelsteward.events import s3_uploads
    from modelsteward.services.create_baseline import create_baseline

    # unreadable -> InvalidInput: logged and dropped, never retried (StewardFunction)
    uploads = s3_uploads(event)
    ctx = function.context()
    results = []
    for upload in uploads:
        result = create_baseline(ctx, upload)
        logger.info("reference done", extra={k: result.get(k) for k in ("status", "model", "rows", "code")})
        results.append(result)
    return {"ok": all(r.get("status") == "created" for r in results), "baselines": results}

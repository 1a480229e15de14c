"""evaluate_labels: ``labels/<model>/<file>`` -> realized quality per version/variant, training pool rows.

Thin: parse the S3 event, call services.evaluate_labels for each upload, return a small summary.
Bad input (unknown model, unreadable file) is counted and quarantined by the service, never retried.
"""

from __future__ import annotations

from typing import Any

from modelsteward.lambda_function import StewardFunction

function = StewardFunction("evaluate_labels")
logger, tracer = function.logger, function.tracer


@function.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from modelsteward.events import s3_uploads
    from modelsteward.services.evaluate_labels import evaluate_upload

    # unreadable -> InvalidInput: logged and dropped, never retried (StewardFunction)
    uploads = s3_uploads(event)
    ctx = function.context()
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

"""monitor_batch: ``inference/<model>/<file>`` -> quarantine, or profile + drift/quality report + metrics.

Thin: parse the S3 event, call services.monitor_batch per upload, flush metrics, return a summary.
Bad input is quarantined inside the service (never retried); transient errors (StorageError)
propagate so Lambda retries the delivery.
"""

from __future__ import annotations

from typing import Any

from modelsteward.lambda_function import StewardFunction

function = StewardFunction("monitor_batch")
logger, tracer = function.logger, function.tracer


@function.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from modelsteward.events import s3_uploads
    from modelsteward.services.monitor_batch import monitor_batch

    # unreadable -> InvalidInput: logged and dropped, never retried (StewardFunction)
    uploads = s3_uploads(event)
    ctx = function.context()
    results = []
    for upload in uploads:
        result = monitor_batch(ctx, upload)
        logger.info(
            "batch done",
            extra={k: result.get(k) for k in ("status", "model", "batch_id", "verdict", "rows", "code")},
        )
        results.append(result)
    ok = ("accepted", "scaled_out", "superseded")  # superseded: a newer upload of the key replaces it
    return {"ok": all(r.get("status") in ok for r in results), "batches": results}

"""score_batch: ``scoring/<model>/<file>`` -> scored rows in ``inference/<model>/``, plus scoring metrics.

Thin: parse the S3 event, call services.score_batch for each upload, return a small summary.
Bad input is quarantined by the service (never retried); transient errors propagate so Lambda
retries them. The service module keeps the cold-start flag and the verified-model cache.
"""

from __future__ import annotations

from typing import Any

from modelsteward.lambda_function import StewardFunction
from modelsteward.packed_deps import unpack_packed_deps

function = StewardFunction("score_batch", prepare=unpack_packed_deps)  # MlDepsLayer's zipped packages
logger, tracer = function.logger, function.tracer


@function.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from modelsteward.events import s3_uploads
    from modelsteward.services.score_batch import score_upload

    # unreadable -> InvalidInput: logged and dropped, never retried (StewardFunction)
    uploads = s3_uploads(event)
    ctx = function.context()
    results = []
    for upload in uploads:
        result = score_upload(ctx, upload)
        logger.info(
            "scoring batch done",
            extra={k: result.get(k) for k in ("status", "model", "batch_id", "rows", "code")},
        )
        results.append(result)
    return {"ok": all(r.get("status") == "scored" for r in results), "batches": results}

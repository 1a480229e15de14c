"""finish_large_batch (scale-out state machine, last step): merge chunks and publish, or record a failure.

Event ``{"action": "finish", "run": {...}}``: merge the chunk profiles, then the same drift,
quality, report, metrics and audit steps as monitor_batch (or quarantine, as it would).
Event ``{"action": "fail", "run": {...}, "error": {"Error", "Cause"}}`` (the state machine's Catch):
write a quarantine reason and an audit record; no verdict from partial data.
"""

from __future__ import annotations

from typing import Any

from modelsteward.lambda_function import StewardFunction

function = StewardFunction("finish_large_batch")
logger, tracer = function.logger, function.tracer


@function.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from modelsteward.services.scale_out import fail_large_batch, finish_large_batch

    ctx = function.context()
    if event.get("action") == "fail":
        result = fail_large_batch(ctx, event["run"], event.get("error"))
    else:
        result = finish_large_batch(ctx, event["run"])
    logger.info(
        "large batch done",
        extra={k: result.get(k) for k in ("status", "model", "batch_id", "verdict", "rows", "code")},
    )
    return result

"""plan_chunks (scale-out state machine, first step): split a large upload into chunks.

Event: ``{"run": {bucket, key, version_id, size, model, batch_id, filename, execution_name}}`` from
monitor_batch. Writes plan.json and items.json (the Distributed Map's ItemReader input) and returns
where they are. Errors propagate: the state machine retries transient ones, then fails the run.
"""

from __future__ import annotations

from typing import Any

from modelsteward.lambda_function import StewardFunction

function = StewardFunction("plan_chunks")
logger, tracer = function.logger, function.tracer


@function.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from modelsteward.services.scale_out import plan_large_batch

    result = plan_large_batch(function.context(), event["run"])
    logger.info("planned", extra={"chunks": result["chunks"], "refused": bool(result.get("refused"))})
    return result

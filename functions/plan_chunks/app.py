"""plan_chunks (scale-out state machine, first step): split a large upload into chunks.

Event: ``{"run": {bucket, key, version_id, size, model, batch_id, filename, execution_name}}`` from
monitor_batch. Writes plan.json and items.json (the Distributed Map's ItemReader input) and returns
where they are. Errors propagate: the state machine retries transient ones, then fails the run.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from modelsteward.observability import TRACED_MODULES, start_invocation

logger = Logger(service="plan_chunks")
tracer = Tracer(service="plan_chunks", patch_modules=TRACED_MODULES)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(logger, tracer, event, context)  # correlation id, library logs
    from modelsteward.services.context import Context
    from modelsteward.services.scale_out import plan_large_batch

    result = plan_large_batch(Context.from_environment("plan_chunks"), event["run"])
    logger.info("planned", extra={"chunks": result["chunks"], "refused": bool(result.get("refused"))})
    return result

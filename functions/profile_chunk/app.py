"""profile_chunk (scale-out state machine, one Distributed Map item): profile one chunk.

Event: ``{"run": {...}, "chunk": {index, start, end, header_end, row_groups, format, gzipped, size}}``.
Reads the chunk's byte range (or row groups), then read_table + conform + PII screening + profile +
a seeded sample; writes the chunk result next to the plan. Bad input is written as the chunk's
refusal (retrying cannot fix it); anything else propagates, so the Map retries and then fails.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from modelsteward.observability import TRACED_MODULES, start_invocation

logger = Logger(service="profile_chunk")
tracer = Tracer(service="profile_chunk", patch_modules=TRACED_MODULES)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(logger, tracer, event, context)  # correlation id, library logs
    from modelsteward.services.context import Context
    from modelsteward.services.scale_out import profile_large_batch_chunk

    result = profile_large_batch_chunk(
        Context.from_environment("profile_chunk"), event["run"], event["chunk"]
    )
    logger.info("chunk profiled", extra=result)
    return result

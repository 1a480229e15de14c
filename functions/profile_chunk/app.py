"""profile_chunk (scale-out state machine, one Distributed Map item): profile one chunk.

Event: ``{"run": {...}, "chunk": {index, start, end, header_end, row_groups, format, gzipped, size}}``.
Reads the chunk's byte range (or row groups), then read_table + conform + PII screening + profile +
a seeded sample; writes the chunk result next to the plan. Bad input is written as the chunk's
refusal (retrying cannot fix it); anything else propagates, so the Map retries and then fails.
"""

from __future__ import annotations

from typing import Any

from modelsteward.lambda_function import StewardFunction

function = StewardFunction("profile_chunk")
logger, tracer = function.logger, function.tracer


@function.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from modelsteward.services.scale_out import profile_large_batch_chunk

    result = profile_large_batch_chunk(function.context(), event["run"], event["chunk"])
    logger.info("chunk profiled", extra=result)
    return result

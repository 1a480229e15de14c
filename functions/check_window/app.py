"""check_window: the hourly window check (schedule ``{"action": "check_window"}``), or one window
of one model (``{"action": "check_window", "model": m, "window": "day", "start": ISO}``).

Thin: parse the request, call services.check_window, flush metrics, return a summary. A malformed
request is logged and dropped (never retried); transient errors propagate so Lambda retries.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from modelsteward.observability import TRACED_MODULES, start_invocation

logger = Logger(service="check_window")
tracer = Tracer(service="check_window", patch_modules=TRACED_MODULES)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(logger, tracer, event, context)  # correlation id, library logs
    from modelsteward.idempotency import bind_lambda_context

    bind_lambda_context(context)
    from modelsteward.errors import InvalidInput
    from modelsteward.services.check_window import check_window, parse_request
    from modelsteward.services.context import Context

    try:
        request = parse_request(event if isinstance(event, dict) else {})
    except InvalidInput as exc:  # not a window request: logged, never retried
        logger.error("check_window ignored an event", extra={"code": exc.code, "reason": exc.message})
        return {"ok": False, "error": exc.code, "message": exc.message}
    ctx = Context.from_environment("check_window")
    try:
        summary = check_window(ctx, request)
    finally:
        ctx.metrics.flush()
    logger.info("windows checked", extra={
        "windows": len(summary["windows"]), "skipped": sorted(summary["skipped"]),
        "drifted": [f"{w['model']}:{w['start']}" for w in summary["windows"] if w.get("verdict") == "drift"],
    })  # fmt: skip
    return {"ok": True, **summary}

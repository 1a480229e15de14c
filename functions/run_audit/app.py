"""run_audit: the scheduled governance audit (payload {"action": "run_audit"}).

Light function: imports neither pandas nor scikit-learn (tests/integration/test_run_audit.py checks).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from modelsteward.observability import TRACED_MODULES, start_invocation

logger = Logger(service="run_audit")
tracer = Tracer(service="run_audit", patch_modules=TRACED_MODULES)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(logger, tracer, event, context)  # correlation id, library logs
    from modelsteward.idempotency import bind_lambda_context

    bind_lambda_context(context)
    from modelsteward.errors import InvalidInput
    from modelsteward.services.run_audit import handle_schedule

    try:
        summary = handle_schedule(event)
    except InvalidInput as exc:  # a malformed trigger is logged, never retried
        logger.error("run_audit ignored an event", extra={"code": exc.code, "reason": exc.message})
        return {"ok": False, "error": exc.code, "message": exc.message}
    logger.info("governance audit finished", extra={k: v for k, v in summary.items() if k != "by_check"})
    return summary
